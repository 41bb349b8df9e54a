"""The conditions a lesson step can require before the learner moves on.

A step's `check` table maps condition names to values; every condition must hold.

    [steps.check]
    accuracy_at_least = 1.0
    steps_at_least = 200

Each condition reads the live run through the engine (trainer.evaluate, net.forward,
engine.diagnostics, the gradient-check report the learner produced) and returns a
Verdict: whether it holds, and a line saying what it sees now. Nothing here draws
anything; the lesson screen and `netstep lessons --check` both call `evaluate`.

Every condition also names the keys that move it toward holding (`keys`), so the
headless checker knows which keypress to repeat: playing moves accuracy, `-` moves
the learning rate down, `g` produces a gradient-check report, and so on.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .probe import Probe  # what the conditions read of a session (also used by facts.py)

TRAIN_KEYS = ("space", "p")


@dataclass
class Verdict:
    ok: bool
    detail: str   # what the condition sees now, e.g. "accuracy 75% (needs at least 100%)"


class Condition:
    """One named condition: how to validate its value, evaluate it and describe it."""

    def __init__(self, name, kind, doc, keys, evaluate, describe):
        self.name, self.kind, self.doc, self.keys = name, kind, doc, keys
        self._evaluate, self._describe = evaluate, describe

    def parse(self, value):
        """The value, checked against the condition's kind. Raises ValueError with the reason."""
        if self.kind == "number":
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                raise ValueError(f"must be a number, got {value!r}")
            return float(value)
        if self.kind == "fraction":
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
                raise ValueError(f"must be a number from 0 to 1, got {value!r}")
            return float(value)
        if self.kind == "count":
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"must be a whole number >= 0, got {value!r}")
            return int(value)
        if self.kind == "bool":
            if not isinstance(value, bool):
                raise ValueError(f"must be true or false, got {value!r}")
            return value
        if self.kind == "range":
            if (not isinstance(value, list) or len(value) != 2
                    or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value)
                    or value[0] > value[1]):
                raise ValueError(f"must be a list [low, high] with low <= high, got {value!r}")
            return [float(value[0]), float(value[1])]
        if self.kind == "gradcheck":
            if value not in ("passed", "failed"):
                raise ValueError(f"must be \"passed\" or \"failed\", got {value!r}")
            return value
        if self.kind == "phase":
            if value not in ("forward", "loss", "backward", "update"):
                raise ValueError(f"must be one of forward, loss, backward, update; got {value!r}")
            return value
        raise AssertionError(self.kind)

    def evaluate(self, probe, value) -> Verdict:
        return self._evaluate(probe, value)

    def describe(self, value) -> str:
        return self._describe(value)


CONDITIONS: dict[str, Condition] = {}


def _condition(name, kind, doc, keys, describe):
    def register(fn):
        CONDITIONS[name] = Condition(name, kind, doc, tuple(keys), fn, describe)
        return fn
    return register


def _pct(x) -> str:
    return "n/a" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{100 * x:.1f}%".replace(".0%", "%")


def _num(x) -> str:
    return "n/a" if x is None else f"{x:.4g}"


def evaluate(check: dict, session) -> list[tuple[str, Verdict]]:
    """Every condition of `check` against the session's run: [(name, Verdict)]."""
    probe = Probe(session)
    return [(name, CONDITIONS[name].evaluate(probe, value)) for name, value in check.items()]


def holds(check: dict | None, session) -> bool:
    return not check or all(v.ok for _, v in evaluate(check, session))


def keys_for(check: dict | None) -> set[str]:
    """The keys that move an unmet check toward holding."""
    out = set()
    for name in check or {}:
        out.update(CONDITIONS[name].keys)
    return out


def describe(check: dict | None) -> list[str]:
    return [CONDITIONS[name].describe(value) for name, value in (check or {}).items()]


# ----- training progress -------------------------------------------------------------

@_condition("steps_at_least", "count", "the run has taken at least N training steps", TRAIN_KEYS,
            lambda v: f"at least {v} training steps")
def _steps_at_least(p, v):
    n = p.trainer.step_count
    return Verdict(n >= v, f"{n} steps taken (needs {v})")


@_condition("accuracy_at_least", "fraction", "training accuracy (whole training set) is at least x", TRAIN_KEYS,
            lambda v: f"training accuracy at least {_pct(v)}")
