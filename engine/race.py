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


# ----- the race stepped by hand: the app's compare screen -----------------------------------

# What each field is compared over by default (the compare screen's starting values).
DEFAULT_VALUES = {
    "optimizer": lambda c: ["sgd", "momentum", "adam", "rmsprop"],
    "lr": lambda c: [_g(c.lr / 4), _g(c.lr), _g(c.lr * 4)],
    "init": lambda c: ["small", "xavier", "he"],
    "hidden": lambda c: ["relu", "tanh", "sigmoid", "leaky_relu"],
    "batch_size": lambda c: ["full", "32", "8"],
    "l2": lambda c: ["0", "0.001", "0.01", "0.1"],
    "seed": lambda c: [str(c.seed), str(c.seed + 1), str(c.seed + 2)],
}
FIELDS = tuple(DEFAULT_VALUES)


def _g(x: float) -> str:
    return f"{x:.3g}"


def default_values(config: RunConfig, field: str) -> list[str]:
    """The values the compare screen starts from for `field` (the four optimizers, lr/4, lr, 4 lr ...)."""
    return DEFAULT_VALUES[field](config)


def _quiet():
    return np.errstate(over="ignore", invalid="ignore", divide="ignore")


class Lockstep:
    """The variants of a race side by side, one step of each at a time.

    step() is one Trainer.step() of every variant the guard has not stopped; the target
    is checked where `train` checks it (the start, then each epoch's end), so after whole
    epochs rows() equals run() for the same number of epochs, number for number."""

    def __init__(self, variants_, target=1.0, target_loss=None):
        self.variants = list(variants_)
        self.target, self.target_loss = target, target_loss
        self.trainers = [build(v.config) for v in self.variants]
        self._epoch_metrics = []   # each variant's latest evaluation at a race point (start, epoch ends)
        self.hits = []
        with _quiet():
            for t in self.trainers:
                m = t.evaluate()
                self._epoch_metrics.append(m)
                self.hits.append(0 if _reached(m, target, target_loss) else None)

    @property
    def steps(self) -> int:
        return max(t.step_count for t in self.trainers)

    def running(self, epochs=None) -> list[int]:
        """Indices of the variants that still step (not stopped by the guard; under `epochs` when given)."""
        return [i for i, t in enumerate(self.trainers)
                if t.halted is None and (epochs is None or t.epoch_count < epochs)]

    def step(self, epochs=None) -> int:
        """One step of every running variant. Returns how many stepped."""
        moved = 0
        with _quiet():
            for i in self.running(epochs):
                t = self.trainers[i]
                epoch = t.epoch_count
                r = t.step()
                moved += 1
                if not r.ok:
                    self._epoch_metrics[i] = t.evaluate()   # as train(): the kept weights' numbers
                elif t.epoch_count != epoch:              # an epoch ended: a race point
                    m = self._epoch_metrics[i] = t.evaluate()
                    if self.hits[i] is None and _reached(m, self.target, self.target_loss):
                        self.hits[i] = t.step_count
        return moved

    def advance(self, until: float, clock, epochs=None) -> int:
        """Step together until clock() passes `until` (or nothing runs). Returns the rounds taken."""
        rounds = 0
        while clock() < until:
            if not self.step(epochs):
                break
            rounds += 1
        return rounds

    def rows(self) -> list[dict]:
        """The race table now: as train()'s rows, loss and accuracy at the current weights."""
        out = []
        with _quiet():
            for v, t, hit, em in zip(self.variants, self.trainers, self.hits, self._epoch_metrics):
                m = em if em["step"] == t.step_count else t.evaluate(record=False)
                row = {"field": v.field, "value": v.value, "loss": m["loss"], "accuracy": m.get("accuracy"),
                       "steps_to_target": hit, "steps": t.step_count, "epochs": t.epoch_count}
                for key in ("r2", "test_accuracy", "test_r2"):  # as train(): r2 (accuracy None) for regression
                    if key in m:
                        row[key] = m[key]
                if t.halted is not None:
                    row["stopped"] = t.halted.to_dict()
                out.append(row)
        return out
