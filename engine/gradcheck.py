"""Gradient checking: the backward pass against centred differences, in float64.

For each checked entry w of each parameter tensor,

    numeric = (L(w + h) - L(w - h)) / 2h
    error   = |analytic - numeric| / max(|analytic|, |numeric|, tiny)

and a tensor's error is the largest over its checked entries. Small tensors are
checked entry by entry; large ones on a seeded sample of entries (never fewer than
`max_entries`, never skipping a tensor).

ReLU-family units have a kink at Z = 0 where the derivative jumps. A probe whose
w +- h moves some pre-activation Z across 0 measures a blend of both slopes, so it is
reported as a kink (not as a failure, and not hidden): the entry is listed in
`report.kinks` and left out of `errors`. A tensor whose every checked entry is a kink
was not checked at all: its error is None, not 0, and `passed` says nothing about it
(`report.skipped` counts the kink entries of every tensor).

With dropout the loss depends on which units are dropped, so the check fixes one set
of masks (`dropout=(p, masks)`) and uses it in every forward pass it makes: analytic and
numeric then differentiate the same function. L1's |w| has a kink at w = 0: a probe
that moves a weight across 0 is reported as a kink too, and retried with a tiny step.

The threshold is 1e-7, stricter than the course's 1e-5 (THRESHOLD_NOTE says why).
"""

from __future__ import annotations

import math

import numpy as np

from .losses import get as get_loss
from .network import Workspace, augment, dropout_mask, forward_ops, l1_penalty, l2_penalty

THRESHOLD = 1e-7
COURSE_THRESHOLD = 1e-5
THRESHOLD_NOTE = ("threshold 1e-7, stricter than the course's 1e-5: the check runs in float64 with a "
                  "fourth-order difference, so a correct gradient agrees to about 1e-9, and an error "
                  "between 1e-7 and 1e-5 already means a small bug")


class Entry:
    __slots__ = ("param", "index", "analytic", "numeric", "error", "kink")

    def __init__(self, param, index, analytic, numeric, error, kink):
        self.param, self.index, self.analytic, self.numeric = param, index, analytic, numeric
        self.error, self.kink = error, kink

    def to_dict(self):
        return {"param": self.param, "index": list(self.index), "analytic": self.analytic,
                "numeric": self.numeric, "error": self.error, "kink": self.kink}


class GradcheckReport:
    def __init__(self, errors, entries, kinks, threshold, sampled, h):
        self.errors = errors          # param name -> max relative error over its compared (kink-free)
                                      # entries; None when every entry sat on a kink (not checked)
        self.entries = entries        # every probed Entry, in parameter order
        self.kinks = kinks            # param name -> list of indices whose probe crossed a kink
        self.threshold = threshold
        self.sampled = sampled        # param name -> (probed, total)
        self.h = h

    @property
    def skipped(self) -> dict:
        """param name -> how many probed entries were left out because they sit on a kink."""
        return {name: len(v) for name, v in self.kinks.items()}

    @property
    def compared(self) -> dict:
        """param name -> how many entries were really compared (probed minus kinks)."""
        return {name: self.sampled[name][0] - len(self.kinks[name]) for name in self.sampled}

    @property
    def unchecked(self) -> list:
        """Parameters with no compared entry at all (error None)."""
        return [name for name, e in self.errors.items() if e is None]

    @property
    def worst(self) -> float:
        """The largest error over every compared entry (0.0 when nothing was compared)."""
        return max((e for e in self.errors.values() if e is not None), default=0.0)

    @property
    def passed(self) -> bool:
        """Every compared entry is below the threshold (unchecked parameters do not count)."""
        return all(e < self.threshold for e in self.errors.values() if e is not None)

    @property
    def failing(self):
        return [name for name, e in self.errors.items() if e is not None and not e < self.threshold]

    def to_dict(self):
        return {"errors": self.errors, "passed": self.passed, "threshold": self.threshold,
                "course_threshold": COURSE_THRESHOLD, "threshold_note": THRESHOLD_NOTE,
                "kinks": {k: [list(i) for i in v] for k, v in self.kinks.items() if v},
                "skipped": self.skipped, "unchecked": self.unchecked,
                "checked": {k: v[0] for k, v in self.sampled.items()}, "compared": self.compared,
                "total": {k: v[1] for k, v in self.sampled.items()}}

    def __repr__(self):
        return f"<GradcheckReport passed={self.passed} errors={self.errors}>"


