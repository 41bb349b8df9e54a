"""Loss functions, their stable values and their exact gradients.

Conventions (m = rows of Y, sums over examples and output columns):
  mse            L = (1 / 2m) sum (Y_hat - Y)^2          (the course's, with its 1/2)
  bce            L = -(1/m) sum Y log Y_hat + (1 - Y) log(1 - Y_hat)
  cross_entropy  L = -(1/m) sum Y log Y_hat               (one-hot Y, softmax Y_hat)

Backward follows the course's notation: dZ_L is m * dL/dZ_L (the per-example error
signal) and the 1/m appears in dW = (1/m) A^T dZ. `output_grad` returns the steps from
the loss to dZ_L, each (name, equation, array), so the step-through view can show
them. The shortcut dZ = Y_hat - Y is used only where it is the true gradient:
sigmoid + bce and softmax + cross_entropy.
"""

from __future__ import annotations

import numpy as np

from . import activations

_TINY = 1e-300  # keeps log() and division finite at outputs of exactly 0 or 1


def _softplus(Z):
    return np.logaddexp(0.0, Z)


def _softmax_logs(Z):
    """From the logits of a softmax with K >= 2 outputs: s = Z - max, lse, log A and log(1 - A).

    1 - A_k rounds to 0 once A_k is within 1e-16 of 1, so log(1 - A_k) is taken as
    log sum_{j != k} e^{s_j} - lse (the diagonal masked with -inf), which stays exact.
    """
    s = Z - Z.max(axis=1, keepdims=True)
    lse = np.log(np.sum(np.exp(s), axis=1, keepdims=True))
    k = Z.shape[1]
    others = s[:, None, :] + np.where(np.eye(k, dtype=bool), -np.inf, 0.0)  # [i, k, j] = s_ij for j != k
    top = others.max(axis=2, keepdims=True)
    log_others = (top + np.log(np.sum(np.exp(others - top), axis=2, keepdims=True)))[:, :, 0]
    return s, lse, s - lse, log_others - lse


class Loss:
    name = ""
    formula = ""
    outputs = activations.OUTPUT  # output activations this loss is defined for

    def __call__(self, Y_hat, Y) -> float:
        """The loss of predictions Y_hat against targets Y, as a Python float."""
        Y_hat = np.asarray(Y_hat, dtype=float)
        Y = np.asarray(Y, dtype=float)
        if Y_hat.shape != Y.shape:
            raise ValueError(f"Y_hat has shape {Y_hat.shape} but Y has shape {Y.shape}; they must match")
        return self.value(None, Y_hat, Y, None)

    def value(self, Z, A, Y, output) -> float:
        raise NotImplementedError

    def output_grad(self, Z, A, Y, output, layer):
        """Steps from the loss back to dZ_L: a list of (name, equation, array)."""
        dA = self.dA(A, Y)
        steps = [(f"dA{layer}", f"dA{layer} = {self.dA_formula(layer)}", dA)]
        dZ = output.backward(Z, A, dA)
        steps.append((f"dZ{layer}", f"dZ{layer} = dA{layer} * {output.name}'(Z{layer})", dZ))
        return steps

    def dA(self, A, Y):
        raise NotImplementedError

    def value_and_dZ(self, Z, A, Y, output, layer):
        """(value, dZ_L) with the same arithmetic as value() then output_grad()."""
        return self.value(Z, A, Y, output), self.output_grad(Z, A, Y, output, layer)[-1][2]

    def __repr__(self):
        return f"<loss {self.name}>"


class MSE(Loss):
    name = "mse"
    formula = "(1 / 2m) sum (Y_hat - Y)^2"

    def value(self, Z, A, Y, output) -> float:
        d = np.subtract(A, Y)
        return 0.5 * float(activations.vdot(d, d)) / len(Y)

    def dA(self, A, Y):
        return np.subtract(A, Y)

    def value_and_dZ(self, Z, A, Y, output, layer):
        d = np.subtract(A, Y)  # shared by the value and dA, as in value() and dA()
        # np.vdot, not dot: an overflow here is the guard's business, not a warning's.
        return 0.5 * float(activations.vdot(d, d)) / len(Y), output.backward(Z, A, d)

    def dA_formula(self, layer):
        return f"A{layer} - Y"


