"""The trainer's guard: where a refused cycle first went non-finite.

The Trainer checks a few numbers on every step (the loss, the gradient's squared norm,
the size of the update) and writes nothing when one is not finite. Only then does it
ask this module which quantity went first, by replaying the cycle with every array
recorded (nothing was written, so the replay sees the same weights and numbers), or
by looking at the update entry by entry. The answer is a NonFinite record.
"""

from __future__ import annotations

import math

import numpy as np

from .network import Workspace, backward_ops, forward_ops
from .records import NonFinite


def long_norm(g, clip):
    """||g|| when sum g^2 overflowed although every entry may be finite.

    With clipping on (clip not None), such a gradient can still be used (clipping
    shrinks it to a safe length), so measure it without overflow; otherwise (or with a
    non-finite entry) return None and the step is refused.
    """
    if clip is None or not np.isfinite(g).all():
        return None
    s = float(np.abs(g).max())
    n = s * float(np.linalg.norm(g / s))
    return n if math.isfinite(n) else None


def first_nonfinite(net, Xa, Y, loss, l2, stage, step) -> NonFinite:
    """The first quantity of the cycle on batch (Xa, Y) that is inf or NaN.

    stage is where the trainer saw it: "loss" (the loss value) or "gradient" (its
    squared norm); with every array finite and stage "gradient", only sum g^2 overflowed.
    """
    where = None
    ws = Workspace(net, len(Y))
    replay = {}
    for rec in forward_ops(net, Xa, ws, replay, True):
        if not np.all(np.isfinite(rec[-1])):
            where = rec
            break
    if where is None and stage != "loss":
        g = np.empty_like(net.theta)
        for rec in backward_ops(net, Xa, ws, replay, Y, loss, g, l2, True):
            if not np.all(np.isfinite(rec[-1])):
                where = rec
                break
    kind = "inf or NaN"
    if where is None and stage == "loss":
        phase, layer, name, values = "loss", 0, "L", None
    elif where is None:
        # Every array was finite: only sum g^2 overflowed (see long_norm). Name the
        # layer holding the largest gradient entry.
        phase, name, values, kind = "backward", "gradient norm", None, "inf"
        layer = max(net.layers, key=lambda la: float(np.abs(g[la.offset:la.offset + la.Wb.size]).max())).index
    else:
        phase, layer, name, _, _, _, values = where
    if values is not None:
        kind = "NaN" if np.isnan(np.asarray(values)).any() else "inf"
    return NonFinite(step, phase, layer, name, kind)


def bad_update(net, delta, step) -> NonFinite | None:
    """The first layer whose update, or the weights it would give, is not finite (None: all are)."""
    with np.errstate(over="ignore", invalid="ignore"):
        new = net.theta - delta
    for layer in net.layers:
        span = slice(layer.offset, layer.offset + layer.Wb.size)
        for what, values in (("step", delta[span]), ("new weights", new[span])):
            if not np.isfinite(values).all():
                kind = "NaN" if np.isnan(values).any() else "inf"
                return NonFinite(step, "update", layer.index, f"{what} of W{layer.index}, b{layer.index}", kind)
    return None
