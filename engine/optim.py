"""Optimizers and learning-rate schedules.

Every optimizer turns a gradient into the change to subtract from the parameters:
`delta(g) -> step`, then theta <- theta - step. They work on the network's flat
parameter vector, so each keeps its state per parameter entry (velocity, moments);
`state_views(net)` shows that state per named parameter (W1, b1, ...).

The returned step and the intermediates live in scratch buffers reused by the next
call (copy the step to keep it): a large network's update then allocates nothing,
and fresh megabyte-sized temporaries cost page faults on every step.
"""

from __future__ import annotations

import math

import numpy as np

OPTIMIZERS = ("sgd", "momentum", "adam", "rmsprop")
SCHEDULES = ("constant", "step", "exponential", "cosine")


class Optimizer:
    name = ""
    rule = ""  # the update rule, for the step-through view

    def __init__(self, lr):
        self.lr = float(lr)
        self.t = 0  # number of updates made
        self.state: dict[str, np.ndarray] = {}
        self._scratch: dict[str, np.ndarray] = {}  # not state: reusable work arrays

    def delta(self, g):
        raise NotImplementedError

    def reset(self):
        self.t = 0
        self.state = {}
        self._scratch = {}

    def _buf(self, key, g):
        buf = self.state.get(key)
        if buf is None or buf.shape != g.shape:
            buf = self.state[key] = np.zeros_like(g)
        return buf

    def _tmp(self, key, g):
        buf = self._scratch.get(key)
        if buf is None or buf.shape != g.shape or buf.dtype != g.dtype:
            buf = self._scratch[key] = np.empty_like(g)
        return buf

    def state_views(self, net):
        """{param name: {state name: view}} over the flat state arrays."""
        out = {}
        for key, flat in self.state.items():
            for name, view in net.grad_views(flat).items():
                out.setdefault(name[1:], {})[key] = view
        return out

    def settings(self) -> dict:
        return {"lr": self.lr}

    def __repr__(self):
        args = ", ".join(f"{k}={v:g}" for k, v in self.settings().items())
        return f"{type(self).__name__}({args})"


class SGD(Optimizer):
    name = "sgd"
    rule = "W <- W - lr dW"

    def delta(self, g):
        self.t += 1
        return np.multiply(g, self.lr, out=self._tmp("step", g))


class Momentum(Optimizer):
    """The course's moving-average form: v <- beta v + (1 - beta) dW; W <- W - lr v."""

    name = "momentum"
    rule = "v <- beta v + (1 - beta) dW;  W <- W - lr v"

    def __init__(self, lr, beta=0.9):
        super().__init__(lr)
        self.beta = float(beta)

    def delta(self, g):
        self.t += 1
        v = self._buf("v", g)
        v *= self.beta
        v += np.multiply(g, 1.0 - self.beta, out=self._tmp("tmp", g))
        return np.multiply(v, self.lr, out=self._tmp("step", g))

    def settings(self):
        return {"lr": self.lr, "beta": self.beta}


class Adam(Optimizer):
    name = "adam"
    rule = "m <- beta1 m + (1-beta1) dW;  v <- beta2 v + (1-beta2) dW^2;  W <- W - lr m_hat / (sqrt(v_hat) + eps)"

    def __init__(self, lr, beta1=0.9, beta2=0.999, eps=1e-8):
        super().__init__(lr)
        self.beta1, self.beta2, self.eps = float(beta1), float(beta2), float(eps)

    def delta(self, g):
        self.t += 1
        m = self._buf("m", g)
        v = self._buf("v", g)
        tmp = self._tmp("tmp", g)
        m *= self.beta1
        m += np.multiply(g, 1.0 - self.beta1, out=tmp)
        v *= self.beta2
        np.multiply(g, g, out=tmp)
        tmp *= 1.0 - self.beta2
        v += tmp
        # Bias correction: early averages are pulled toward their zero start. With
        # c1 = 1 - beta1^t, c2 = 1 - beta2^t: lr m_hat / (sqrt(v_hat) + eps) equals
        # (lr sqrt(c2) / c1) m / (sqrt(v) + eps sqrt(c2)), which takes one pass fewer.
        root_c2 = math.sqrt(1.0 - self.beta2 ** self.t)
        denom = np.sqrt(v, out=tmp)
        denom += self.eps * root_c2
        step = np.divide(m, denom, out=self._tmp("step", g))
        step *= self.lr * root_c2 / (1.0 - self.beta1 ** self.t)
        return step

    def settings(self):
        return {"lr": self.lr, "beta1": self.beta1, "beta2": self.beta2, "eps": self.eps}


class RMSProp(Optimizer):
    name = "rmsprop"
    rule = "s <- rho s + (1-rho) dW^2;  W <- W - lr dW / (sqrt(s) + eps)"

    def __init__(self, lr, rho=0.9, eps=1e-8):
        super().__init__(lr)
        self.rho, self.eps = float(rho), float(eps)

    def delta(self, g):
        self.t += 1
        s = self._buf("s", g)
        tmp = self._tmp("tmp", g)
        s *= self.rho
        np.multiply(g, g, out=tmp)
        tmp *= 1.0 - self.rho
        s += tmp
        denom = np.sqrt(s, out=tmp)
        denom += self.eps
        step = np.multiply(g, self.lr, out=self._tmp("step", g))
        step /= denom
        return step

    def settings(self):
        return {"lr": self.lr, "rho": self.rho, "eps": self.eps}


def make(name, lr, beta=0.9, beta1=0.9, beta2=0.999, eps=1e-8, rho=0.9) -> Optimizer:
    if name == "sgd":
        return SGD(lr)
    if name == "momentum":
        return Momentum(lr, beta)
    if name == "adam":
        return Adam(lr, beta1, beta2, eps)
    if name == "rmsprop":
        return RMSProp(lr, rho, eps)
    raise ValueError(f"unknown optimizer {name!r}; allowed: {', '.join(OPTIMIZERS)}")


class Schedule:
    """Learning rate as a function of the epoch (0-based, completed epochs).

    constant     lr
    step         lr * gamma ** (epoch // step_size)
    exponential  lr * gamma ** epoch
    cosine       lr_min + (lr - lr_min) (1 + cos(pi epoch / total)) / 2
    """

    def __init__(self, kind="constant", step_size=100, gamma=0.5, lr_min=0.0, total=1000):
        if kind not in SCHEDULES:
            raise ValueError(f"unknown schedule {kind!r}; allowed: {', '.join(SCHEDULES)}")
        self.kind, self.step_size, self.gamma = kind, int(step_size), float(gamma)
        self.lr_min, self.total = float(lr_min), max(1, int(total))

    def __call__(self, base_lr, epoch) -> float:
        if self.kind == "constant":
            return base_lr
        if self.kind == "step":
            return base_lr * self.gamma ** (epoch // self.step_size)
        if self.kind == "exponential":
            return base_lr * self.gamma ** epoch
        frac = min(epoch, self.total) / self.total
        return self.lr_min + (base_lr - self.lr_min) * 0.5 * (1.0 + math.cos(math.pi * frac))
