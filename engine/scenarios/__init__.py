"""Pathology demos: each classic training failure made to happen, measured, explained and fixed.

    from engine import scenarios
    result = scenarios.run("dead-relu")       # or scenarios.SCENARIOS["dead-relu"]()
    result.broken.metrics["accuracy"], result.fixed.metrics["accuracy"]
    result.runs                               # every run of the demo, broken ones first
    result.to_dict()                          # {"name", "broken", "fixed", "explanation"} for `netstep demo --json`

Every run uses a fixed seed, so the numbers are the same on every machine that does
float64 arithmetic the same way. A demo has one main broken run and one main fixed run
(the contract's `broken` and `fixed`); some have further runs (another way to break it,
another fix), whose metrics are also folded into the main run's metrics under a prefix
(`high_lr_accuracy`, ...), so the JSON carries every number the story quotes.

Everything here is built from the engine's public pieces. The one exception is
`course_backward`, the course's flawed backward pass, kept here on purpose (and only
here) for the gradcheck-bug demo.
"""


from __future__ import annotations

import functools

import numpy as np

from .gradients import EXPLODING, VANISHING, course_backward, exploding, gradcheck_bug, vanishing
from .report import METRICS, Run, ScenarioResult, format_metric, metric_label
from .units import SATURATION, SATURATION_MULTIPLIER, dead_relu, saturation, symmetry

__all__ = ["EXPLODING", "METRICS", "NAMES", "SATURATION", "SATURATION_MULTIPLIER", "SCENARIOS", "VANISHING", "Run",
           "ScenarioResult", "course_backward", "format_metric", "metric_label", "run"]


# ----- registry -----------------------------------------------------------------------------------

def _quiet(fn):
    """Run a demo with NumPy's overflow warnings off: overflow is the point of some of them,
    and the guard and the metrics already report it."""

    @functools.wraps(fn)
    def wrapper():
        with np.errstate(all="ignore"):
            return fn()

    return wrapper


SCENARIOS = {
    "dead-relu": _quiet(dead_relu),
    "exploding": _quiet(exploding),
    "vanishing": _quiet(vanishing),
    "symmetry": _quiet(symmetry),
    "saturation": _quiet(saturation),
    "gradcheck-bug": _quiet(gradcheck_bug),
}
NAMES = tuple(SCENARIOS)


def run(name) -> ScenarioResult:
    """Run the demo `name` (one of NAMES): SCENARIOS[name]()."""
    try:
        fn = SCENARIOS[name]
    except KeyError:
        raise KeyError(f"unknown demo {name!r}; allowed: {', '.join(NAMES)}") from None
    return fn()

