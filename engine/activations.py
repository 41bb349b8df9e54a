"""Activation functions g(Z) and how a gradient flows back through them.

Each activation has `forward(Z, out=None) -> A` and `backward(Z, A, dA, out=None) -> dZ`,
the chain rule through g: dZ = dA * g'(Z) for the elementwise ones, and the
Jacobian-vector product for softmax. All are stable at inputs of +-1000.
backward may write its result into `out` (which may be dA itself) or ignore it;
either way it computes the same numbers.

Constants go to the ufuncs as 0-d arrays of the input's dtype: NumPy takes those
faster than Python floats (a small network's step is mostly call overhead), and
float32 arithmetic stays float32 exactly as with a Python float.
"""

from __future__ import annotations

import numpy as np

LEAKY_SLOPE = 0.01

try:  # np.vdot's C function without its Python dispatch wrapper (~1 us a call: ~5% of a small step)
    from numpy._core._multiarray_umath import vdot
except ImportError:  # another NumPy layout: the public function computes the same
    vdot = np.vdot


class _Constants:
    def __init__(self, dtype):
        self.zero = np.zeros((), dtype=dtype)
        self.one = np.ones((), dtype=dtype)
        self.slope = np.array(LEAKY_SLOPE, dtype=dtype)


class _PyConstants:  # for any other input (ints, lists): Python floats, as NumPy would promote them
    zero, one, slope = 0.0, 1.0, LEAKY_SLOPE


_CONSTANTS = {np.dtype(t): _Constants(t) for t in (np.float64, np.float32)}


def _k(X):
    """The constants matching X's dtype (hot paths inline this as _CONSTANTS.get(..., _PyConstants))."""
    return _CONSTANTS.get(getattr(X, "dtype", None), _PyConstants)


def row_max(Z):
    """The largest entry of each row of a 2-D Z, as an (m, 1) column.

    NumPy reduces short rows slowly; for a tall, narrow Z (a softmax over a few
    classes) reducing a transposed copy down its columns is several times faster.
    A max is exact, so both ways give the same numbers.
    """
    if Z.shape[1] <= 32 and Z.shape[0] >= 64:
        return Z.T.copy().max(axis=0)[:, None]
    return Z.max(axis=1, keepdims=True)


_FILLED = {}  # (value, shape, dtype) -> a read-only constant array


def _filled(value, shape, dtype):
    key = (value, shape, dtype)
    a = _FILLED.get(key)
    if a is None:
        if len(_FILLED) >= 32:  # a handful of batch sizes in practice; never grow without bound
            _FILLED.clear()
        a = np.full(shape, value, dtype=dtype)
        a.flags.writeable = False
        _FILLED[key] = a
    return a


def row_sum(Z):
    """The sum of each row of a 2-D Z, as an (m, 1) column.

    For a tall, narrow Z a product with a column of ones is several times faster
    than NumPy's reduction over short rows.
    """
    if Z.shape[1] <= 32 and Z.shape[0] >= 64 and Z.dtype in _CONSTANTS:
        return Z.dot(_filled(1, (Z.shape[1], 1), Z.dtype))
    return Z.sum(axis=1, keepdims=True)


class Activation:
    name = ""
    formula = ""
    derivative = ""
    kinked = False  # has a point where the derivative jumps (gradcheck must watch it)

    def forward(self, Z, out=None):
        raise NotImplementedError

    def backward(self, Z, A, dA, out=None):
        raise NotImplementedError

    def __repr__(self):
        return f"<activation {self.name}>"


