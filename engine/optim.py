"""Optimizers and learning-rate schedules.

Every optimizer turns a gradient into the change to subtract from the parameters:
`delta(g) -> step`, then theta <- theta - step, then `commit()` (the state, velocity or
moments, moves on only then: a step the trainer's guard refuses changes nothing). They work on the network's flat
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
# The largest learning rate anything here produces: it keeps lr * g finite for any
# gradient whose squared norm is finite (each |g_i| < 1.4e154), which the trainer checks.
MAX_LR = 1e6
_multiply = np.multiply


def bound_rate(rate) -> float:
    """A learning rate forced into [0, MAX_LR]: inf and anything above become MAX_LR, NaN becomes 0."""
    if rate > MAX_LR:
        return MAX_LR
    if rate >= 0.0:
        return float(rate)
    return 0.0  # NaN (0 x inf) or negative: no step at all rather than an unbounded one


class Optimizer:
    """delta(g, scale=1.0): the step for the gradient scale * g. The trainer passes the
    batch's summed gradient and scale = 1/m (Trainer._finish): each rule folds the 1/m
    into a constant it multiplies by anyway, which saves a pass over the parameters."""

    name = ""
    rule = ""  # the update rule, for the step-through view

    def __init__(self, lr):
        self.lr = float(lr)
        self.t = 0  # number of updates made
        self.state: dict[str, np.ndarray] = {}
        self._scratch: dict[str, np.ndarray] = {}  # not state: reusable work arrays
        self._pending: dict[str, np.ndarray] = {}  # the state after the step delta() computed

    def delta(self, g, scale=1.0):
        """The step for gradient scale * g. The state moves on only at commit(), so a step
        the trainer's guard refuses leaves the optimizer exactly as it was."""
        raise NotImplementedError

    def commit(self):
        """Make the step delta() computed count: its state becomes the state, t goes up by one."""
        self.t += 1
        for key, nxt in self._pending.items():
            # Swap, not copy: the old state array becomes the next call's scratch.
            self._scratch[key + "'"], self.state[key] = self.state[key], nxt
        self._pending.clear()

    def reset(self):
        self.t = 0
        self.state = {}
        self._scratch = {}
        self._pending = {}

    def _buf(self, key, g):
        buf = self.state.get(key)
        if buf is None or buf.shape != g.shape:
            buf = self.state[key] = np.zeros_like(g)
        return buf

    def _next(self, key, g):
        """(state[key], the buffer its next value goes into)."""
        nxt = self._pending[key] = self._tmp(key + "'", g)
        return self._buf(key, g), nxt

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


# The learning rate each update rule is usually started with, where there is one: Adam and
# RMSProp divide by the gradient's running size, so their steps are about lr whatever the
# gradient, and 0.001-0.01 is the usual range (plain and momentum SGD scale with the gradient:
# their rate depends on the problem, so none is given).
USUAL_LR = {"adam": 0.01, "rmsprop": 0.01}


class SGD(Optimizer):
    name = "sgd"
    rule = "W <- W - lr dW"

    _for = None  # the gradient array the step buffer was last checked against

    def delta(self, g, scale=1.0):
        """lr g; with scale, (lr scale) g: the trainer passes m g and 1/m, one pass fewer."""
        if g is not self._for:  # the trainer passes the same flat gradient every step: check it once
            buf = self._scratch.get("step")
            if buf is None or buf.shape != g.shape or buf.dtype != g.dtype:
                buf = self._scratch["step"] = np.empty_like(g)
            self._step, self._for = buf, g
        return _multiply(g, self.lr * scale if scale != 1.0 else self.lr, self._step)  # out positional: cheaper

    def reset(self):
        super().reset()
        self._for = None

    def commit(self):
        self.t += 1  # no state to move on


class Momentum(Optimizer):
    """The course's moving-average form: v <- beta v + (1 - beta) dW; W <- W - lr v."""

    name = "momentum"
    rule = "v <- beta v + (1 - beta) dW;  W <- W - lr v"

    def __init__(self, lr, beta=0.9):
        super().__init__(lr)
        self.beta = float(beta)

    def delta(self, g, scale=1.0):
        v_old, v = self._next("v", g)
        np.multiply(v_old, self.beta, out=v)
        v += np.multiply(g, (1.0 - self.beta) * scale, out=self._tmp("tmp", g))
        return np.multiply(v, self.lr, out=self._tmp("step", g))

    def settings(self):
        return {"lr": self.lr, "beta": self.beta}


