"""Activation functions g(Z) and how a gradient flows back through them.

Each activation has `forward(Z, out=None) -> A` and `backward(Z, A, dA) -> dZ`,
the chain rule through g: dZ = dA * g'(Z) for the elementwise ones, and the
Jacobian-vector product for softmax. All are stable at inputs of +-1000.
"""

from __future__ import annotations

import numpy as np

LEAKY_SLOPE = 0.01


class Activation:
    name = ""
    formula = ""
    derivative = ""
    kinked = False  # has a point where the derivative jumps (gradcheck must watch it)

    def forward(self, Z, out=None):
        raise NotImplementedError

    def backward(self, Z, A, dA):
        raise NotImplementedError

    def __repr__(self):
        return f"<activation {self.name}>"


class ReLU(Activation):
    name = "relu"
    formula = "max(0, Z)"
    derivative = "1 where Z > 0, else 0"
    kinked = True

    def forward(self, Z, out=None):
        return np.maximum(Z, 0.0, out=out)

    def backward(self, Z, A, dA):
        # (Z > 0) is a bool mask; multiplying by it zeroes the gradient of inactive units.
        return np.multiply(dA, Z > 0.0)


class LeakyReLU(Activation):
    name = "leaky_relu"
    formula = f"max({LEAKY_SLOPE} Z, Z)"
    derivative = f"1 where Z > 0, else {LEAKY_SLOPE}"
    kinked = True

    def forward(self, Z, out=None):
        return np.maximum(Z, LEAKY_SLOPE * Z, out=out)

    def backward(self, Z, A, dA):
        return np.where(Z > 0.0, dA, LEAKY_SLOPE * dA)


class Sigmoid(Activation):
    name = "sigmoid"
    formula = "1 / (1 + e^-Z)"
    derivative = "A (1 - A)"

    def forward(self, Z, out=None):
        # exp(-softplus(-Z)): never overflows, and keeps full relative precision
        # for tiny outputs (1 / (1 + e^-Z) overflows at Z < -709).
        t = np.negative(Z, out=out)
        np.logaddexp(0.0, t, out=t)
        np.negative(t, out=t)
        return np.exp(t, out=t)

    def backward(self, Z, A, dA):
        s = np.subtract(1.0, A)
        s *= A
        s *= dA
        return s


class Tanh(Activation):
    name = "tanh"
    formula = "tanh(Z)"
    derivative = "1 - A^2"

    def forward(self, Z, out=None):
        return np.tanh(Z, out=out)

    def backward(self, Z, A, dA):
        s = np.multiply(A, A)
        np.subtract(1.0, s, out=s)
        s *= dA
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

    def backward(self, Z, A, dA):
        return dA


class Softmax(Activation):
    name = "softmax"
    formula = "e^Z / sum(e^Z) per row"
    derivative = "A (dA - sum(dA A)) per row"

    def forward(self, Z, out=None):
        # Shifting by the row max leaves the result unchanged and keeps exp() <= 1.
        t = np.subtract(Z, Z.max(axis=1, keepdims=True), out=out)
        np.exp(t, out=t)
        t /= t.sum(axis=1, keepdims=True)
        return t

    def backward(self, Z, A, dA):
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
