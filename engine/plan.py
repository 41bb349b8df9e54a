"""The trainer's hot path at one batch size: every buffer, view and bound method looked
up once, so a step makes only the NumPy calls its arithmetic needs.

A small network's step is NumPy call overhead and little else (about 1 us a call), so
Trainer.step calls `cycle`, a function written for this network (Plan._compile, with
exec: its text is `source`): the same products and activations as engine/network.py's
forward_ops/backward_ops, call for call, in their cheapest forms (ndarray.dot with a
positional out=, results written into reused buffers, constants as 0-d arrays), with no
per-layer loop, tuple unpacking or function frame left. tests/engine/test_stepping.py
and test_plan_cycle.py check that both ways leave bit-identical weights.

A Plan is also the record of the latest cycle (the interface of `Cycle`): Z and A per
layer, the flat gradient g (scaled on first read: see `g`) and the update delta of the
step just taken. Z and the backward pass's dA live in buffers the next step reuses; the
output A is fresh every step, as StepResult keeps it.
"""

from __future__ import annotations

import math

import numpy as np

from .activations import _CONSTANTS, ReLU, Sigmoid, vdot
from .losses import MSE
from .network import l2_penalty


def bound_forward(act, Z):
    """act.forward for this layer's Z buffer, its per-call lookups (the dtype's constants,
    the size test) done once: the same ufunc calls on the same operands, so the same
    numbers. At XOR's size these lookups are a few percent of a step."""
    k = _CONSTANTS.get(Z.dtype)
    if k is None:
        return act.forward
    zero, maximum, negative, logaddexp, exp = k.zero, np.maximum, np.negative, np.logaddexp, np.exp
    if type(act) is ReLU and Z.size <= 256:  # ReLU.forward's small-Z branch
        return lambda Z, out: maximum(Z, zero, out=out)
    if type(act) is Sigmoid:
        def sigmoid(Z, out):  # Sigmoid.forward: exp(-softplus(-Z))
            t = negative(Z, out)
            logaddexp(zero, t, t)
            negative(t, t)
            return exp(t, t)
        return sigmoid
    return act.forward


def bound_backward(act, Z):
    """act.backward for this layer's Z buffer, lookups done once (as bound_forward)."""
    k = _CONSTANTS.get(Z.dtype)
    if k is not None and type(act) is ReLU and Z.size <= 256:  # ReLU.backward's small-Z branch
        zero, multiply, heaviside = k.zero, np.multiply, np.heaviside
        return lambda Z, A, dA, out: multiply(dA, heaviside(Z, zero), out=out)
    return act.backward


def bound_loss(loss, out_act, Z):
    """loss.value_and_dZ(Z, A, Y, out_act, L) as f(A, Y), lookups done once, where that
    pays (MSE through a sigmoid, the course's XOR net); None: call loss.value_and_dZ."""
    k = _CONSTANTS.get(Z.dtype)
    if k is None or type(loss) is not MSE or type(out_act) is not Sigmoid:
        return None
    one, subtract, multiply = k.one, np.subtract, np.multiply

    def mse_sigmoid(A, Y):  # MSE.value_and_dZ, then Sigmoid.backward(Z, A, d): the same calls
        d = subtract(A, Y)
        s = subtract(one, A)
        multiply(s, A, s)
        multiply(s, d, s)
        return 0.5 * float(vdot(d, d)) / len(Y), s
    return mse_sigmoid


class Cycle:
    """The arrays of a recorded cycle: cache (Z1, A1, ...), flat gradient g, update delta, targets Y."""

    def __init__(self, cache, g, delta, Y):
        self.cache, self.g, self.delta, self.Y = cache, g, delta, Y


def _forward_lines(l, act, Z, out):
    """Source lines for A{l} = g(Z{l}) into `out` (a buffer's name, or "None" for a fresh
    array): the ufunc calls of bound_forward(act, Z), written out where it inlines them."""
    k = _CONSTANTS.get(Z.dtype)
    if k is not None and type(act) is ReLU and Z.size <= 256:
        return [f"A{l} = maximum(Z{l}, zero, out={out})"]
    if k is not None and type(act) is Sigmoid:
        first = f"A{l} = negative(Z{l})" if out == "None" else f"A{l} = negative(Z{l}, {out})"
        return [first, f"logaddexp(zero, A{l}, A{l})", f"negative(A{l}, A{l})", f"exp(A{l}, A{l})"]
    return [f"A{l} = forward{l}(Z{l}, {out})"]


def _backward_lines(l, act, Z):
    """Source lines for dZ{l} = dA{l} * g'(Z{l}), written into dA{l}: bound_backward's calls."""
    k = _CONSTANTS.get(Z.dtype)
    if k is not None and type(act) is ReLU and Z.size <= 256:
        return [f"dZ = multiply(dA{l}, heaviside(Z{l}, zero), dA{l})"]
    return [f"dZ = backward{l}(Z{l}, A{l}, dA{l}, dA{l})"]


