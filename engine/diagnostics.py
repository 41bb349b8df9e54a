"""Per-layer training diagnostics: is each layer healthy, and if not, what to try.

    report = diagnostics.measure(trainer)    # a Diagnostics record (objects with to_dict())
    report.layers[0].dead, report.warnings   # per-layer rows, and warnings to act on
    diagnostics.compute(trainer)             # the same as a JSON-ready dict (`netstep train --json`)
    monitor = diagnostics.Monitor(every=10, interval=0.25)  # at most every 10 steps and every 0.25 s
    monitor.update(trainer)
    diagnostics.dead_count(report), diagnostics.saturated_fraction(report), ...  # what lessons and demos read

The one place that decides dead, saturated, identical, exploding and vanishing (every
threshold in THRESHOLDS): the dashboard, lesson checks and demos read its rows.

What one layer's row holds (layer l, weights W_l, outputs A_l = g(Z_l)):

    grad_norm_W, grad_norm_b   ||dW_l||, ||db_l|| of the gradient the update used (after clipping)
    grad_ratio                 ||dW_l|| / ||dW_L||: how much gradient reaches this layer
                               compared with the output layer (vanishing when tiny)
    update_ratio               ||change in W_l|| / ||W_l||: how big the last step was
                               compared with the weights themselves
    act_mean, act_std          mean and spread of A_l over every example and unit
    dead                       ReLU-family layers: the fraction of units whose output is
                               zero for every example (they get no gradient, so they stay so)
    always_active_units        ReLU-family layers: units with Z > 0 for every example, i.e.
                               on their straight-line side: linear on this data
    saturated                  sigmoid/tanh layers: the fraction of outputs in a flat tail
                               (sigmoid below 0.01 or above 0.99, tanh beyond +-0.99)
    unit_spread                hidden layers: the largest difference between two units'
                               incoming weights or biases (0 for a single unit)
    identical_units            hidden layers: every unit has the same incoming weights and
                               bias (unit_spread below 1e-12), so they act as one
    nonfinite                  inf or NaN anywhere in the layer's numbers

Each check has a threshold in THRESHOLDS and a one-sentence warning a learner can act on.

Which step a record describes: gradients, update and activations all come from the
latest completed step (`step`; its forward pass ran on the weights before its own
update). With minibatches, or with measure(trainer, at="current"), the activation
statistics instead come from a forward pass over the training set with the current
weights (`activations` says which), because "dead for every example" is a statement
about the data, not one batch. Before the first step a forward and backward pass over
the training set stands in (step 0, no update).

Cost: a handful of NumPy calls per layer, so it can run every step on small networks;
`Monitor(every=k)` spreads it out while playing fast (each record says its step).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np

from .network import forward_ops

# When a check speaks up. Fractions are of the layer's units (dead) or outputs (saturated).
THRESHOLDS = {
    "dead": 0.4,               # warning when at least this fraction of a ReLU layer's units are dead
    "saturated": 0.8,          # warning when at least this fraction of a sigmoid/tanh layer's outputs are flat
    "sigmoid_tail": 0.01,      # a sigmoid output below this, or above 1 - this, is saturated
    "tanh_tail": 0.99,         # a tanh output beyond +- this is saturated
    "grad_ratio": 1e-3,        # a layer getting less than this fraction of the output layer's gradient: vanishing
    "grad_norm": 1e3,          # a whole-network gradient norm above this: exploding
    "update_ratio": 0.5,       # a step that changes W by more than this fraction of ||W||: lr too high
    "act_std": 1e-2,           # hidden outputs spread less than this across examples: the signal is too weak
    "act_size": 1e4,           # hidden outputs larger than this (|mean| or std): activations are blowing up
    "identical": 1e-12,        # units whose incoming weights differ by less than this are identical
}

RELU_FAMILY = ("relu", "leaky_relu")
SQUASHING = ("sigmoid", "tanh")
SEVERITIES = ("error", "warning", "info")


@dataclass
class Finding:
    """One warning: how bad (error, warning, info), where (layer, or None for the whole
    network), which check (code), a one-sentence message, the measured value and the threshold."""

    severity: str
    layer: int | None
    code: str
    message: str
    value: float | None = None
    threshold: float | None = None

    def to_dict(self) -> dict:
        return {"severity": self.severity, "layer": self.layer, "code": self.code, "message": self.message,
                "value": _num(self.value), "threshold": _num(self.threshold)}


@dataclass
class LayerReport:
    """One row of the diagnostics table (see the module docstring for each field)."""

    layer: int
    activation: str
    units: int
    weight_norm: float
    grad_norm_W: float
    grad_norm_b: float
    grad_ratio: float | None
    update_ratio: float | None
    act_mean: float
    act_std: float
    dead: float | None = None                 # ReLU family only
    dead_units: list = field(default_factory=list)  # 1-based unit numbers (h1, h2, ...) of the dead units
    always_active_units: list = field(default_factory=list)  # ReLU family: 1-based, Z > 0 on every example
    saturated: float | None = None            # sigmoid and tanh only
    unit_spread: float | None = None          # hidden layers
    identical_units: bool | None = None       # hidden layers with two or more units
    nonfinite: bool = False

    def to_dict(self) -> dict:
        return {"layer": self.layer, "activation": self.activation, "units": self.units,
                "weight_norm": _num(self.weight_norm), "grad_norm_W": _num(self.grad_norm_W),
                "grad_norm_b": _num(self.grad_norm_b), "grad_ratio": _num(self.grad_ratio),
                "update_ratio": _num(self.update_ratio), "act_mean": _num(self.act_mean),
                "act_std": _num(self.act_std), "dead": _num(self.dead), "dead_units": list(self.dead_units),
                "always_active_units": list(self.always_active_units), "saturated": _num(self.saturated),
                "unit_spread": _num(self.unit_spread), "identical_units": self.identical_units,
                "nonfinite": self.nonfinite}


@dataclass
class Diagnostics:
    """Diagnostics of one step: per-layer rows and the warnings they raise."""

    step: int                    # the step whose gradients and update are shown (0: before training)
    epoch: int
    every: int                   # recomputed every `every` steps (1: every step)
    activations: str             # "batch": the step's own forward pass; "train": the training set at the
                                 # current weights; "refused": the same, replaying the step the guard refused
    examples: int                # how many examples the activation statistics cover
    grad_norm: float | None      # whole-network gradient norm before clipping (None before the first step)
    clipped: bool
    layers: list = field(default_factory=list)
    warnings: list = field(default_factory=list)
    halted: dict | None = None   # the guard's NonFinite record while training is stopped

    @property
    def ok(self) -> bool:
        return not any(w.severity in ("error", "warning") for w in self.warnings)

    def worst(self) -> str | None:
        """The most serious severity present, or None when there is nothing to say."""
        for s in SEVERITIES:
            if any(w.severity == s for w in self.warnings):
                return s
        return None

    def layer(self, l) -> LayerReport:
        return self.layers[l - 1]

    def to_dict(self) -> dict:
        return {"step": self.step, "epoch": self.epoch, "every": self.every, "activations": self.activations,
                "examples": self.examples, "grad_norm": _num(self.grad_norm), "clipped": self.clipped,
                "layers": [r.to_dict() for r in self.layers],
                "warnings": [w.to_dict() for w in self.warnings], "halted": self.halted}


def _num(x):
    """JSON has no NaN or inf: they become None."""
    if x is None:
        return None
    x = float(x)
    return x if math.isfinite(x) else None


def _norm(v) -> float:
    """||v|| of a 1-D slice: one dot product (np.linalg.norm costs several calls)."""
    return math.sqrt(float(np.dot(v, v)))


def _norm_safe(v) -> float:
    """||v|| without overflow for huge but finite entries (inf only if an entry is)."""
    n = _norm(v)
    if math.isfinite(n) or not np.isfinite(v).all():
        return n
    s = float(np.abs(v).max())
    return s * _norm(v / s)


# ----- the decisions on arrays (every one reads THRESHOLDS) ---------------------------------

def saturated_count(activation, A) -> int:
    """How many outputs A of a sigmoid or tanh layer sit in a flat tail (0 for other activations)."""
    if activation == "sigmoid":
        t = THRESHOLDS["sigmoid_tail"]
        return int(np.count_nonzero((A < t) | (A > 1.0 - t)))
    if activation == "tanh":
        return int(np.count_nonzero(np.abs(A) > THRESHOLDS["tanh_tail"]))
    return 0


def spread(W) -> float:
    """The largest difference between two units (columns of W, or of [W; b]) in any row:
    0 when every unit has the same weights."""
    return float((W.max(axis=1) - W.min(axis=1)).max()) if W.size else 0.0


def unit_spread(net, outgoing=False) -> float:
    """The largest difference between two units of any hidden layer: their incoming weights
    and bias, and with outgoing=True their outgoing weights too (the symmetry demo's measure)."""
    out = 0.0
    for layer in net.layers[:-1]:
        out = max(out, spread(layer.Wb))
        if outgoing:
            out = max(out, spread(net.layers[layer.index].W.T))
    return out


# ----- measuring -------------------------------------------------------------------------

def _activations(trainer, max_examples, at):
    """(source, Z list, A list, number of examples, forward cache or None)."""
    net, last = trainer.net, trainer.last
    if at == "latest" and last is not None and trainer.batch_size is None and trainer.halted is None:
        cache = last.cache
        Zs = [cache[f"Z{l}"] for l in range(1, net.L + 1)]
        # Hidden outputs live in reusable buffers that a later forward pass (evaluate())
        # overwrites, so recompute them from Z, which is this step's own array.
        As = [layer.act.forward(Z) for layer, Z in zip(net.layers, Zs)]
        return "batch", Zs, As, len(Zs[0]), None
    X = trainer.X[:max_examples]
    source = "refused" if trainer.halted is not None else "train"
    if len(X) == len(trainer.X):
        # The trainer's own [X, 1] and buffers, as evaluate() uses them: no copies.
        cache = {"X": trainer._Xa[:, :-1]}  # the network input: its features, when it has them
        for _ in forward_ops(net, trainer._Xa, net.workspace(len(X)), cache, False):
            pass
    else:
        _, cache = net.forward(X)
    Zs = [cache[f"Z{l}"] for l in range(1, net.L + 1)]
    As = [cache[f"A{l}"] for l in range(1, net.L + 1)]
    return source, Zs, As, len(X), cache


def measure(trainer, every=1, max_examples=4096, at="latest") -> Diagnostics:
    """Diagnostics for the trainer's latest step (see the module docstring).

    at="current" takes the activation statistics (dead, always active, saturated) from
    the training set at the current weights even in full batch, where "latest" reuses
    the latest step's own forward pass (the weights before its update).
    """
    if at not in ("latest", "current"):
        raise ValueError(f"at must be 'latest' or 'current', got {at!r}")
    net = trainer.net
    last = trainer.last
    theta = net.theta
    with np.errstate(all="ignore"):
        source, Zs, As, m, cache = _activations(trainer, max_examples, at)
        if last is None or trainer.halted is not None:
            # Before the first step, or after the guard refused one (the refused cycle may
            # have overwritten the latest cycle's buffers): the gradient at the current
            # weights on the training set. After a refusal this replays the overflow, so
            # the rows show where inf or NaN appears.
            grads = net.backward(cache, trainer.Y[:max_examples], trainer.loss, l2=trainer.l2, l1=trainer.l1)
            g = np.concatenate([np.concatenate([grads[f"dW{la.index}"], grads[f"db{la.index}"]]).ravel()
                                for la in net.layers])
        else:
            g = last.g
        # The latest accepted update (a refused step writes none).
        delta = getattr(last, "delta", None) if last is not None else None
        result = trainer.result
        if last is not None and result is not None and result.ok and result.step == trainer.step_count:
            grad_norm, clipped = result.grad_norm, result.clipped
        else:
            grad_norm, clipped = (_norm_safe(g), False)

        rows = []
        for layer, Z, A in zip(net.layers, Zs, As):
            rows.append(_layer_row(net, layer, Z, A, theta, g, delta))
    out_norm = rows[-1].grad_norm_W
    for r in rows:
        r.grad_ratio = r.grad_norm_W / out_norm if out_norm > 0 and math.isfinite(out_norm) else None
    halted = trainer.halted.to_dict() if trainer.halted is not None else None
    report = Diagnostics(step=trainer.step_count, epoch=trainer.epoch_count, every=max(1, int(every)),
                         activations=source, examples=m, grad_norm=grad_norm,
                         clipped=clipped, layers=rows, halted=halted)
    report.warnings = findings(report, trainer)
    return report


def _layer_row(net, layer, Z, A, theta, g, delta) -> LayerReport:
    n_w = layer.n_in * layer.n_out
    w0, w1, b1 = layer.offset, layer.offset + n_w, layer.offset + layer.Wb.size
    hidden = layer.index < net.L
    name = layer.act.name
    weight_norm = _norm_safe(theta[w0:w1])
    gW, gb = _norm_safe(g[w0:w1]), _norm_safe(g[w1:b1])
    update_ratio = None
    if delta is not None:
        dW = _norm_safe(delta[w0:w1])
        update_ratio = dW / weight_norm if weight_norm > 0 else (None if dW == 0 else math.inf)
    # Mean and spread from two sums (cheaper than A.mean() and A.std(), each a chain of
    # Python-level reductions); the rounding this allows is far below what a warning needs.
    flat = A.reshape(-1)
    n = flat.size
    act_mean = float(flat.sum()) / n
    act_std = math.sqrt(max(float(np.dot(flat, flat)) / n - act_mean * act_mean, 0.0))
    row = LayerReport(layer=layer.index, activation=name, units=layer.n_out, weight_norm=weight_norm,
                      grad_norm_W=gW, grad_norm_b=gb, grad_ratio=None, update_ratio=update_ratio,
                      act_mean=act_mean, act_std=act_std)
    if name in RELU_FAMILY:
        # The output is exactly zero for every example (for LeakyReLU only when Z is 0 itself).
        dead = np.all(A == 0.0, axis=0)
        row.dead = float(dead.mean())
        row.dead_units = [int(i) + 1 for i in np.flatnonzero(dead)]
        row.always_active_units = [int(i) + 1 for i in np.flatnonzero(np.all(Z > 0.0, axis=0))]
    elif name in SQUASHING:
        row.saturated = saturated_count(name, A) / A.size
    if hidden:
        row.unit_spread = spread(layer.Wb)
        if layer.n_out > 1:
            row.identical_units = bool(row.unit_spread < THRESHOLDS["identical"])
    numbers = (weight_norm, gW, gb, act_mean, act_std, update_ratio if update_ratio is not None else 0.0)
    if not all(math.isfinite(x) for x in numbers):
        # A norm can also overflow on huge finite numbers: look at the entries themselves.
        row.nonfinite = not (np.isfinite(theta[w0:b1]).all() and np.isfinite(g[w0:b1]).all()
                             and np.isfinite(Z).all() and np.isfinite(A).all()
                             and (delta is None or np.isfinite(delta[w0:b1]).all()))
    return row


# ----- warnings --------------------------------------------------------------------------

def findings(report: Diagnostics, trainer=None) -> list:
    """The warnings a report raises, most serious first."""
    T = THRESHOLDS
    out = []
    if report.halted is not None and trainer is not None and trainer.halted is not None:
        h = trainer.halted
        out.append(Finding("error", h.layer or None, "halted", h.message))
    L = len(report.layers)
    gn = report.grad_norm
    if gn is not None and math.isfinite(gn) and gn > T["grad_norm"] and not report.clipped:
        out.append(Finding("warning", None, "exploding",
                           f"The gradient's norm is {gn:.3g}, far above normal, and can blow up to inf in a few "
                           f"steps (exploding gradients): lower the learning rate or turn on gradient clipping.",
                           gn, T["grad_norm"]))
    for r in report.layers:
        l = r.layer
        hidden = l < L
        if r.nonfinite:
            if report.halted is not None:
                continue  # the guard's message already says where inf or NaN first appeared
            out.append(Finding("error", l, "nonfinite",
                               f"Layer {l} holds inf or NaN values, so nothing sensible can be learned from here: "
                               f"reset the run with a lower learning rate or gradient clipping."))
            continue
        if r.dead is not None and hidden and r.dead > 0:
            k = len(r.dead_units)
            which = f" (unit{'s' if k > 1 else ''} {', '.join(map(str, r.dead_units))})" if k <= 8 else ""
            if r.dead >= T["dead"]:
                sev = "error" if r.dead == 1.0 else "warning"
                out.append(Finding(sev, l, "dead",
                                   f"{k} of layer {l}'s {r.units} ReLU units{which} output zero for every example, so "
                                   f"they get no gradient and never recover: lower the learning rate, use He "
                                   f"initialization, or switch to leaky_relu.", r.dead, T["dead"]))
            else:
                out.append(Finding("info", l, "dead",
                                   f"{k} of layer {l}'s {r.units} ReLU units{which} output{'s' if k == 1 else ''} zero "
                                   f"for every example and no longer learn{'s' if k == 1 else ''}; a few dead units "
                                   f"are harmless, but if their share grows, lower the learning rate.",
                                   r.dead, T["dead"]))
        if r.saturated is not None and hidden and r.saturated >= T["saturated"]:
            tail = "below 0.01 or above 0.99" if r.activation == "sigmoid" else "beyond +-0.99"
            out.append(Finding("warning", l, "saturated",
                               f"{r.saturated:.0%} of layer {l}'s {r.activation} outputs sit in the flat tails "
                               f"({tail}), where the slope is nearly zero and learning stalls: start from smaller "
                               f"weights (Xavier initialization) or scale the inputs down.",
                               r.saturated, T["saturated"]))
        vanishing = hidden and r.grad_ratio is not None and r.grad_ratio < T["grad_ratio"]
        if vanishing:
            out.append(Finding("warning", l, "vanishing",
                               f"Layer {l} gets only {r.grad_ratio:.1e} of the output layer's gradient, so its weights "
                               f"hardly move (vanishing gradients): use relu with He initialization, or tanh with "
                               f"Xavier, or fewer layers.", r.grad_ratio, T["grad_ratio"]))
        if r.update_ratio is not None and r.update_ratio > T["update_ratio"]:
            out.append(Finding("warning", l, "big_update",
                               f"The last step changed layer {l}'s weights by {r.update_ratio:.0%} of their size, "
                               f"so training jumps around instead of settling: lower the learning rate.",
                               r.update_ratio, T["update_ratio"]))
        if hidden and r.identical_units:
            out.append(Finding("warning", l, "identical",
                               f"All {r.units} units of layer {l} have the same weights, so they compute the same "
                               f"thing and learn as one unit: initialize the weights randomly, not with zeros.",
                               None, T["identical"]))
        elif hidden and (r.dead is None or r.dead < 1.0) and r.act_std < T["act_std"]:
            out.append(Finding("warning", l, "weak_signal",
                               f"Layer {l}'s outputs hardly differ from one example to the next (std {r.act_std:.2g}), "
                               f"so the next layer has almost nothing to work with: start from larger weights "
                               f"(Xavier or He initialization).", r.act_std, T["act_std"]))
        size = max(abs(r.act_mean), r.act_std)
        if hidden and size > T["act_size"]:
            out.append(Finding("warning", l, "large_activations",
                               f"Layer {l}'s outputs have grown to about {size:.2g}, a sign that the weights are "
                               f"blowing up: lower the learning rate or turn on gradient clipping.",
                               size, T["act_size"]))
    rank = {s: i for i, s in enumerate(SEVERITIES)}
    out.sort(key=lambda w: rank[w.severity])
    return out


class Monitor:
    """Recomputes diagnostics at most every `every` steps and at most every `interval`
    seconds (each record names its step), so a fast run pays for them at a bounded rate.

    update(trainer) recomputes when both limits have passed, and at once when there is no
    record yet, the run went back (reset, rewind) or the guard stopped or resumed it.
    """

    def __init__(self, every=1, max_examples=4096, interval=0.0, clock=time.monotonic):  # clock: for tests
        self.every = max(1, int(every))
        self.interval = max(0.0, float(interval))
        self.max_examples = max_examples
        self.clock = clock
        self.latest: Diagnostics | None = None
        self._at = -math.inf  # the clock when `latest` was measured

    def due(self, trainer) -> bool:
        d = self.latest
        if d is None or trainer.step_count < d.step:
            return True
        if (trainer.halted is not None) != (d.halted is not None):
            return True
        if trainer.step_count - d.step < self.every:
            return False
        return self.interval == 0.0 or self.clock() - self._at >= self.interval

    def update(self, trainer, force=False) -> Diagnostics:
        if force or self.due(trainer):
            self.latest = measure(trainer, every=self.every, max_examples=self.max_examples)
            self._at = self.clock()
        return self.latest


def compute(trainer) -> dict:
    """measure(trainer) as a JSON-ready dict (no NaN or inf; the `diagnostics` of `netstep train --json`)."""
    return measure(trainer).to_dict()


# ----- what lessons and demos read: facts of a report, decided above -----------------------

def _hidden(report):
    return report.layers[:-1]


def dead_units(report) -> dict:
    """Hidden ReLU-family layer -> the 1-based numbers of its dead units."""
    return {r.layer: list(r.dead_units) for r in _hidden(report) if r.dead is not None}


def dead_count(report) -> tuple[int, int]:
    """(dead units, all units) over the hidden ReLU-family layers."""
    rows = [r for r in _hidden(report) if r.dead is not None]
    return sum(len(r.dead_units) for r in rows), sum(r.units for r in rows)


def always_active_units(report) -> dict:
    """Hidden ReLU-family layer -> the 1-based numbers of its units with Z > 0 on every example."""
    return {r.layer: list(r.always_active_units) for r in _hidden(report) if r.dead is not None}


def saturated_fraction(report) -> float | None:
    """The share of every sigmoid and tanh hidden output in a flat tail (None without such layers)."""
    rows = [r for r in _hidden(report) if r.saturated is not None]
    units = sum(r.units for r in rows)
    if not units:
        return None
    # Each row's share is of m x units outputs, with the same m for every layer.
    return sum(r.saturated * r.units for r in rows) / units


def hidden_unit_spread(report) -> float:
    """The largest unit_spread of any hidden layer (0 without hidden layers)."""
    return max((r.unit_spread for r in _hidden(report) if r.unit_spread is not None), default=0.0)


def all_identical(report) -> bool:
    """Whether, in every hidden layer, every unit has the same incoming weights and bias."""
    return hidden_unit_spread(report) < THRESHOLDS["identical"]


def gradient_ratio(report, layer=1) -> float | None:
    """||dW_layer|| / ||dW_L|| of the latest step (None when the output layer got no gradient)."""
    return report.layers[layer - 1].grad_ratio


def exploding(report) -> bool:
    """Whether the whole gradient's norm is above THRESHOLDS["grad_norm"] (and was not clipped)."""
    return any(w.code == "exploding" for w in report.warnings)


def vanishing_layers(report) -> list:
    """The hidden layers whose gradient is below THRESHOLDS["grad_ratio"] of the output layer's."""
    return [w.layer for w in report.warnings if w.code == "vanishing"]
