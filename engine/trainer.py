"""The training loop: one forward, loss, backward, update cycle per step.

`Trainer.step()` runs a whole cycle; `phases()` runs the same cycle one phase at a
time and `ops()` one matrix operation at a time. All three run the same code
(`_cycle`), so they leave bit-identical parameters.

A guard checks the loss, the gradient and the update before anything is written:
a cycle that would put inf or NaN into the weights is stopped, the weights stay the
last finite ones, and the step record says which quantity went non-finite first.
"""

from __future__ import annotations

import math
import time

import numpy as np

from .checkpoints import Checkpoints, is_checkpoint_step, next_checkpoint_step
from .history import History, is_eval_step, next_eval_step
from .losses import get as get_loss
from .network import Workspace, augment, backward_ops, forward_ops, l2_penalty
from .optim import Schedule

PHASES = ("forward", "loss", "backward", "update")
MAX_LR = 1e6  # keeps lr * g finite for any finite gradient (see _fast_cycle)


class Op:
    """One matrix operation of a cycle: its equation, operand shapes, operands and result."""

    __slots__ = ("phase", "layer", "name", "equation", "shapes", "operands", "result", "index")

    def __init__(self, phase, layer, name, equation, shapes, operands, result, index=0):
        self.phase, self.layer, self.name, self.equation = phase, layer, name, equation
        self.shapes, self.operands, self.result, self.index = shapes, operands, result, index

    def __repr__(self):
        return f"<Op {self.phase} {self.equation} {self.shapes}>"


class Phase:
    """One phase of a cycle: its operations and the arrays it produced, by name."""

    def __init__(self, name, ops):
        self.name = name
        self.ops = ops
        self.arrays = {op.name: op.result for op in ops}

    def __repr__(self):
        return f"<Phase {self.name}: {', '.join(self.arrays)}>"


class NonFinite:
    """Where a cycle first produced inf or NaN."""

    def __init__(self, step, phase, layer, quantity, kind):
        self.step, self.phase, self.layer, self.quantity, self.kind = step, phase, layer, quantity, kind

    @property
    def message(self) -> str:
        where = f"layer {self.layer}" if self.layer else "the loss"
        head = (f"step {self.step}: {self.quantity} ({where}, {self.phase} phase) became {self.kind}; "
                f"the weights were kept from the last finite step. ")
        if self.quantity == "gradient norm":
            # Every entry is finite, only the length overflowed: clipping rescales it.
            return head + ("The gradient is too long to measure: turn on gradient clipping and continue, "
                           "or rewind to a checkpoint from before the blow-up and lower the learning rate.")
        return head + ("Those weights are finite but already so large that the cycle overflows again from them: "
                       "rewind to a checkpoint from before the blow-up, then lower the learning rate or turn on "
                       "gradient clipping.")

    def to_dict(self):
        return {"step": self.step, "phase": self.phase, "layer": self.layer, "quantity": self.quantity, "kind": self.kind}

    def __repr__(self):
        return f"<NonFinite {self.message}>"


def accuracy(A, Y) -> float:
    """Fraction of rows classified right: threshold 0.5 for one output, argmax for several."""
    if Y.shape[1] == 1:
        return float(np.count_nonzero((A > 0.5) == (Y > 0.5))) / len(Y)
    return float(np.count_nonzero(A.argmax(axis=1) == Y.argmax(axis=1))) / len(Y)


class StepResult:
    """What one step did. `accuracy` (on the step's batch) is computed on first use."""

    __slots__ = ("step", "epoch", "loss", "lr", "grad_norm", "clipped", "nonfinite", "_A", "_Y", "_acc")

    def __init__(self, step, epoch, loss, lr, grad_norm, clipped, nonfinite, A, Y):
        self.step, self.epoch, self.loss, self.lr = step, epoch, loss, lr
        self.grad_norm, self.clipped, self.nonfinite = grad_norm, clipped, nonfinite
        self._A, self._Y, self._acc = A, Y, None

    @property
    def ok(self) -> bool:
        return self.nonfinite is None

    @property
    def batch_size(self) -> int:
        return len(self._Y)

    @property
    def accuracy(self) -> float:
        if self._acc is None:
            self._acc = accuracy(self._A, self._Y) if self._A is not None else float("nan")
        return self._acc

    def __repr__(self):
        return f"<StepResult step={self.step} loss={self.loss:.6g} ok={self.ok}>"