def _forward(net, X, dropout):
    """The forward cache for raw inputs X, with the fixed dropout masks when given."""
    if dropout is None:
        return net.forward(X)[1]
    Xin = net.inputs(X)
    cache = {"X": Xin}
    for _ in forward_ops(net, augment(Xin, net.dtype), Workspace(net, len(Xin)), cache, False, dropout):
        pass
    return cache


def _probe(net, X, Y, loss, l2, l1=0.0, dropout=None):
    """Loss at the current weights and the signs of every ReLU-family pre-activation."""
    cache = _forward(net, X, dropout)
    out = net.layers[-1]
    value = loss.value(cache[f"Z{net.L}"], cache[f"A{net.L}"], Y, out.act)
    if l2:
        value += l2_penalty(net, l2, len(X))
    if l1:
        value += l1_penalty(net, l1, len(X))
    pattern = [cache[f"Z{layer.index}"] > 0 for layer in net.layers if layer.act.kinked]
    return value, pattern


def _same(p, q):
    return all(np.array_equal(a, b) for a, b in zip(p, q))


def _difference(net, P, idx, X, Y, loss, l2, offsets, weights, h, base_pattern, l1=0.0, dropout=None, weight=False):
    """sum_k weights_k L(w + offsets_k h) / h, and whether any probe crossed a kink."""
    old = P[idx]
    total, crossed = 0.0, False
    if l1 and weight and any(np.sign(old + off * h) != np.sign(old) for off in offsets):
        crossed = True  # the probe moves w across 0, where L1's |w| has its kink
    for off, wt in zip(offsets, weights):
        P[idx] = old + off * h
        value, pattern = _probe(net, X, Y, loss, l2, l1, dropout)
        total += wt * value
        crossed = crossed or not _same(pattern, base_pattern)
    P[idx] = old
    return total / h, crossed


# Fourth-order centred stencil: (L(w-2h) - 8 L(w-h) + 8 L(w+h) - L(w+2h)) / 12h.
# Its truncation error is O(h^4), so h can be large enough (1e-3) that float64
# rounding in the loss (about 1e-16 |L|) stays far below the derivative.
_STENCIL4 = ((-2, -1, 1, 2), (1 / 12, -8 / 12, 8 / 12, -1 / 12))
# The classic two-point centred difference, tried with a tiny h when the wide
# stencil crosses a kink: (L(w+h) - L(w-h)) / 2h.
_STENCIL2 = ((-1, 1), (-0.5, 0.5))


def gradcheck(net, X, Y, loss, l2=0.0, h=1e-3, threshold=THRESHOLD, tiny=1e-12, max_entries=200, seed=0,
              backward=None, h_kink=1e-7, l1=0.0, dropout=None):
    """Check `net`'s analytic gradients on (X, Y). Returns a GradcheckReport.

    Runs on a float64 copy of the network, so the network itself is never touched.
    `backward(net, cache, Y, loss)` can replace the network's own backward pass (the
    gradcheck-bug demo passes the course's flawed one).

    An entry's error is |a - n| / max(|a|, |n|, floor), where floor is the larger of
    `tiny` and the resolution of the difference itself: float64 can only measure a
    derivative to about 4 eps |L| / h, so gradients smaller than that are compared
    against that resolution instead of against themselves.

    Where the loss or a gradient is not finite (a diverged network) nothing can be
    compared: those entries get error inf, so the check fails instead of passing
    on NaN comparisons.

    `l1` adds the L1 term; `dropout=(p, masks)` (masks[l]: hidden layer l's 0/1 mask for
    the rows of X) fixes the dropped units for every pass (see fixed_masks()).
    """
    # Overflow at such weights is expected and reported through the errors, not as warnings.
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        return _gradcheck(net, X, Y, loss, l2, h, threshold, tiny, max_entries, seed, backward, h_kink, l1, dropout)