def _acc_at_least(p, v):
    a = p.metrics.get("accuracy")
    if a is None:
        return _no_accuracy(p)
    return Verdict(a >= v - 1e-12, f"training accuracy {_pct(a)} (needs at least {_pct(v)})")


@_condition("accuracy_at_most", "fraction", "training accuracy is at most x (the run is stuck)", TRAIN_KEYS,
            lambda v: f"training accuracy at most {_pct(v)}")
def _acc_at_most(p, v):
    a = p.metrics.get("accuracy")
    if a is None:
        return _no_accuracy(p)
    return Verdict(a <= v + 1e-12, f"training accuracy {_pct(a)} (expected at most {_pct(v)})")


def _no_accuracy(p):
    """A regression run is scored by R² (engine.Trainer.evaluate gives no accuracy): never holds."""
    return Verdict(False, "a regression run has no accuracy (its score is R²: r2_at_least / r2_at_most)")


def _r2(p):
    r2 = p.metrics.get("r2")
    return None if r2 is None or not math.isfinite(r2) else float(r2)


@_condition("r2_at_least", "number", "a regression run's R² on the training set is at least x (1 is a perfect fit)",
            TRAIN_KEYS, lambda v: f"training R² at least {v:.4g}")
def _r2_at_least(p, v):
    r2 = _r2(p)
    if r2 is None:
        return Verdict(False, "R² applies to a regression run only (this one is scored by accuracy)")
    return Verdict(r2 >= v - 1e-12, f"training R² {r2:.4f} (needs at least {v:.4g})")


@_condition("r2_at_most", "number", "a regression run's R² is at most x (the fit is still poor)", TRAIN_KEYS,
            lambda v: f"training R² at most {v:.4g}")
def _r2_at_most(p, v):
    r2 = _r2(p)
    if r2 is None:
        return Verdict(False, "R² applies to a regression run only (this one is scored by accuracy)")
    return Verdict(r2 <= v + 1e-12, f"training R² {r2:.4f} (expected at most {v:.4g})")


@_condition("test_accuracy_at_least", "fraction", "accuracy on the held-out test split is at least x", TRAIN_KEYS,
            lambda v: f"test accuracy at least {_pct(v)}")
def _test_acc(p, v):
    a = p.metrics.get("test_accuracy")
    if a is None:
        return Verdict(False, "this run's data has no test split")
    return Verdict(a >= v - 1e-12, f"test accuracy {_pct(a)} (needs at least {_pct(v)})")


@_condition("loss_below", "number", "training loss (whole training set) is below x", TRAIN_KEYS,
            lambda v: f"training loss below {_num(v)}")
def _loss_below(p, v):
    loss = p.metrics["loss"]
    return Verdict(math.isfinite(loss) and loss < v, f"training loss {_num(loss)} (needs below {_num(v)})")


@_condition("loss_above", "number", "training loss is still above x (learning has stalled)", TRAIN_KEYS,
            lambda v: f"training loss above {_num(v)}")
def _loss_above(p, v):
    loss = p.metrics["loss"]
    return Verdict(not loss <= v, f"training loss {_num(loss)} (expected above {_num(v)})")


@_condition("gap_at_least", "number", "test loss exceeds training loss by at least x (overfitting)", TRAIN_KEYS,
            lambda v: f"test loss above training loss by at least {_num(v)}")
def _gap_at_least(p, v):
    return _gap(p, v, lambda gap: gap >= v, "at least")


@_condition("gap_below", "number", "test loss exceeds training loss by less than x", TRAIN_KEYS,
            lambda v: f"test loss within {_num(v)} of training loss")
def _gap_below(p, v):
    return _gap(p, v, lambda gap: gap < v, "below")


def _gap(p, v, holds, needs):
    """Test loss minus training loss, judged by holds(gap)."""
    m = p.metrics
    if "test_loss" not in m:
        return Verdict(False, "this run's data has no test split")
    gap = m["test_loss"] - m["loss"]
    return Verdict(holds(gap), f"test loss {_num(m['test_loss'])} - training loss {_num(m['loss'])} = {_num(gap)} "
                               f"(needs {needs} {_num(v)})")