class _Last:
    """The arrays of the latest cycle: cache (Z1, A1, ...), flat gradient g, update delta."""

    def __init__(self, cache, g, delta, Y):
        self.cache, self.g, self.delta, self.Y = cache, g, delta, Y


class _Plan:
    """Buffers, views and bound methods for the hot path at one batch size.

    Also serves as the latest cycle's record (same interface as _Last): Z and A per
    layer, the flat gradient g and the update delta of the step just taken. Z and the
    backward pass's dA live in buffers reused by the next step (no per-step allocation
    of layer-sized arrays); the output A is fresh every step, as StepResult keeps it.
    """

    def __init__(self, net, ws, g, m):
        L = net.L
        dtype = net.dtype
        layers = net.layers
        self.L = L
        self.Z = [np.empty((m, layer.n_out), dtype=dtype) for layer in layers]
        self.A = [ws.A[i + 1] for i in range(L - 1)] + [None]
        # Per layer: [W; b], the Z buffer, g(.), its out= buffer (hidden A inside [A, 1]), next layer's input [A, 1].
        self.fwd = [(layer.Wb, self.Z[i], layer.act.forward, ws.A[i + 1] if i < L - 1 else None,
                     ws.Aa[i + 1] if i < L - 1 else None) for i, layer in enumerate(layers)]
        self.out_act = layers[-1].act
        Gb = [g[layer.offset:layer.offset + layer.Wb.size].reshape(layer.Wb.shape) for layer in layers]
        # Top layer down: [A_prev, 1]^T (None: the batch's [X, 1]^T), G block, W^T, dA buffer, g'(.) below, Z and A below.
        self.bwd = []
        for i in range(L - 1, -1, -1):
            if i:
                below = layers[i - 1]
                self.bwd.append((ws.Aa[i].T, Gb[i], layers[i].W.T, np.empty((m, below.n_out), dtype=dtype),
                                 below.act.backward, self.Z[i - 1], ws.A[i]))
            else:
                self.bwd.append((None, Gb[0], None, None, None, None, None))
        self.GW = [(G[:layer.n_in], layer.W) for G, layer in zip(Gb, layers)]
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