class Plan:
    """Buffers, views and bound methods for the hot path at batch size m (see the module docstring)."""

    def __init__(self, net, ws, g, m, loss=None):
        L = net.L
        dtype = net.dtype
        layers = net.layers
        self.L = L
        self.Z = [np.empty((m, layer.n_out), dtype=dtype) for layer in layers]
        self.A = [ws.A[i + 1] for i in range(L - 1)] + [None]
        self.out_act = layers[-1].act
        G = [g[layer.offset:layer.offset + layer.Wb.size].reshape(layer.Wb.shape) for layer in layers]
        self.weight_grads = [(Gl[:layer.n_in], layer.W) for Gl, layer in zip(G, layers)]  # (dW rows, W): L2
        self.inv_m = np.array(1.0 / m, dtype=dtype)  # a 0-d array: cheaper in a ufunc than a Python float
        self.inv_m_float = 1.0 / m  # the record path's 1/m (engine/network.py backward_ops), for the same numbers
        self._g = g
        self.g_scale = 1.0  # what _g still needs multiplying by to be the gradient (see g)
        self.Xa = self.XaT = None  # the latest batch's [X, 1] and its transpose (reused in full batch)
        self.Y = self.delta = None
        self.source, self.cycle = self._compile(net, ws, G, m, loss)

    def _compile(self, net, ws, G, m, loss):
        """(source, function) of cycle(Xa, XaT, Y, l2) -> (loss value, output A): the forward
        pass, the loss (plus the L2 term) and, when that is finite, the backward pass into the
        flat gradient (as m dL/dtheta), written out line by line for these layers.

        Straight-line code, every array and constant bound once: the same calls as
        engine/network.py's forward_ops/backward_ops (through bound_forward, bound_backward
        and bound_loss, whose calls it writes out where they inline), without the per-layer
        loop, tuple unpacking and function frames that cost a small network ~10% of a step."""
        L = self.L
        k = _CONSTANTS.get(net.dtype)
        names = {"maximum": np.maximum, "negative": np.negative, "logaddexp": np.logaddexp, "exp": np.exp,
                 "subtract": np.subtract, "multiply": np.multiply, "heaviside": np.heaviside, "vdot": vdot,
                 "isfinite": math.isfinite, "l2_penalty": l2_penalty, "net": net, "m": m,
                 "zero": None if k is None else k.zero, "one": None if k is None else k.one}
        lines = []
        for i, layer in enumerate(net.layers):
            l = i + 1
            names[f"Wb{l}"], names[f"Z{l}"] = layer.Wb, self.Z[i]
            if l == 1:
                lines.append(f"Xa.dot(Wb1, Z1)")
            else:  # the bound method of a fixed buffer: one lookup fewer per call
                names[f"A{l - 1}a_dot"] = ws.Aa[l - 1].dot
                lines.append(f"A{l - 1}a_dot(Wb{l}, Z{l})")
            names[f"forward{l}"] = bound_forward(layer.act, self.Z[i])
            if l < L:
                names[f"A{l}_out"], names[f"A{l}a"] = ws.A[l], ws.Aa[l]  # A{l}_out: a view inside A{l}a
                lines += _forward_lines(l, layer.act, self.Z[i], f"A{l}_out")
            else:
                lines += _forward_lines(l, layer.act, self.Z[i], "None")
        out_act = net.layers[-1].act
        if bound_loss(loss, out_act, self.Z[-1]) is not None:  # MSE through a sigmoid: its calls, written out
            lines += [f"d = subtract(A{L}, Y)", f"dZ = subtract(one, A{L})", f"multiply(dZ, A{L}, dZ)",
                      "multiply(dZ, d, dZ)", "value = 0.5 * float(vdot(d, d)) / m"]
        else:
            names["value_and_dZ"], names["out_act"] = loss.value_and_dZ, out_act
            lines.append(f"value, dZ = value_and_dZ(Z{L}, A{L}, Y, out_act, {L})")
        lines += ["if l2:", "    value += l2_penalty(net, l2, m)",
                  "if not isfinite(value):", f"    return value, A{L}"]
        for i in range(L - 1, -1, -1):
            l = i + 1
            names[f"G{l}"] = G[i]
            if l == 1:
                lines.append("XaT.dot(dZ, G1)")
                continue
            layer, below = net.layers[i], net.layers[i - 1]
            names[f"A{l - 1}aT_dot"], names[f"W{l}T"] = ws.Aa[l - 1].T.dot, layer.W.T
            names[f"dA{l - 1}"] = np.empty((m, below.n_out), dtype=net.dtype)
            names[f"backward{l - 1}"] = bound_backward(below.act, self.Z[i - 1])
            lines += [f"A{l - 1}aT_dot(dZ, G{l})", f"dZ.dot(W{l}T, dA{l - 1})"]
            lines += _backward_lines(l - 1, below.act, self.Z[i - 1])
        lines.append(f"return value, A{L}")
        source = "def cycle(Xa, XaT, Y, l2):\n" + "".join(f"    {line}\n" for line in lines)
        exec(compile(source, f"<netstep plan {net.sizes} m={m}>", "exec"), names)  # noqa: S102
        return source, names["cycle"]

    @property
    def g(self):
        """The latest step's flat gradient. The step may leave it as the batch's sum (m g,
        g_scale 1/m: plain SGD folds the 1/m into its step), so it is scaled on first read:
        a run nobody looks at never pays for it."""
        if self.g_scale != 1.0:
            self._g *= self.g_scale
            self.g_scale = 1.0
        return self._g

    @property
    def cache(self):
        out = {}
        for i, (Z, A) in enumerate(zip(self.Z, self.A), start=1):
            out[f"Z{i}"], out[f"A{i}"] = Z, A
        return out