def fixed_masks(net, m, p, seed=0):
    """(p, masks) for gradcheck(dropout=...): one mask per hidden layer for m rows, drawn
    from a generator seeded with `seed` (never the run's own, so checking leaves the run's
    shuffling and masks where they were). None when p is 0."""
    if not p:
        return None
    rng = np.random.default_rng(seed)
    return p, {layer.index: dropout_mask(rng, m, layer.n_out, p, np.float64) for layer in net.layers[:-1]}


def check_trainer(trainer, X=None, Y=None, **kwargs):
    """gradcheck() of a trainer's network on (X, Y) (default: its training data) with the
    run's L2, L1 and, when it drops units, dropout masks fixed from the run's seed."""
    X = trainer.X if X is None else X
    Y = trainer.Y if Y is None else Y
    masks = fixed_masks(trainer.net, len(X), getattr(trainer, "dropout", 0.0), trainer.seed)
    return gradcheck(trainer.net, X, Y, trainer.loss, l2=trainer.l2, l1=getattr(trainer, "l1", 0.0),
                     dropout=masks, **kwargs)


def _gradcheck(net, X, Y, loss, l2, h, threshold, tiny, max_entries, seed, backward, h_kink, l1=0.0, dropout=None):
    loss = get_loss(loss)
    net64 = net.copy(dtype=np.float64)
    X = np.asarray(X, dtype=np.float64)
    Y = np.asarray(Y, dtype=np.float64)
    if Y.ndim == 1:
        Y = Y.reshape(-1, 1)
    cache = _forward(net64, X, dropout)
    if backward is None:
        extra = {"l1": l1} if l1 else {}
        if dropout is not None:
            extra["dropout"] = dropout
        grads = net64.backward(cache, Y, loss, l2=l2, **extra)
    else:
        grads = backward(net64, cache, Y, loss)
    L0, base_pattern = _probe(net64, X, Y, loss, l2, l1, dropout)
    eps = np.finfo(np.float64).eps
    rng = np.random.default_rng(seed)

    errors, entries, kinks, sampled = {}, [], {}, {}
    for name, P in net64.params.items():
        G = grads["d" + name]
        total = P.size
        if total <= max_entries:
            flat_idx = np.arange(total)
        else:
            flat_idx = np.sort(rng.choice(total, size=max_entries, replace=False))
        sampled[name] = (len(flat_idx), total)
        kinks[name] = []
        worst, compared = 0.0, 0
        for k in flat_idx:
            idx = np.unravel_index(int(k), P.shape)
            weight = name.startswith("W")
            numeric, crossed = _difference(net64, P, idx, X, Y, loss, l2, *_STENCIL4, h, base_pattern, l1, dropout,
                                           weight)
            step = h
            if crossed:
                numeric, crossed = _difference(net64, P, idx, X, Y, loss, l2, *_STENCIL2, h_kink, base_pattern,
                                               l1, dropout, weight)
                step = h_kink
            resolution = 4 * eps * max(abs(L0), tiny) / step
            floor = max(tiny, 10 * resolution / threshold)
            analytic = float(G[idx])
            err = abs(analytic - numeric) / max(abs(analytic), abs(numeric), floor)
            if not (math.isfinite(L0) and math.isfinite(analytic) and math.isfinite(numeric)):
                err, crossed = math.inf, False  # a NaN "crossing" must not pass for a kink
            where = tuple(int(i) for i in idx)
            entries.append(Entry(name, where, analytic, numeric, err, crossed))
            if crossed:
                kinks[name].append(where)
            else:
                worst, compared = max(worst, err), compared + 1
        errors[name] = float(worst) if compared else None
    return GradcheckReport(errors, entries, kinks, threshold, sampled, h)