class ReLU(Activation):
    name = "relu"
    formula = "max(0, Z)"
    derivative = "1 where Z > 0, else 0"
    kinked = True

    def forward(self, Z, out=None):
        # Against a zeros array NumPy's maximum runs its vector loop, about 3x faster
        # than against a broadcast 0-d zero on large Z; the numbers are the same.
        if Z.size > 256 and Z.dtype in _CONSTANTS:
            return np.maximum(Z, _filled(0, Z.shape, Z.dtype), out=out)
        return np.maximum(Z, _CONSTANTS.get(getattr(Z, "dtype", None), _PyConstants).zero, out=out)

    def backward(self, Z, A, dA, out=None):
        # dA times a 0/1 mask of the active units (Z > 0). For a few entries a float mask
        # (heaviside) is cheaper: multiplying by a bool mask pays for a cast setup that
        # costs more than the arithmetic. For many entries the bool mask is faster.
        # Both give the same numbers (a NaN in Z, which never reaches a step's backward
        # because the loss is NaN first, would give 0 via the bool mask, NaN via heaviside).
        zero = _CONSTANTS.get(getattr(Z, "dtype", None), _PyConstants).zero
        if Z.size <= 256:
            return np.multiply(dA, np.heaviside(Z, zero), out=out)
        return np.multiply(dA, np.greater(Z, zero), out=out)


class LeakyReLU(Activation):
    name = "leaky_relu"
    formula = f"max({LEAKY_SLOPE} Z, Z)"
    derivative = f"1 where Z > 0, else {LEAKY_SLOPE}"
    kinked = True

    def forward(self, Z, out=None):
        return np.maximum(Z, _k(Z).slope * Z, out=out)

    def backward(self, Z, A, dA, out=None):
        k = _k(Z)
        return np.where(np.greater(Z, k.zero), dA, k.slope * dA)


class Sigmoid(Activation):
    name = "sigmoid"
    formula = "1 / (1 + e^-Z)"
    derivative = "A (1 - A)"

    def forward(self, Z, out=None):
        # exp(-softplus(-Z)): never overflows, and keeps full relative precision
        # for tiny outputs (1 / (1 + e^-Z) overflows at Z < -709).
        t = np.negative(Z, out)
        np.logaddexp(_CONSTANTS.get(getattr(Z, "dtype", None), _PyConstants).zero, t, t)
        np.negative(t, t)
        return np.exp(t, t)

    def backward(self, Z, A, dA, out=None):
        s = np.subtract(_CONSTANTS.get(getattr(A, "dtype", None), _PyConstants).one, A)
        np.multiply(s, A, s)
        np.multiply(s, dA, s)
        return s


class Tanh(Activation):
    name = "tanh"
    formula = "tanh(Z)"
    derivative = "1 - A^2"

    def forward(self, Z, out=None):
        return np.tanh(Z, out)

    def backward(self, Z, A, dA, out=None):
        s = np.multiply(A, A)
        np.subtract(_k(A).one, s, s)
        np.multiply(s, dA, s)
        return s


class Linear(Activation):
    name = "linear"
    formula = "Z"
    derivative = "1"

    def forward(self, Z, out=None):
        if out is None:
            return Z.copy()
        np.copyto(out, Z)
        return out

    def backward(self, Z, A, dA, out=None):
        return dA


class Softmax(Activation):
    name = "softmax"
    formula = "e^Z / sum(e^Z) per row"
    derivative = "A (dA - sum(dA A)) per row"

    def forward(self, Z, out=None):
        # Shifting by the row max leaves the result unchanged and keeps exp() <= 1.
        t = np.subtract(Z, row_max(Z), out)
        np.exp(t, out=t)
        t /= row_sum(t)
        return t

    def backward(self, Z, A, dA, out=None):
        # Jacobian-vector product of softmax: dZ_k = A_k (dA_k - sum_j dA_j A_j).
        return A * (dA - np.sum(dA * A, axis=1, keepdims=True))


ACTIVATIONS = {cls.name: cls() for cls in (ReLU, LeakyReLU, Sigmoid, Tanh, Linear, Softmax)}
HIDDEN = ("relu", "leaky_relu", "tanh", "sigmoid", "linear")
OUTPUT = ("sigmoid", "softmax", "linear", "tanh")


def get(name: str) -> Activation:
    try:
        return ACTIVATIONS[name]
    except KeyError:
        raise ValueError(f"unknown activation {name!r}; allowed: {', '.join(ACTIVATIONS)}") from None
