"""Numbers a lesson's text states, filled in from the live run.

A lesson never types a number about its run into its text: it writes a placeholder
and the lesson engine fills it from the engine's own measurements each time the
text is drawn, so the sentence and the screen cannot disagree.

    text = '''The loss settles at {{loss}} and accuracy stays at {{accuracy}}.'''

A placeholder is `{{name}}` with a name from FACTS. Before a fact exists (no gradient
check yet, no step taken) it reads as a short "not yet" phrase instead of a number.
The loader refuses unknown names, naming the file, the step and the placeholder.

What a text *claims* about the run (a region, a sign, a direction of change) goes in
the step's `claims` table, in the vocabulary of checks.py; `netstep lessons --check`
verifies every claim holds at the end of the step, so a claim that stops being true
fails the build instead of misleading a learner.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Callable

import numpy as np

from tui.fmt import num


def _num_fmt(v: float, sig: int) -> str:
    return num(v, None, sig)  # the UI's one number formatter, at `sig` significant digits

PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")


@dataclass(frozen=True)
class Fact:
    doc: str
    read: Callable  # probe -> str


FACTS: dict[str, Fact] = {}


def _fact(name, doc):
    def register(fn):
        FACTS[name] = Fact(doc, fn)
        return fn
    return register


def _pct(x) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "n/a"
    return f"{100 * x:.1f}%".replace(".0%", "%")


def _n(x, digits=4) -> str:
    return "n/a" if x is None else _num_fmt(float(x), digits)


def _unit_list(units) -> str:
    names = [f"h{u}" for u in units]
    if not names:
        return "none"
    if len(names) == 1:
        return names[0]
    return ", ".join(names[:-1]) + " and " + names[-1]


@_fact("step", "training steps taken in this run")
def _step(p):
    return str(p.trainer.step_count)


@_fact("loss", "training loss over the whole training set at the current weights")
def _loss(p):
    return _n(p.metrics.get("loss"))


@_fact("accuracy", "training accuracy over the whole training set")
def _accuracy(p):
    return _pct(p.metrics.get("accuracy"))


@_fact("test_accuracy", "accuracy on the held-out test split")
def _test_accuracy(p):
    return _pct(p.metrics.get("test_accuracy"))


@_fact("r2", "a regression run's R² over the whole training set (1 a perfect fit, 0 the mean's)")
def _r2(p):
    r2 = p.metrics.get("r2")
    if r2 is None or not math.isfinite(r2):
        return "n/a (not a regression run)" if "accuracy" in p.metrics else "n/a"
    return f"{r2:.4f}"


@_fact("test_r2", "a regression run's R² on the held-out test split")
def _test_r2(p):
    r2 = p.metrics.get("test_r2")
    return "n/a" if r2 is None or not math.isfinite(r2) else f"{r2:.4f}"


@_fact("lr", "the learning rate now")
def _lr(p):
    return _n(p.trainer.lr)


@_fact("dead_count", "how many ReLU hidden units are dead (Z <= 0 for every example)")
def _dead_count(p):
    dead, total = p.dead_units()
    return f"{dead} of {total}"


@_fact("dead_list", "which ReLU units of the first hidden layer are dead, as h1, h2, ... (engine.diagnostics)")
def _dead_list(p):
    rows = p.hidden_rows()
    if not rows or rows[0].dead is None:
        return "none"
    return _unit_list(rows[0].dead_units)


@_fact("outputs", "the range of the network's outputs over the training set")
def _outputs(p):
    A = _outputs_of(p)
    lo, hi = float(np.min(A)), float(np.max(A))
    if _num_fmt(lo, 4) == _num_fmt(hi, 4):
        return _num_fmt(lo, 4)
    return f"{_num_fmt(lo, 4)} to {_num_fmt(hi, 4)}"


@_fact("outputs_by_example", "each of the first four examples and the network's output for it")
def _outputs_by_example(p):
    X = p.trainer.X[:4]
    A = _outputs_of(p)[:4]
    pairs = []
    for x, a in zip(X, A):
        where = "(" + ", ".join(_num_fmt(float(v), 3) for v in x) + ")" if len(x) <= 3 else f"{len(x)} inputs"
        value = _num_fmt(float(a[0]), 3) if len(a) == 1 else f"class {int(np.argmax(a))}"
        pairs.append(f"{where} → {value}")
    return ", ".join(pairs)


def _numbers(values, sig=3) -> str:
    values = [_num_fmt(float(v), sig) for v in values]
    return values[0] if len(values) == 1 else ", ".join(values[:-1]) + " and " + values[-1]


@_fact("W1_row2", "the second row of W1 (the weights from input x2), rounded")
def _w1_row2(p):
    return _numbers(p.trainer.net.params["W1"][1])


@_fact("W2_entries", "the entries of W2, rounded (the first 6)")
def _w2_entries(p):
    return _numbers(p.trainer.net.params["W2"].ravel()[:6])


@_fact("Z2_largest", "the largest |Z2| over the training examples (the second layer's pre-activation)")
def _z2_largest(p):
    net = p.trainer.net
    with np.errstate(all="ignore"):
        _, cache = net.forward(p.trainer.X)
    return _num_fmt(float(np.abs(cache["Z2"]).max()), 2)


@_fact("gradcheck_worst", "the largest relative error of this step's gradient check, and where")
def _gradcheck_worst(p):
    report = p.session.state.gradcheck
    if report is None:
        return "(press g to see it)"
    checked = {k: v for k, v in report.errors.items() if v is not None}
    if not checked:
        return "(no entry could be checked)"
    name = max(checked, key=checked.get)
    return f"{_n(checked[name], 3)} (in {name})"


@_fact("weight_norm", "the size of all the weights, sqrt(sum W^2)")
def _weight_norm(p):
    return _n(p.weight_norm())


@_fact("xor_region", "for XOR: the shape of the region the network calls 1, from its predictions")
def _xor_region(p):
    points = np.array([[0.5, 0.5], [0, 0], [1, 1], [0, 1], [1, 0]], dtype=float)
    with np.errstate(all="ignore"):
        A = p.trainer.net.predict(points)
    one = (A[:, 0] > 0.5) if A.shape[1] == 1 else (A.argmax(axis=1) == 1)
    centre, corners, others = bool(one[0]), one[1:3], one[3:]
    if others.all() and not corners.any():
        if centre:
            return "a band from (0, 1) to (1, 0) through the middle of the square, with (0, 0) and (1, 1) outside it"
        return ("two pieces, one around (0, 1) and one around (1, 0), with a band of \"0\" through "
                "(0, 0) and (1, 1) between them")
    return "not yet a region that holds (0, 1) and (1, 0) without the two corners: keep playing"


# ----- features and regularisation (issue 16) ----------------------------------------------------

@_fact("test_loss", "loss on the held-out test split")
def _test_loss(p):
    return _n(p.metrics.get("test_loss"))


@_fact("gap", "test loss minus training loss (how much the network overfits)")
def _gap(p):
    m = p.metrics
    return "n/a" if "test_loss" not in m else _n(m["test_loss"] - m["loss"], 3)


@_fact("near_zero", "the share of weights with |w| < 0.001 (engine.metrics.near_zero)")
def _near_zero(p):
    from engine.metrics import near_zero

    return _pct(near_zero(p.trainer.net))


@_fact("features", "the network's inputs, computed from x1 and x2")
def _features(p):
    return ", ".join(p.trainer.net.features or ("x1", "x2"))


@_fact("n_params", "how many numbers the network learns (weights and biases)")
def _n_params(p):
    return str(p.trainer.net.n_params)


@_fact("input_weights", "each input feature's weight into the first unit of layer 1, and its bias")
def _input_weights(p):
    net = p.trainer.net
    names = net.features or tuple(f"x{i + 1}" for i in range(net.sizes[0]))
    W1, b1 = net.params["W1"], net.params["b1"]
    return ", ".join(f"{n} {_n(W1[i, 0], 3)}" for i, n in enumerate(names)) + f", bias {_n(b1[0, 0], 3)}"


def _outputs_of(p):
    net = p.trainer.net
    with np.errstate(all="ignore"):
        A, _ = net.forward(p.trainer.X)
    return A


def names(text: str) -> list[str]:
    """The placeholder names in `text`, in order."""
    return PLACEHOLDER.findall(text)


def unknown(text: str) -> list[str]:
    return [n for n in names(text) if n not in FACTS]


def render(text: str, probe) -> str:
    """`text` with every placeholder replaced by the run's value now."""
    if "{{" not in text:
        return text

    def fill(match):
        fact = FACTS.get(match.group(1))
        if fact is None or probe is None or probe.trainer is None:
            return "…"
        try:
            return fact.read(probe)
        except Exception:  # a fact that cannot be read now (no step yet...) must not hide the text
            return "…"

    return PLACEHOLDER.sub(fill, text)