class BCE(Loss):
    name = "bce"
    formula = "-(1/m) sum Y log Y_hat + (1 - Y) log(1 - Y_hat)"
    outputs = ("sigmoid", "softmax")

    def value(self, Z, A, Y, output) -> float:
        if output is not None and output.name == "sigmoid":
            # From the logits: log sigma(Z) = -softplus(-Z), log(1 - sigma(Z)) = -softplus(Z).
            total = np.sum(_softplus(Z)) - float(activations.vdot(Y, Z))
        elif output is not None and output.name == "softmax" and Z.shape[1] > 1:
            _, _, log_A, log_1mA = _softmax_logs(Z)
            total = -(float(activations.vdot(Y, log_A)) + float(activations.vdot(1.0 - Y, log_1mA)))
        else:
            P = np.clip(A, _TINY, 1.0)
            Q = np.clip(1.0 - A, _TINY, 1.0)
            total = -(float(activations.vdot(Y, np.log(P))) + float(activations.vdot(1.0 - Y, np.log(Q))))
        return float(total) / len(Y)

    def dA(self, A, Y):
        P = np.clip(A, _TINY, 1.0)
        Q = np.clip(1.0 - A, _TINY, 1.0)
        return (1.0 - Y) / Q - Y / P

    def dA_formula(self, layer):
        return f"(1 - Y) / (1 - A{layer}) - Y / A{layer}"

    def output_grad(self, Z, A, Y, output, layer):
        if output.name == "sigmoid":
            return [(f"dZ{layer}", f"dZ{layer} = A{layer} - Y   (sigmoid + BCE: the terms cancel)", np.subtract(A, Y))]
        if output.name == "softmax" and Z.shape[1] > 1:
            # The chain rule through dA = (1 - Y)/(1 - A) - Y/A overflows once A rounds to 0
            # or 1. Worked out per row instead:
            #   dZ_j = A_j (sum Y + 1 - Y_j) - Y_j - sum_{k != j} (1 - Y_k) A_j A_k / (1 - A_k)
            # where each A_j A_k / (1 - A_k) = exp(s_j + s_k - lse - log sum_{i != k} e^{s_i}) <= 1.
            s, lse, log_A, log_1mA = _softmax_logs(Z)
            logT = log_A[:, :, None] + (log_A - log_1mA)[:, None, :]  # [i, j, k] = log A_j A_k / (1 - A_k)
            logT[:, np.arange(Z.shape[1]), np.arange(Z.shape[1])] = -np.inf  # k != j only
            T = np.exp(logT)
            dZ = A * (Y.sum(axis=1, keepdims=True) + 1.0 - Y) - Y - np.einsum("ijk,ik->ij", T, 1.0 - Y)
            return [(f"dZ{layer}", f"dZ{layer} = A{layer} (sum Y + 1 - Y) - Y - sum over k != j of (1 - Y_k) A_j A_k / (1 - A_k)"
                     f"   (softmax + BCE, from the logits)", dZ)]
        return super().output_grad(Z, A, Y, output, layer)


class CrossEntropy(Loss):
    name = "cross_entropy"
    formula = "-(1/m) sum Y log Y_hat"
    outputs = ("softmax", "sigmoid")

    def value(self, Z, A, Y, output) -> float:
        if output is not None and output.name == "softmax":
            # log softmax(Z) = Z - max - log sum exp(Z - max): finite for any Z.
            # -sum Y log A = sum_i (sum_k Y_ik) lse_i - sum Y shifted, with lse_i = log sum_k e^shifted_ik.
            # For labels in [0, 1] both terms are >= 0 (shifted <= 0): no cancellation.
            shifted = Z - activations.row_max(Z)
            lse = np.log(activations.row_sum(np.exp(shifted)))
            total = float(activations.vdot(activations.row_sum(Y), lse)) - float(activations.vdot(Y, shifted))
        elif output is not None and output.name == "sigmoid":
            total = float(activations.vdot(Y, _softplus(-Z)))
        else:
            total = -float(activations.vdot(Y, np.log(np.clip(A, _TINY, 1.0))))
        return total / len(Y)

    def dA(self, A, Y):
        return -Y / np.clip(A, _TINY, 1.0)

    def dA_formula(self, layer):
        return f"-Y / A{layer}"

    def output_grad(self, Z, A, Y, output, layer):
        if output.name == "softmax":
            return [(f"dZ{layer}", f"dZ{layer} = A{layer} - Y   (softmax + cross-entropy: the terms cancel)", np.subtract(A, Y))]
        if output.name == "sigmoid":
            # d/dZ of -Y log sigma(Z) is -Y (1 - sigma(Z)), finite even when A rounds to 0.
            return [(f"dZ{layer}", f"dZ{layer} = -Y (1 - A{layer})", Y * A - Y)]
        return super().output_grad(Z, A, Y, output, layer)


LOSSES = {cls.name: cls() for cls in (MSE, BCE, CrossEntropy)}


def get(name: str) -> Loss:
    """The loss called `name`: "mse", "bce" or "cross_entropy"."""
    if isinstance(name, Loss):
        return name
    try:
        return LOSSES[name]
    except KeyError:
        raise ValueError(f"unknown loss {name!r}; allowed: {', '.join(LOSSES)}") from None