@_condition("outputs_within", "range", "every output of the network lies in [low, high]", TRAIN_KEYS,
            lambda v: f"every output between {v[0]:g} and {v[1]:g}")
def _outputs_within(p, v):
    with np.errstate(all="ignore"):
        Y_hat = p.trainer.net.predict(p.trainer.X)
    lo, hi = float(np.min(Y_hat)), float(np.max(Y_hat))
    return Verdict(v[0] <= lo and hi <= v[1], f"outputs range from {lo:.4f} to {hi:.4f} (expected within "
                                              f"{v[0]:g}..{v[1]:g})")


# ----- units inside the network ------------------------------------------------------

@_condition("dead_units_at_least", "count", "at least N ReLU hidden units are dead (output 0 for every example)",
            TRAIN_KEYS, lambda v: f"at least {v} dead ReLU unit{'s' if v != 1 else ''}")
def _dead_units(p, v):
    dead, total = p.dead_units()
    return Verdict(dead >= v, f"{dead} of {total} ReLU units dead (expected at least {v})")


@_condition("dead_fraction_at_least", "fraction", "at least this share of the ReLU hidden units is dead", TRAIN_KEYS,
            lambda v: f"at least {_pct(v)} of the ReLU units dead")
def _dead_fraction(p, v):
    dead, total = p.dead_units()
    frac = dead / total if total else 0.0
    return Verdict(total > 0 and frac >= v, f"{dead} of {total} ReLU units dead = {_pct(frac)} (expected at least {_pct(v)})")


@_condition("dead_units_at_most", "count", "at most N ReLU hidden units are dead", TRAIN_KEYS,
            lambda v: f"at most {v} dead ReLU units")
def _dead_at_most(p, v):
    dead, total = p.dead_units()
    return Verdict(dead <= v, f"{dead} of {total} ReLU units dead (expected at most {v})")


@_condition("always_active_at_least", "count",
            "at least N ReLU-family units have Z >= 0 for every example (they act as plain linear units)",
            TRAIN_KEYS, lambda v: f"at least {v} unit{'s' if v != 1 else ''} active on every example")
def _always_active(p, v):
    n = p.always_active_units()
    return Verdict(n >= v, f"{n} unit{'s' if n != 1 else ''} active on every example, i.e. linear on this data "
                           f"(expected at least {v})")


@_condition("saturated_at_least", "fraction", "at least this share of sigmoid/tanh hidden activations is saturated",
            TRAIN_KEYS, lambda v: f"at least {_pct(v)} of hidden activations saturated")
def _saturated(p, v):
    f = p.saturated_fraction()
    return Verdict(f >= v, f"{_pct(f)} of hidden activations saturated (expected at least {_pct(v)})")


@_condition("saturated_below", "fraction", "less than this share of sigmoid/tanh hidden activations is saturated",
            TRAIN_KEYS, lambda v: f"less than {_pct(v)} of hidden activations saturated")
def _saturated_below(p, v):
    f = p.saturated_fraction()
    return Verdict(f < v, f"{_pct(f)} of hidden activations saturated (needs below {_pct(v)})")


@_condition("identical_units", "bool", "true: within each hidden layer every unit has the same incoming weights "
            "(to the diagnostics' threshold); false: they differ", TRAIN_KEYS,
            lambda v: "the hidden units are all identical" if v else "the hidden units differ")
def _identical(p, v):
    layers = p.identical_layers()
    hidden = len(p.hidden_rows())
    same = len(layers) == hidden
    if same:
        detail = "every hidden layer's units have the same weights"
    else:
        differ = [r.layer for r in p.hidden_rows() if r.layer not in layers]
        detail = f"the units of layer{'s' if len(differ) > 1 else ''} {', '.join(map(str, differ))} differ"
    return Verdict(same == v, detail)


# ----- gradients -------------------------------------------------------------------

@_condition("grad_ratio_below", "number", "||dW1|| / ||dW_L|| on the latest step is below x (vanishing)", TRAIN_KEYS,
            lambda v: f"first layer's gradient below {v:g} x the last layer's")
def _ratio_below(p, v):
    return _grad_ratio(p, lambda r: r < v, f"below {v:g}")


@_condition("grad_ratio_above", "number", "||dW1|| / ||dW_L|| on the latest step is above x (healthy flow)", TRAIN_KEYS,
            lambda v: f"first layer's gradient above {v:g} x the last layer's")
