"""A race: two to four variants of one run that differ in a single field.

    variants = race.variants(config, "optimizer", ["sgd", "adam"])
    rows = race.run(variants, target=1.0)

Every variant keeps the run's data and seed (unless the varied field is one of
those), and trains exactly as `netstep train` does: evaluate, then whole epochs until
the run's epoch count or until the guard refuses a step. So each row's loss and
accuracy equal `netstep train` with that value.

The target. A variant reaches it at the first evaluation (the start, then the end of
every epoch: every step in full batch) where its training accuracy is at least
`target` (default 1.0: every training example right), or, with `target_loss`, where
its training loss is at most that. `steps_to_target` is the step count there, or None
if it never got there.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass

import numpy as np

from .config import RunConfig, build
from .errors import ConfigError

MIN_VARIANTS, MAX_VARIANTS = 2, 4


@dataclass
class Variant:
    field: str
    value: object       # the value as the config holds it (validated, normalised)
    config: RunConfig


def split_values(text: str) -> list[str]:
    """'0.1,0.5' -> ['0.1', '0.5']; values that hold commas themselves (sizes 2,4,1) use ';'."""
    sep = ";" if ";" in text else ","
    return [v.strip() for v in text.split(sep)]


def parse_vary(spec: str) -> tuple[str, list[str]]:
    """'lr=0.1,0.5' -> ('lr', ['0.1', '0.5']). Raises ConfigError naming what is wrong."""
    name, eq, values = spec.partition("=")
    name = name.strip()
    if not eq or not name or not values.strip():
        raise ConfigError("vary", f"takes FIELD=V1,V2[,V3,V4], such as lr=0.1,0.5; got {spec!r}")
    return name.replace("-", "_"), split_values(values)  # flag spellings too: batch-size is batch_size


def _parse(field, text):
    """A value from the command line, as the flags take it (none/full/off mean None where allowed)."""
    if text.lower() in ("none", "null", "full", "off") and field in ("clip", "batch_size"):
        return None
    return text


def _option_value(text):
    """A dataset option's value: a number where it parses as one (as --set reads it), else the text."""
    try:
        return json.loads(text)
    except ValueError:
        return text


def variants(config: RunConfig, field: str, values) -> list[Variant]:
    """The run once per value of `field` (a RunConfig field, or dataset_options.NAME for one
    option of the dataset). Raises ConfigError for an unknown field or a bad value."""
    allowed = [f for f in RunConfig.fields() if f != "dataset_options"] + ["dataset_options.NAME"]
    option = field.removeprefix("dataset_options.") if field.startswith("dataset_options.") else None
    if field not in allowed and not option:
        raise ConfigError("vary", f"unknown field {field!r}; allowed: {', '.join(allowed)}")
    values = list(values)
    if not MIN_VARIANTS <= len(values) <= MAX_VARIANTS:
        raise ConfigError("vary", f"takes {MIN_VARIANTS} to {MAX_VARIANTS} values, got {len(values)}: {values}")
    out = []
    for raw in values:
        if option:
            value = _option_value(raw) if isinstance(raw, str) else raw
            changes = {"dataset_options": {**config.dataset_options, option: value}}
        else:
            value = _parse(field, raw) if isinstance(raw, str) else raw
            changes = {field: value}
        if field == "dataset" and value != config.dataset:
            changes["dataset_options"] = {}  # options belong to the run's dataset, as with --dataset
        try:
            variant = config.replace(**changes)
        except ConfigError as e:
            raise ConfigError("vary", f"{field}={raw}: {e}") from None
        held = variant.dataset_options[option] if option else getattr(variant, field)
        out.append(Variant(field, held, variant))
    seen = [repr(v.value) for v in out]
    if len(set(seen)) != len(seen):
        raise ConfigError("vary", f"the values of {field} must differ; got {', '.join(seen)}")
    return out


def _reached(metrics, target, target_loss) -> bool:
    if target_loss is not None:
        return math.isfinite(metrics["loss"]) and metrics["loss"] <= target_loss
    acc = metrics.get("accuracy", metrics.get("r2"))  # a regression run's target is its r2
    return acc is not None and acc >= target


def train(variant: Variant, target=1.0, target_loss=None, trainer=None) -> dict:
    """Train one variant as `netstep train` does; its row of the race table."""
    trainer = trainer or build(variant.config)
    with np.errstate(over="ignore", invalid="ignore"):  # the guard reports a diverging run
        metrics = trainer.evaluate()
        hit = 0 if _reached(metrics, target, target_loss) else None
        for _ in range(trainer.config.epochs):
            metrics = trainer.epoch()
            if trainer.halted is not None:
                break
            if hit is None and _reached(metrics, target, target_loss):
                hit = trainer.step_count
    row = {"field": variant.field, "value": variant.value, "loss": metrics["loss"], "accuracy": metrics.get("accuracy"),
           "steps_to_target": hit, "steps": trainer.step_count, "epochs": trainer.epoch_count}
    for key in ("r2", "test_accuracy", "test_r2"):  # r2 (accuracy null) for a regression run
        if key in metrics:
            row[key] = metrics[key]
    if trainer.halted is not None:
        row["stopped"] = trainer.halted.to_dict()
    return row


def run(variants_, target=1.0, target_loss=None) -> list[dict]:
    """Every variant's row, in the order given."""
    return [train(v, target, target_loss) for v in variants_]
