"""What a demo returns and how its numbers read: Run, ScenarioResult, the metric table,
and the small helpers every demo uses to train and to read the diagnostics.

Every decision about units (dead, always active, saturated, identical) comes from
engine.diagnostics, whose thresholds the demos share with the dashboard and the lessons.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ..jsonsafe import clean as _clean  # the one JSON cleaner (NaN/inf -> None)

from .. import diagnostics
from ..config import RunConfig

# How each metric reads in a table: (label, format). Formats: pct (a fraction shown as
# a percentage; pct2 with two significant digits), loss, sci, int, bool, text, ratio
# (x-fold), units (unit numbers as h1, h2), fixed3, float.
METRICS = {
    "loss": ("loss", "loss"),
    "accuracy": ("accuracy", "pct"),
    "steps": ("steps trained", "int"),
    "warnings": ("diagnostics warnings", "text"),
    # dead-relu
    "dead_fraction_start": ("dead units at step 0", "pct"),
    "dead_fraction": ("dead units at the end", "pct"),
    "dead_units": ("dead units", "units"),
    "always_active_units": ("live units active on every input", "int"),
    "output_distance_from_half": ("largest |output - 0.5|", "sci"),
    "all_dead_at_step": ("every unit dead from step", "int"),
    "negative_side_fraction": ("units negative on every input", "pct"),
    # exploding
    "grad_norm_start": ("gradient norm at step 1", "sci"),
    "grad_norm_max": ("largest gradient norm", "sci"),
    "growth": ("growth of the gradient norm", "ratio"),
    "step_of_1000x": ("first step at 1000x", "int"),
    "warned_at_step": ("diagnostics warned at step", "int"),
    "halted_at_step": ("guard stopped step", "int"),
    "halted_quantity": ("first non-finite quantity", "text"),
    "weights_finite": ("weights all finite", "bool"),
    "weights_kept": ("weights = last finite step's", "bool"),
    "largest_weight": ("largest |weight|", "sci"),
    "clipped_steps": ("steps clipped", "int"),
    # vanishing
    "grad_ratio_first_last": ("||dW1|| / ||dW_L|| at step 0", "sci"),
    "grad_norm_first": ("||dW1|| at step 0", "sci"),
    "grad_norm_last": ("||dW_L|| at step 0", "sci"),
    "first_layer_change": ("change of W1 over training", "pct2"),
    # symmetry
    "max_unit_difference": ("largest difference between units", "sci"),
    "weights_moved": ("largest change of any weight", "sci"),
    # saturation
    "init_multiplier": ("weight multiplier after Xavier init", "float"),
    "saturated_start": ("saturated hidden outputs, step 0", "pct"),
    "saturated": ("saturated hidden outputs, end", "pct"),
    "loss_start": ("loss at step 0", "loss"),
    "loss_drop": ("loss fall over training", "pct"),
    # gradcheck-bug
    "max_error": ("gradcheck max relative error", "sci"),
    "norm_error": ("||a - n|| / (||a|| + ||n||)", "sci"),
    "analytic_over_numeric": ("analytic / numeric (median)", "fixed3"),
    "passed": ("gradcheck passed", "bool"),
    "failing": ("failing parameters", "text"),
    "kinks": ("probes across a ReLU kink", "int"),
    "error_W1": ("error in dW1", "sci"),
    "error_b1": ("error in db1", "sci"),
    "error_W2": ("error in dW2", "sci"),
    "error_b2": ("error in db2", "sci"),
}


def metric_label(name) -> str:
    """The table label of a metric, prefixed ones included (high_lr_accuracy -> 'accuracy')."""
    return METRICS.get(name, (name.replace("_", " "), ""))[0]


def format_metric(name, value) -> str:
    """A metric's value as the demo table prints it."""
    kind = METRICS.get(name, ("", ""))[1]
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "n/a"
    if isinstance(value, bool) or kind == "bool":
        return "yes" if value else "no"
    if isinstance(value, (list, tuple)):
        return ", ".join(f"h{v}" if kind == "units" else str(v) for v in value) or "none"
    if isinstance(value, str):
        return value or "none"
    if kind == "pct":
        return f"{100 * value:.1f}%"
    if kind == "pct2":
        return f"{100 * value:.2g}%"
    if kind == "fixed3":
        return f"{value:.3f}"
    if kind == "int":
        return f"{int(value)}"
    if kind == "loss":
        return f"{value:.4g}"
    if kind == "sci":
        return f"{value:.2e}"
    if kind == "ratio":
        return f"{value:.3g}x"
    if isinstance(value, int):
        return str(value)
    return f"{value:.4g}"


@dataclass
class Run:
    """One training run of a demo and what was measured on it."""

    label: str                 # a short column heading ("course run", "He init")
    role: str                  # "broken" or "fixed"
    config: RunConfig
    metrics: dict
    setup: str = ""            # anything done beyond the config (such as scaling the weights)
    key: str = ""              # prefix for this run's metrics in the main run's JSON metrics

    def to_dict(self) -> dict:
        return {"label": self.label, "role": self.role, "config": self.config.to_dict(),
                "metrics": _clean(self.metrics), "setup": self.setup}


@dataclass
class ScenarioResult:
    name: str
    title: str
    runs: list = field(default_factory=list)   # broken runs, then fixed runs; the first of each is the main one
    explanation: str = ""

    @property
    def broken(self) -> Run:
        return next(r for r in self.runs if r.role == "broken")

    @property
    def fixed(self) -> Run:
        return next(r for r in self.runs if r.role == "fixed")

    def _side(self, main) -> dict:
        metrics = dict(main.metrics)
        for r in self.runs:
            if r.role == main.role and r is not main:
                for k, v in r.metrics.items():
                    metrics[f"{r.key}_{k}"] = v
        return {"config": main.config.to_dict(), "metrics": _clean(metrics)}

    def to_dict(self) -> dict:
        """The contract's JSON shape: {"name", "broken": {"config", "metrics"}, "fixed": {...}, "explanation"}."""
        return {"name": self.name, "broken": self._side(self.broken), "fixed": self._side(self.fixed),
                "explanation": self.explanation}

    def table(self):
        """(header, rows): one column per run, one row per metric (None where a run lacks it)."""
        names = []
        for r in self.runs:
            for k in r.metrics:
                if k not in names:
                    names.append(k)
        header = ["", *[r.label for r in self.runs]]
        rows = [[metric_label(k), *[format_metric(k, r.metrics[k]) if k in r.metrics else "-" for r in self.runs]]
                for k in names]
        return header, rows


# ----- shared measuring helpers -------------------------------------------------------------

def _train(trainer, steps, watch=None):
    """Train `steps` steps (stopping if the guard refuses one); watch(trainer, result) after each."""
    for _ in range(steps):
        result = trainer.step()
        if watch is not None:
            watch(trainer, result)
        if not result.ok:
            break
    return trainer


def _forward(trainer):
    """Z and A of every layer for the whole training set, at the current weights."""
    _, cache = trainer.net.forward(trainer.X)
    return cache


def _units(trainer):
    """The diagnostics rows at the current weights, on the whole training set."""
    return diagnostics.measure(trainer, at="current", max_examples=len(trainer.X))


def _warnings(trainer) -> str:
    """The codes of the warnings and errors the diagnostics raise on the trainer now."""
    codes = []
    for w in diagnostics.measure(trainer).warnings:
        if w.severity in ("error", "warning") and w.code not in codes:
            codes.append(w.code)
    return ", ".join(codes)


def _final(trainer) -> dict:
    m = trainer.evaluate()
    return {"loss": m["loss"], "accuracy": m["accuracy"], "steps": trainer.step_count}