def _ratio_above(p, v):
    return _grad_ratio(p, lambda r: r > v, f"above {v:g}")


def _grad_ratio(p, holds, needs):
    """Verdict on ||dW1|| / ||dW_L|| of the latest step."""
    norms = p.grad_norms()
    if norms is None:
        return Verdict(False, "no step taken yet: press space for one")
    r = p.diagnostics.layers[0].grad_ratio   # ||dW1|| / ||dW_L||, as the diagnostics panel shows it
    r = math.inf if r is None else r
    return Verdict(holds(r), f"||dW1|| / ||dW{len(norms)}|| = {r:.3g} (needs {needs})")


@_condition("grad_growth_at_least", "number", "the gradient norm grew to at least x times its first value in this run",
            TRAIN_KEYS, lambda v: f"gradient norm grown at least {v:g}x")
def _growth(p, v):
    norms = p.session.state.grad_norms
    if not norms or not norms[0] > 0:
        return Verdict(False, "no step taken yet")
    g = max(norms) / norms[0]
    return Verdict(g >= v, f"gradient norm grew {g:.3g}x (expected at least {v:g}x)")


@_condition("halted", "bool", "true: the guard refused a step that would have put inf or NaN into the weights",
            TRAIN_KEYS, lambda v: "the guard has stopped the run" if v else "the run is not halted")
def _halted(p, v):
    h = p.trainer.halted
    if h is not None:
        return Verdict(v, h.message)
    return Verdict(not v, "no step has gone non-finite")


@_condition("weights_finite", "bool", "every weight is a finite number", TRAIN_KEYS,
            lambda v: "every weight finite" if v else "some weight non-finite")
def _finite(p, v):
    ok = bool(np.all(np.isfinite(p.trainer.net.theta)))
    return Verdict(ok == v, "every weight is finite" if ok else "some weights are inf or NaN")


@_condition("weight_norm_below", "number", "the size of all weights, sqrt(sum W^2), is below x", TRAIN_KEYS,
            lambda v: f"weight size below {v:g}")
def _wn_below(p, v):
    n = p.weight_norm()
    return Verdict(n < v, f"weight size sqrt(sum W^2) = {n:.4g} (needs below {v:g})")


@_condition("weight_norm_above", "number", "the size of all weights, sqrt(sum W^2), is above x", TRAIN_KEYS,
            lambda v: f"weight size above {v:g}")
def _wn_above(p, v):
    n = p.weight_norm()
    return Verdict(n > v, f"weight size sqrt(sum W^2) = {n:.4g} (expected above {v:g})")


@_condition("clipped", "bool", "true: the latest step's gradient was clipped", TRAIN_KEYS,
            lambda v: "the latest step was clipped" if v else "the latest step was not clipped")
def _clipped(p, v):
    r = p.trainer.result
    c = bool(r is not None and r.clipped)
    return Verdict(c == v, "the latest step's gradient was clipped" if c else "the latest step's gradient was not clipped")


# ----- the learner's own actions -----------------------------------------------------

@_condition("gradcheck", "gradcheck", "\"passed\" or \"failed\": the gradient check run in this step (key g)",
            ("g",), lambda v: f"a gradient check that {v}")
def _gradcheck(p, v):
    report = p.session.state.gradcheck
    if report is None:
        return Verdict(False, "no gradient check run yet: press g")
    worst = report.worst
    got = "passed" if report.passed else "failed"
    return Verdict(got == v, f"gradient check {got}: largest relative error {worst:.3g}")


@_condition("gradcheck_error_at_least", "number", "the gradient check run in this step has a relative error >= x",
            ("g",), lambda v: f"a gradient-check error of at least {v:g}")
def _gc_error(p, v):
    report = p.session.state.gradcheck
    if report is None:
        return Verdict(False, "no gradient check run yet: press g")
    name, worst = max(((n, e) for n, e in report.errors.items() if e is not None), key=lambda kv: kv[1],
                      default=("none", 0.0))
    return Verdict(worst >= v, f"largest relative error {worst:.3g} (in {name})")


@_condition("lr_at_most", "number", "the learning rate is at most x (key - halves it)", ("-",),
            lambda v: f"learning rate at most {v:g}")
