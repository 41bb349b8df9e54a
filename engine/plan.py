"""The trainer's hot path at one batch size: every buffer, view and bound method looked
up once, so a step makes only the NumPy calls its arithmetic needs.

A small network's step is NumPy call overhead and little else (about 1 us a call), so
Trainer.step walks `fwd` and `bwd` (one named tuple per layer) with the same
products as engine/network.py's forward_ops/backward_ops, call for call, in their
cheapest forms: ndarray.dot with a positional out=, results written into reused
buffers, constants as 0-d arrays. tests/engine/test_stepping.py checks that both ways
leave bit-identical weights.

A Plan is also the record of the latest cycle (the interface of `Cycle`): Z and A per
layer, the flat gradient g and the update delta of the step just taken. Z and the
backward pass's dA live in buffers the next step reuses; the output A is fresh every
step, as StepResult keeps it.
"""

from __future__ import annotations

from typing import Callable, NamedTuple

import numpy as np

from .activations import _CONSTANTS, ReLU, Sigmoid, vdot
from .losses import MSE


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


class ForwardLayer(NamedTuple):
    """One layer of the forward pass: Z = [A_prev, 1] [W; b], then A = g(Z)."""

    Wb: np.ndarray               # [W; b], a view into theta
    Z: np.ndarray                # buffer for Z
    g: Callable                  # the activation's forward(Z, out)
    A: np.ndarray | None         # out= buffer for a hidden A (a view inside Aa); None at the output: fresh
    Aa: np.ndarray | None        # [A, 1], the next layer's input (None at the output)


class BackwardLayer(NamedTuple):
    """One layer of the backward pass, top down: G = [A_prev, 1]^T dZ, then dZ_below = dZ W^T * g'(Z_below)."""

    AaT: np.ndarray | None       # [A_prev, 1]^T (None for layer 1: the batch's [X, 1]^T)
    G: np.ndarray                # this layer's block of the flat gradient: m [dW; db]
    WT: np.ndarray | None        # W^T (None for layer 1: nothing below)
    dA: np.ndarray | None        # buffer for dA of the layer below
    g_backward: Callable | None  # the layer below's activation backward(Z, A, dA, out)
    Z_below: np.ndarray | None
    A_below: np.ndarray | None


class WeightGrad(NamedTuple):
    """A layer's dW rows of the flat gradient beside its W (for the L2 term)."""

    GW: np.ndarray
    W: np.ndarray


class Cycle:
    """The arrays of a recorded cycle: cache (Z1, A1, ...), flat gradient g, update delta, targets Y."""

    def __init__(self, cache, g, delta, Y):
        self.cache, self.g, self.delta, self.Y = cache, g, delta, Y


class Plan:
    """Buffers, views and bound methods for the hot path at batch size m (see the module docstring)."""

    def __init__(self, net, ws, g, m, loss=None):
        L = net.L
        dtype = net.dtype
        layers = net.layers
        self.L = L
        self.Z = [np.empty((m, layer.n_out), dtype=dtype) for layer in layers]
        self.A = [ws.A[i + 1] for i in range(L - 1)] + [None]
        self.fwd = [ForwardLayer(layer.Wb, self.Z[i], bound_forward(layer.act, self.Z[i]), ws.A[i + 1] if i < L - 1 else None,
                                 ws.Aa[i + 1] if i < L - 1 else None) for i, layer in enumerate(layers)]
        self.out_act = layers[-1].act
        self.loss_dZ = bound_loss(loss, self.out_act, self.Z[-1])
        G = [g[layer.offset:layer.offset + layer.Wb.size].reshape(layer.Wb.shape) for layer in layers]
        self.bwd = []
        for i in range(L - 1, -1, -1):
            if i:
                below = layers[i - 1]
                self.bwd.append(BackwardLayer(ws.Aa[i].T, G[i], layers[i].W.T, np.empty((m, below.n_out), dtype=dtype),
                                              bound_backward(below.act, self.Z[i - 1]), self.Z[i - 1], ws.A[i]))
            else:
                self.bwd.append(BackwardLayer(None, G[0], None, None, None, None, None))
        self.weight_grads = [WeightGrad(Gl[:layer.n_in], layer.W) for Gl, layer in zip(G, layers)]
        self.inv_m = np.array(1.0 / m, dtype=dtype)  # a 0-d array: cheaper in a ufunc than a Python float
        self.g = g
        self.Xa = self.XaT = None  # the latest batch's [X, 1] and its transpose (reused in full batch)
        self.Y = self.delta = None

    @property
    def cache(self):
        out = {}
        for i, (Z, A) in enumerate(zip(self.Z, self.A), start=1):
            out[f"Z{i}"], out[f"A{i}"] = Z, A
        return out