class Adam(Optimizer):
    name = "adam"
    rule = "m <- beta1 m + (1-beta1) dW;  v <- beta2 v + (1-beta2) dW^2;  W <- W - lr m_hat / (sqrt(v_hat) + eps)"

    def __init__(self, lr, beta1=0.9, beta2=0.999, eps=1e-8):
        super().__init__(lr)
        self.beta1, self.beta2, self.eps = float(beta1), float(beta2), float(eps)

    def delta(self, g, scale=1.0):
        t = self.t + 1
        m_old, m = self._next("m", g)
        v_old, v = self._next("v", g)
        tmp = self._tmp("tmp", g)
        multiply, add = _multiply, np.add  # out positional: cheaper than out=
        multiply(m_old, self.beta1, m)
        add(m, multiply(g, (1.0 - self.beta1) * scale, tmp), m)
        multiply(v_old, self.beta2, v)
        multiply(g, g, tmp)
        multiply(tmp, (1.0 - self.beta2) * (scale * scale), tmp)  # (1 - beta2) (scale g)^2
        add(v, tmp, v)
        # Bias correction: early averages are pulled toward their zero start. With
        # c1 = 1 - beta1^t, c2 = 1 - beta2^t: lr m_hat / (sqrt(v_hat) + eps) equals
        # (lr sqrt(c2) / c1) m / (sqrt(v) + eps sqrt(c2)), which takes one pass fewer.
        root_c2 = math.sqrt(1.0 - self.beta2 ** t)
        denom = np.sqrt(v, tmp)
        add(denom, self.eps * root_c2, denom)
        step = np.divide(m, denom, self._tmp("step", g))
        multiply(step, self.lr * root_c2 / (1.0 - self.beta1 ** t), step)
        return step

    def settings(self):
        return {"lr": self.lr, "beta1": self.beta1, "beta2": self.beta2, "eps": self.eps}


class RMSProp(Optimizer):
    name = "rmsprop"
    rule = "s <- rho s + (1-rho) dW^2;  W <- W - lr dW / (sqrt(s) + eps)"

    def __init__(self, lr, rho=0.9, eps=1e-8):
        super().__init__(lr)
        self.rho, self.eps = float(rho), float(eps)

    def delta(self, g, scale=1.0):
        s_old, s = self._next("s", g)
        tmp = self._tmp("tmp", g)
        np.multiply(s_old, self.rho, out=s)
        np.multiply(g, g, out=tmp)
        tmp *= (1.0 - self.rho) * (scale * scale)
        s += tmp
        denom = np.sqrt(s, out=tmp)
        denom += self.eps
        step = np.multiply(g, self.lr * scale, out=self._tmp("step", g))
        step /= denom
        return step

    def settings(self):
        return {"lr": self.lr, "rho": self.rho, "eps": self.eps}


# The rules whose delta() takes the scale (see Optimizer): a subclass that overrides
# delta(g) is given the gradient itself.
FOLDS_SCALE = frozenset({SGD.delta, Momentum.delta, Adam.delta, RMSProp.delta})


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

    Every rate is bounded to [0, MAX_LR] (see bound_rate): a gamma above 1 or an lr_min
    far above lr grows the rate only up to MAX_LR, and never raises OverflowError.
    """

    def __init__(self, kind="constant", step_size=100, gamma=0.5, lr_min=0.0, total=1000):
        if kind not in SCHEDULES:
            raise ValueError(f"unknown schedule {kind!r}; allowed: {', '.join(SCHEDULES)}")
        gamma, lr_min = float(gamma), float(lr_min)
        if not (math.isfinite(gamma) and gamma > 0):
            raise ValueError(f"schedule gamma must be a positive number, got {gamma}")
        if not (math.isfinite(lr_min) and lr_min >= 0):
            raise ValueError(f"schedule lr_min must be a number >= 0, got {lr_min}")
        self.kind, self.step_size, self.gamma = kind, max(1, int(step_size)), gamma
        self.lr_min, self.total = lr_min, max(1, int(total))

    def __call__(self, base_lr, epoch) -> float:
        if self.kind == "constant":
            return bound_rate(base_lr)
        if self.kind in ("step", "exponential"):
            k = epoch // self.step_size if self.kind == "step" else epoch
            try:
                factor = self.gamma ** k
            except OverflowError:  # float ** int raises instead of giving inf
                factor = math.inf
            return bound_rate(base_lr * factor)
        frac = min(epoch, self.total) / self.total
        return bound_rate(self.lr_min + (base_lr - self.lr_min) * 0.5 * (1.0 + math.cos(math.pi * frac)))