def _lr_at_most(p, v):
    lr = p.trainer.lr
    return Verdict(lr <= v * (1 + 1e-9), f"learning rate {lr:g} (needs at most {v:g})")


@_condition("lr_at_least", "number", "the learning rate is at least x (key + doubles it)", ("+",),
            lambda v: f"learning rate at least {v:g}")
def _lr_at_least(p, v):
    lr = p.trainer.lr
    return Verdict(lr >= v * (1 - 1e-9), f"learning rate {lr:g} (needs at least {v:g})")


@_condition("ops_at_least", "count", "at least N single operations stepped with n in this step", ("n",),
            lambda v: f"at least {v} operations stepped")
def _ops(p, v):
    n = p.session.state.ops_seen
    return Verdict(n >= v, f"{n} operations stepped (needs {v})")


@_condition("phase_reached", "phase", "operation stepping (n) has reached this phase in this step", ("n",),
            lambda v: f"operation stepping reaches the {v} phase")
def _phase(p, v):
    seen = p.session.state.phases_seen
    return Verdict(v in seen, f"phases seen: {', '.join(seen) or 'none'} (needs {v})")


# ----- side-by-side runs ---------------------------------------------------------------

@_condition("compare_loss_ratio_below", "number", "this run's training loss / the comparison run's is below x",
            TRAIN_KEYS, lambda v: f"loss below {v:g} x the comparison run's")
def _cmp_ratio(p, v):
    c = p.compare_metrics
    if c is None:
        return Verdict(False, "this step has no comparison run")
    a, b = p.metrics["loss"], c["loss"]
    r = a / b if b > 0 else math.inf
    return Verdict(math.isfinite(a) and r < v, f"loss {_num(a)} vs comparison {_num(b)}: ratio {r:.3g} (needs below {v:g})")


@_condition("compare_accuracy_at_most", "fraction", "the comparison run's training accuracy is at most x", TRAIN_KEYS,
            lambda v: f"comparison run's accuracy at most {_pct(v)}")
def _cmp_acc(p, v):
    c = p.compare_metrics
    if c is None:
        return Verdict(False, "this step has no comparison run")
    return Verdict(c["accuracy"] <= v + 1e-12, f"comparison accuracy {_pct(c['accuracy'])} (expected at most {_pct(v)})")


# ----- regularisation (issue 16): how many weights L1 has switched off ------------------------

@_condition("near_zero_at_least", "fraction", "at least a share x of the weights have |w| < 0.001 (a sparse network)",
            TRAIN_KEYS, lambda v: f"at least {_pct(v)} of the weights near zero")
def _near_zero_at_least(p, v):
    from engine.metrics import near_zero

    share = near_zero(p.trainer.net)
    return Verdict(share >= v - 1e-12, f"{_pct(share)} of the weights have |w| < 0.001 (needs at least {_pct(v)})")


@_condition("near_zero_at_most", "fraction", "at most a share x of the weights have |w| < 0.001", TRAIN_KEYS,
            lambda v: f"at most {_pct(v)} of the weights near zero")
def _near_zero_at_most(p, v):
    from engine.metrics import near_zero

    share = near_zero(p.trainer.net)
    return Verdict(share <= v + 1e-12, f"{_pct(share)} of the weights have |w| < 0.001 (expected at most {_pct(v)})")


# ----- the space a layer makes (issue 17) ------------------------------------------------------

@_condition("separable", "bool", "true: one straight line separates the classes in the space the last hidden layer "
            "makes (as the layer-space panel draws it: two units, or two principal components)", TRAIN_KEYS,
            lambda v: "the last hidden layer's picture is linearly separable" if v else "not linearly separable")
def _separable(p, v):
    from engine import layer_space

    net, t = p.trainer.net, p.trainer
    if t.X.shape[1] != 2 or net.L < 2:
        return Verdict(False, "drawn for 2-D data and a network with a hidden layer only")
    share = layer_space.project(net, t.X, t.Y, net.L - 1).separable
    if share is None:
        return Verdict(False, "measured for two classes with finite activations only")
    return Verdict((share == 1.0) == v, f"the best straight line found puts {share:.0%} of the points on their side")


NAMES = tuple(CONDITIONS)   # after every @_condition above, so the loader's error lists them all