class Trainer:
    """Trains `net` on (X, Y) with `loss` and optimizer `opt`.

    batch_size=None trains full batch; otherwise each epoch shuffles the data with a
    generator seeded by `seed` and walks it in minibatches. `l2` adds
    (l2 / 2m) sum ||W||^2 to the loss. `clip` bounds the gradient: its global L2 norm
    (clip_mode="norm") or each entry (clip_mode="value").
    """

    def __init__(self, net, loss, opt, X, Y, batch_size=None, l2=0.0, clip=None, seed=0,
                 clip_mode="norm", schedule=None, X_test=None, Y_test=None):
        self.net = net
        self.loss = get_loss(loss)
        self.opt = opt
        X = np.asarray(X, dtype=net.dtype)
        Y = np.asarray(Y, dtype=net.dtype)
        if Y.ndim == 1:
            Y = Y.reshape(-1, 1)
        if X.ndim != 2 or X.shape[1] != net.sizes[0]:
            raise ValueError(f"X must have shape (m, {net.sizes[0]}) for this network; got {X.shape}")
        if Y.shape != (X.shape[0], net.sizes[-1]):
            raise ValueError(f"Y must have shape ({X.shape[0]}, {net.sizes[-1]}); got {Y.shape}")
        if clip_mode not in ("norm", "value"):
            raise ValueError(f"clip_mode must be 'norm' or 'value', got {clip_mode!r}")
        self.X, self.Y = X, Y
        self._Xa = augment(X, net.dtype)
        self.X_test = None if X_test is None else np.asarray(X_test, dtype=net.dtype)
        self.Y_test = None if Y_test is None else np.asarray(Y_test, dtype=net.dtype).reshape(len(X_test), -1)
        self.batch_size = None if batch_size is None or batch_size >= len(X) else int(batch_size)
        self.l2 = float(l2)
        self.clip = None if clip is None else float(clip)
        self.clip_mode = clip_mode
        self.schedule = schedule or Schedule("constant")
        self.base_lr = opt.lr
        self.seed = seed
        self.data = None   # set by engine.build to the Dataset
        self.config = None  # set by engine.build to the RunConfig
        self.reset_state()

    # ----- state ---------------------------------------------------------------------

    def reset_state(self):
        """Forget progress: step counters, shuffling, optimizer state and history."""
        self._rng = np.random.default_rng(self.seed)
        self.step_count = 0
        self.epoch_count = 0
        self._pos = 0
        self._perm = None  # this epoch's order of the training rows
        self._batch_buffers = {}  # batch size -> the hot path's [X, 1] gather buffer
        self.opt.reset()
        self.history = History()
        self.last = None  # the latest cycle's arrays: .cache (Z1, A1, ...), .g (flat gradient), .delta
        self._g = np.empty_like(self.net.theta)
        self._plans = {}
        self.halted = None  # NonFinite of the step that was refused, until the next good step
        self.seconds = 0.0
        self._eval_ws = {}  # evaluation's own buffers: the latest cycle's arrays stay the step's
        self.checkpoints = Checkpoints()
        self._next_eval = self._next_checkpoint = self._due = 0
        self._scheduled()

    def _scheduled(self):
        """At the step just booked: the scheduled evaluation (engine.history) and checkpoint
        (engine.checkpoints). The hot path calls this only when one is due (>=: a loaded or
        rewound run finds its place in the schedules again)."""
        step = self.step_count
        if step >= self._next_eval:
            if is_eval_step(step):
                with np.errstate(all="ignore"):  # a diverging run's metrics may overflow: recorded as they are
                    self.evaluate()
            self._next_eval = next_eval_step(step)
        if step >= self._next_checkpoint:
            if is_checkpoint_step(step):
                self.checkpoints.take(self)
            self._next_checkpoint = next_checkpoint_step(step)
        self._due = min(self._next_eval, self._next_checkpoint)

    # ----- checkpoints: a way back from a run that blew up (engine.checkpoints) -----------

    def checkpoint(self):
        """Remember the run as it is now, before a caller changes it (a new learning rate, say)."""
        self.checkpoints.take(self, "lr")

    def rewind(self):
        """Go back to the newest checkpoint from before the loss first rose sharply
        (engine.checkpoints.SHARP_RISE); a repeated rewind goes further back. Returns its step.

        History after it is dropped; the shuffling goes back too, so the steps that follow
        see the batches the original ones saw. Then lower the learning rate or turn on
        clipping and carry on."""
        step = self.checkpoints.rewind(self)
        self._next_eval = next_eval_step(step)
        self._next_checkpoint = next_checkpoint_step(step)
        self._due = min(self._next_eval, self._next_checkpoint)
        self.halted = None
        self.last = None
        self._result = None  # the latest step's record described a step that is undone now
        return step

    @property
    def lr(self) -> float:
        return self.base_lr

    @lr.setter
    def lr(self, value):
        value = float(value)
        if not (0 < value <= MAX_LR):
            raise ValueError(f"learning rate must be a positive number up to {MAX_LR:g}, got {value}")
        self.base_lr = value

    @property
    def steps_per_epoch(self) -> int:
        if self.batch_size is None:
            return 1
        return -(-len(self.X) // self.batch_size)

    # ----- the cycle -----------------------------------------------------------------

    def _next_batch(self, fresh=False):
        """The next minibatch: ([X, 1], Y, whether it ends the epoch).

        Each epoch draws a permutation; each batch gathers its rows from [X, 1] and Y.
        The step's hot path gathers [X, 1] into a buffer reused every step (it is read
        at once by the first product, from cache, and by nothing after the step);
        fresh=True, for the record path whose Op operands outlive the step, copies.
        Y is always fresh: a StepResult keeps it.
        """
        if self.batch_size is None:
            return self._Xa, self.Y, True
        n = len(self.X)
        if self._pos == 0:
            self._perm = self._rng.permutation(n)
        i, j = self._pos, min(self._pos + self.batch_size, n)
        self._pos = 0 if j >= n else j
        rows = self._perm[i:j]
        Y = self.Y.take(rows, 0)
        if fresh:
            return self._Xa.take(rows, 0), Y, j >= n
        buf = self._batch_buffers.get(j - i)
        if buf is None:
            buf = self._batch_buffers[j - i] = np.empty((j - i, self._Xa.shape[1]), dtype=self._Xa.dtype)
        return np.take(self._Xa, rows, 0, buf, "clip"), Y, j >= n

    def _cycle(self, record):
        """One step. Yields (phase, layer, name, equation, shapes, operands, result) when recording."""
        net = self.net
        Xa, Y, ends_epoch = self._next_batch(fresh=record)
        m = len(Y)
        ws = Workspace(net, m) if record else net.workspace(m)
        cache = {}
        step = self.step_count + 1

        yield from forward_ops(net, Xa, ws, cache, record)

        L = net.L
        out = net.layers[-1]
        value = self.loss.value(cache[f"Z{L}"], cache[f"A{L}"], Y, out.act)
        if self.l2:
            value += l2_penalty(net, self.l2, m)
        if record:
            eq = f"L = {self.loss.formula}" + (f" + (lambda / 2m) sum ||W||^2" if self.l2 else "")
            yield ("loss", 0, "L", eq, f"({m}, {out.n_out}) -> scalar",
                   {f"A{L}": cache[f"A{L}"], "Y": Y}, np.array(value))

        lr = self.schedule(self.base_lr, self.epoch_count)
        self.opt.lr = lr
        if not math.isfinite(value):
            return self._refuse(step, Xa, Y, m, "loss", lr)

        g = np.empty_like(net.theta)
        yield from backward_ops(net, Xa, ws, cache, Y, self.loss, g, self.l2, record)
        gn2 = float(np.vdot(g, g))
        grad_norm = math.sqrt(gn2) if math.isfinite(gn2) else self._long_norm(g)
        if grad_norm is None:
            return self._refuse(step, Xa, Y, m, "gradient", lr)
        clipped = False
        if self.clip is not None:
            if self.clip_mode == "norm":
                if grad_norm > self.clip:
                    g *= self.clip / grad_norm
                    clipped = True
            else:
                clipped = bool(np.abs(g).max() > self.clip)
                np.clip(g, -self.clip, self.clip, out=g)

        delta = self.opt.delta(g)
        if record:
            delta = delta.copy()  # the optimizer reuses its step buffer; records must keep theirs
            old = net.theta.copy()
        net.theta -= delta
        # Book the step before yielding the update records: a caller that stops
        # iterating midway (the UI's op mode) still leaves a consistent trainer.
        self.step_count = step
        if ends_epoch:
            self.epoch_count += 1
        self.history.add(value)
        self.last = _Last(cache, g, delta, Y)
        self.halted = None
        if step >= self._due:
            self._scheduled()
        self._result = StepResult(step, self.epoch_count, value, lr, grad_norm, clipped, None, cache[f"A{L}"], Y)
        if record:
            grads = net.grad_views(g)
            changes = net.grad_views(delta)
            olds = net.grad_views(old)
            for layer in net.layers:
                for p in ("W", "b"):
                    name = f"{p}{layer.index}"
                    rule = f"{name} <- {name} - lr d{name}" if self.opt.name == "sgd" else f"{name} <- {name} - step   [{self.opt.rule}]"
                    yield ("update", layer.index, name, f"{rule}   (lr = {lr:g})", f"{olds['d' + name].shape}",
                           {f"{name} (old)": olds["d" + name], f"d{name}": grads["d" + name].copy(),
                            "change": -changes["d" + name]}, net.params[name].copy())

    def _long_norm(self, g):
        """||g|| when sum g^2 overflowed although every entry may be finite.

        With clipping on, such a gradient can still be used (clipping shrinks it to a
        safe length), so measure it without overflow; otherwise (or with a non-finite
        entry) return None and the step is refused.
        """
        if self.clip is None or not np.isfinite(g).all():
            return None
        s = float(np.abs(g).max())
        n = s * float(np.linalg.norm(g / s))
        return n if math.isfinite(n) else None

    def _refuse(self, step, Xa, Y, m, stage, lr):
        """Find the first non-finite quantity by replaying the cycle with recording on.

        Nothing was written, so the replay sees the same weights and the same numbers.
        """
        where = None
        ws = Workspace(self.net, m)
        replay = {}
        for rec in forward_ops(self.net, Xa, ws, replay, True):
            if not np.all(np.isfinite(rec[-1])):
                where = rec
                break
        if where is None and stage != "loss":
            g = np.empty_like(self.net.theta)
            for rec in backward_ops(self.net, Xa, ws, replay, Y, self.loss, g, self.l2, True):
                if not np.all(np.isfinite(rec[-1])):
                    where = rec
                    break
        kind = "inf or NaN"
        if where is None and stage == "loss":
            phase, layer, name, values = "loss", 0, "L", None
        elif where is None:
            # Every array was finite: only sum g^2 overflowed (see _long_norm). Name the
            # layer holding the largest gradient entry.
            phase, name, values, kind = "backward", "gradient norm", None, "inf"
            layer = max(self.net.layers, key=lambda la: float(np.abs(g[la.offset:la.offset + la.Wb.size]).max())).index
        else:
            phase, layer, name, _, _, _, values = where
        if values is not None:
            bad = np.asarray(values)
            kind = "NaN" if np.isnan(bad).any() else "inf"
        self.halted = NonFinite(step, phase, layer, name, kind)
        # The refused cycle may have overwritten the hot path's buffers, and it wrote no
        # update: there is no latest cycle to show (as before the first step).
        self.last = None
        self._result = StepResult(self.step_count, self.epoch_count, math.nan, lr, math.nan, False,
                                  self.halted, None, Y)

    def _fast_cycle(self):
        """step()'s hot path: the arithmetic of _cycle(record=False), call for call,
        with every buffer, view and bound method looked up once per batch size instead
        of once per step (a small network's step is NumPy call overhead and little else,
        so the calls are the cheapest forms: ndarray.dot, positional out=, 0-d constants).
        tests/engine/test_stepping.py checks both paths leave bit-identical weights."""
        net = self.net
        if self.batch_size is None:
            Xa, Y, ends_epoch = self._Xa, self.Y, True
        else:
            Xa, Y, ends_epoch = self._next_batch()
        m = len(Y)
        plan = self._plans.get(m)
        if plan is None:
            plan = self._plans[m] = _Plan(net, net.workspace(m), self._g, m)
        step = self.step_count + 1
        A_prev = Xa
        for Wb, Z, forward, out, Aa in plan.fwd:
            A_prev.dot(Wb, Z)
            A = forward(Z, out)
            A_prev = Aa
        plan.A[-1] = A
        value, dZ = self.loss.value_and_dZ(Z, A, Y, plan.out_act, plan.L)
        if self.l2:
            value += l2_penalty(net, self.l2, m)
        schedule = self.schedule
        lr = self.base_lr if schedule.kind == "constant" else schedule(self.base_lr, self.epoch_count)
        opt = self.opt
        opt.lr = lr
        if not math.isfinite(value):
            return self._refuse(step, Xa, Y, m, "loss", lr)
        if Xa is not plan.Xa:
            plan.Xa, plan.XaT = Xa, Xa.T
        for AaT, Gb, WT, dA, backward, Z, A_below in plan.bwd:
            if WT is None:
                plan.XaT.dot(dZ, Gb)
            else:
                AaT.dot(dZ, Gb)
                dZ.dot(WT, dA)
                dZ = backward(Z, A_below, dA, dA)
        g = self._g
        np.multiply(g, plan.inv_m, g)
        if self.l2:
            coef = self.l2 * (1.0 / m)  # as backward_ops computes it
            for GW, W in plan.GW:
                GW += coef * W
        gn2 = float(np.vdot(g, g))  # vdot: no floating-point-error check (the guard reads the result)
        grad_norm = math.sqrt(gn2) if math.isfinite(gn2) else self._long_norm(g)
        if grad_norm is None:
            return self._refuse(step, Xa, Y, m, "gradient", lr)
        clipped = False
        if self.clip is not None:
            if self.clip_mode == "norm":
                if grad_norm > self.clip:
                    g *= self.clip / grad_norm
                    clipped = True
            else:
                clipped = bool(np.abs(g).max() > self.clip)
                np.clip(g, -self.clip, self.clip, out=g)
        # With g finite (sum g^2 is, or clipping bounded it) and lr <= 1e6, every optimizer here gives a finite
        # delta (each |g_i| < 1.4e154 and the adaptive ones divide by at least eps), and
        # W - delta could only overflow for weights within 1e-140 of the largest float.
        delta = opt.delta(g)
        theta = net.theta
        np.subtract(theta, delta, theta)
        self.step_count = step
        if ends_epoch:
            self.epoch_count += 1
        self.history.add(value)
        self.last = plan  # the latest cycle's arrays live in the plan until the next step
        plan.Y = Y
        plan.delta = delta
        self.halted = None
        if step >= self._due:
            self._scheduled()
        self._result = StepResult(step, self.epoch_count, value, lr, grad_norm, clipped, None, A, Y)

    def step(self) -> StepResult:
        """One forward, loss, backward, update cycle on the next minibatch."""
        self._fast_cycle()
        return self._result

    def ops(self):
        """The same cycle as step(), one operation at a time (Op records)."""
        for i, rec in enumerate(self._cycle(True)):
            yield Op(*rec, index=i)

    def phases(self):
        """The same cycle as step(), one phase at a time: forward, loss, backward, update."""
        current, ops = None, []
        for op in self.ops():
            if current is not None and op.phase != current:
                yield Phase(current, ops)
                ops = []
            current = op.phase
            ops.append(op)
        if ops:
            yield Phase(current, ops)

    @property
    def result(self) -> StepResult | None:
        """The StepResult of the latest step (after step(), phases() or ops() finished)."""
        return getattr(self, "_result", None)

    def epoch(self):
        """Steps to the end of the current epoch. Returns the metrics on the full data.

        Stops early, returning what it has, when the guard refuses a step.
        """
        start = self.epoch_count
        t0 = time.perf_counter()
        while self.epoch_count == start:
            r = self.step()
            if not r.ok:
                break
        self.seconds += time.perf_counter() - t0
        return self.evaluate()

    def fit(self, epochs, callback=None):
        """Train for `epochs` epochs (evaluating at each epoch's end); stops on a refused step."""
        for _ in range(int(epochs)):
            metrics = self.epoch()
            if callback is not None:
                callback(self, metrics)
            if self.halted is not None:
                break
        return self.evaluate()

    # ----- evaluation ----------------------------------------------------------------

    def _measure(self, X, Y):
        net = self.net
        cache = {}
        Xa = self._Xa if X is self.X else augment(X, net.dtype)
        ws = self._eval_ws.get(len(X))
        if ws is None:
            ws = self._eval_ws[len(X)] = Workspace(net, len(X))
        for _ in forward_ops(net, Xa, ws, cache, False):
            pass
        L = net.L
        value = self.loss.value(cache[f"Z{L}"], cache[f"A{L}"], Y, net.layers[-1].act)
        if self.l2:
            value += l2_penalty(net, self.l2, len(X))
        return value, accuracy(cache[f"A{L}"], Y)

    def evaluate(self, record=True) -> dict:
        """Loss and accuracy on the whole training set (and the test set, if any).

        Recorded in the history only at the steps of the schedule (engine.history), which
        the trainer evaluates at by itself: callers' extra evaluations leave no trace, so
        the same run records the same evaluations however it was driven."""
        loss, acc = self._measure(self.X, self.Y)
        metrics = {"step": self.step_count, "epoch": self.epoch_count, "loss": loss, "accuracy": acc}
        if self.X_test is not None and len(self.X_test):
            tl, ta = self._measure(self.X_test, self.Y_test)
            metrics["test_loss"], metrics["test_accuracy"] = tl, ta
        if record and is_eval_step(self.step_count):
            self.history.add_eval(self.step_count, metrics)
        return metrics

    def predict(self, X):
        return self.net.predict(X)
