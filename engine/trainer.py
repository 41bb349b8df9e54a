"""The training loop: one forward, loss, backward, update cycle per step.

`Trainer.step()` runs a whole cycle on the hot path (engine/plan.py); `phases()` runs
the same cycle one phase at a time and `ops()` one matrix operation at a time
(`_cycle`, built on engine/network.py's forward_ops/backward_ops). Both paths do the
same arithmetic and end in the same tail (`_finish`: guard, clipping, update,
bookkeeping; step() writes out its plain-SGD case, call for call), so they leave
bit-identical parameters. engine/reference.py is the same
cycle written plainly, layer by layer, in the course's notation.

A guard checks the loss, the gradient, the update and the new weights before anything
is written: a cycle that would put inf or NaN into the weights is stopped, the weights
stay the last finite ones, and the step record says which quantity went non-finite first.
"""

from __future__ import annotations

import math

import numpy as np

from .activations import vdot
from .checkpoints import Checkpoints, is_checkpoint_step, next_checkpoint_step
from .features import equation as feature_equation
from .history import History, is_eval_step, next_eval_step
from .losses import get as get_loss
from .metrics import accuracy
from .network import Workspace, augment, backward_ops, dropout_mask, forward_ops, l1_penalty, l2_penalty
from .guard import bad_update, first_nonfinite, long_norm
from .optim import FOLDS_SCALE, MAX_LR, SGD, Schedule, bound_rate
from .plan import Cycle, Plan
from .records import PHASES, NonFinite, Op, Phase, StepResult
from .running import Running

_subtract = np.subtract
_multiply = np.multiply
_tuple_new = tuple.__new__  # StepResult(...) without its Python __new__ (engine/records.py)

__all__ = ["MAX_LR", "PHASES", "History", "NonFinite", "Op", "Phase", "StepResult", "Trainer", "accuracy"]



class Trainer(Running):
    """Trains `net` on (X, Y) with `loss` and optimizer `opt`.

    batch_size=None trains full batch; otherwise each epoch shuffles the data with a
    generator seeded by `seed` and walks it in minibatches. `l2` adds
    (l2 / 2m) sum ||W||^2 to the loss. `clip` bounds the gradient: its global L2 norm
    (clip_mode="norm") or each entry (clip_mode="value"). `l1` adds (l1 / m) sum |W|.
    `dropout` p drops each hidden unit with probability p in training (inverted dropout,
    masks drawn from the run's generator); evaluation and predictions never drop.
    task="regression" reports r2 where classification reports accuracy.
    X holds the raw inputs; a network with features (engine/features.py) computes its
    input from them.
    """

    def __init__(self, net, loss, opt, X, Y, batch_size=None, l2=0.0, clip=None, seed=0,
                 clip_mode="norm", schedule=None, X_test=None, Y_test=None, l1=0.0, dropout=0.0,
                 task="classification"):
        self.net = net
        self.loss = get_loss(loss)
        self.opt = opt
        X = np.asarray(X, dtype=net.dtype)
        Y = np.asarray(Y, dtype=net.dtype)
        if Y.ndim == 1:
            Y = Y.reshape(-1, 1)
        if X.ndim != 2 or X.shape[1] != net.n_inputs:
            raise ValueError(f"X must have shape (m, {net.n_inputs}) for this network; got {X.shape}")
        if Y.shape != (X.shape[0], net.sizes[-1]):
            raise ValueError(f"Y must have shape ({X.shape[0]}, {net.sizes[-1]}); got {Y.shape}")
        if clip_mode not in ("norm", "value"):
            raise ValueError(f"clip_mode must be 'norm' or 'value', got {clip_mode!r}")
        self.X, self.Y = X, Y
        self._Xa = augment(net.inputs(X), net.dtype)
        self.X_test = None if X_test is None else np.asarray(X_test, dtype=net.dtype)
        self.Y_test = None if Y_test is None else np.asarray(Y_test, dtype=net.dtype).reshape(len(X_test), -1)
        self.batch_size = None if batch_size is None or batch_size >= len(X) else int(batch_size)
        self.l2 = float(l2)
        self.l1 = float(l1)
        self.dropout = float(dropout)
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {dropout}")
        self.task = task
        # L1 and dropout take the recorded cycle's arithmetic (engine/network.py), so the
        # hot path below stays as it is and pays one test for them.
        self._general = bool(self.l1 or self.dropout)
        self.clip = None if clip is None else float(clip)
        self.clip_mode = clip_mode
        self.schedule = schedule or Schedule("constant")
        self.base_lr = bound_rate(opt.lr)  # the lr setter's range; a schedule keeps within it too
        self.seed = seed
        self.data = None   # set by engine.build to the Dataset
        self.config = None  # set by engine.build to the RunConfig
        self.reset_state()

    # ----- state ---------------------------------------------------------------------

    def reset_state(self):
        """Forget progress: step counters, shuffling, optimizer state and history."""
        self._rng = np.random.default_rng(self.seed)
        self._rng_state = None  # the generator's state, cached until it next draws (shuffling_state)
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
        self._g_scale = 1.0  # set by _finish: what the latest g still needs multiplying by
        self.halted = None  # NonFinite of the step that was refused, until the next good step
        self.seconds = 0.0
        self._eval_ws = {}  # evaluation's own buffers: the latest cycle's arrays stay the step's
        self.evaluated = None  # the latest evaluate()'s metrics (a new dict each time)
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

    # ----- the shuffling: saved and restored by checkpoints and run files alike -------------

    def shuffling_state(self) -> dict:
        """Where the shuffling stands: {"rng": the generator's state, "perm": this epoch's
        order of the rows (None before the first), "pos": the next row's place in it}.
        Each epoch's order is a new array, never written, so it is kept as it is."""
        # Cached: a checkpoint takes this every 256 steps, and building the state is costly
        # next to a small step; the trainer forgets the cache wherever the generator draws.
        state = self._rng_state
        if state is None:
            state = self._rng_state = self._rng.bit_generator.state
        return {"rng": state, "perm": self._perm, "pos": self._pos}

    def restore_shuffling(self, state):
        """Put the shuffling where `state` (from shuffling_state(), or a file) says.

        A state that does not fit this data (a position outside it, an order that is not a
        permutation of its rows) starts the next epoch instead, which is what a fresh
        epoch would do. A generator state NumPy cannot take raises ValueError (or
        TypeError, KeyError); "rng": None keeps the generator as it is.
        """
        if state.get("rng") is not None:
            self._rng.bit_generator.state = state["rng"]
            self._rng_state = None
        pos, perm, n = int(state.get("pos") or 0), state.get("perm"), len(self.X)
        if self.batch_size is not None and 0 < pos < n and perm is not None:
            perm = np.asarray(perm)
            if perm.shape == (n,) and perm.dtype.kind in "iu" and np.array_equal(np.sort(perm), np.arange(n)):
                self._perm, self._pos = perm.astype(np.intp, copy=False), pos
                return
        self._pos = 0

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
            self._rng_state = None
        i, j = self._pos, min(self._pos + self.batch_size, n)
        self._pos = 0 if j >= n else j
        rows = self._perm[i:j]
        Y = self.Y.take(rows, 0)
        if fresh:
            self._fresh_rows = rows  # the record path's batch: its raw inputs for the features op
            return self._Xa.take(rows, 0), Y, j >= n
        buf = self._batch_buffers.get(j - i)
        if buf is None:
            buf = self._batch_buffers[j - i] = np.empty((j - i, self._Xa.shape[1]), dtype=self._Xa.dtype)
        return np.take(self._Xa, rows, 0, buf, "clip"), Y, j >= n

    def _rate(self) -> float:
        """This step's learning rate: the schedule's, bounded to MAX_LR (engine.optim.bound_rate)."""
        schedule = self.schedule
        return self.base_lr if schedule.kind == "constant" else schedule(self.base_lr, self.epoch_count)

    def _cycle(self, record):
        """One step. Yields (phase, layer, name, equation, shapes, operands, result) when recording."""
        net = self.net
        Xa, Y, ends_epoch = self._next_batch(fresh=record)
        m = len(Y)
        ws = Workspace(net, m) if record else net.workspace(m)
        cache = {}
        step = self.step_count + 1

        if record and net.features is not None:
            # The features op: the network's input computed from the raw x = [x1, x2] (engine/features.py).
            x = self.X if self.batch_size is None else self.X.take(self._fresh_rows, 0)
            yield ("forward", 1, "X", feature_equation(net.features), f"({m}, 2) -> ({m}, {net.sizes[0]})",
                   {"x": x}, Xa[:, :-1].copy())
        dropout = None
        if self.dropout:
            # One mask per hidden layer, drawn from the run's generator: the seed reproduces it.
            p = self.dropout
            self._rng_state = None
            dropout = (p, {layer.index: dropout_mask(self._rng, m, layer.n_out, p, net.dtype)
                           for layer in net.layers[:-1]})
        yield from forward_ops(net, Xa, ws, cache, record, dropout)

        L = net.L
        out = net.layers[-1]
        value = self.loss.value(cache[f"Z{L}"], cache[f"A{L}"], Y, out.act)
        if self.l2:
            value += l2_penalty(net, self.l2, m)
        if self.l1:
            value += l1_penalty(net, self.l1, m)
        if record:
            eq = (f"L = {self.loss.formula}" + (" + (lambda / 2m) sum ||W||^2" if self.l2 else "")
                  + (" + (lambda1 / m) sum |W|" if self.l1 else ""))
            yield ("loss", 0, "L", eq, f"({m}, {out.n_out}) -> scalar",
                   {f"A{L}": cache[f"A{L}"], "Y": Y}, np.array(value))

        lr = self._rate()
        if not math.isfinite(value):
            return self._refuse(step, Xa, Y, m, "loss", lr)
        g = np.empty_like(net.theta)
        # Without L2 and L1, g stays the batch's sum (m dL/dtheta) and _finish folds the 1/m
        # into the update, as step() does: the same numbers either way.
        raw = not (self.l2 or self.l1)
        yield from backward_ops(net, Xa, ws, cache, Y, self.loss, g, self.l2, record, self.l1, dropout, not raw)

        if record:
            old = net.theta.copy()
        delta = self._finish(step, Xa, Y, m, value, lr, g, ends_epoch, cache[f"A{L}"], record,
                             1.0 / m if raw else 1.0)
        if delta is None:
            return None
        if self._g_scale != 1.0:
            g *= self._g_scale  # the gradient itself, for the records and self.last
        self.last = Cycle(cache, g, delta, Y)
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

    def step(self) -> StepResult:
        """One forward, loss, backward, update cycle on the next minibatch.

        The hot path: the arithmetic of _cycle(record=False), call for call, through a
        Plan that holds every buffer, view and bound method for this batch size, and its
        forward, loss and backward written out as one function (Plan.cycle)."""
        if self._general:
            return self._step_general()
        if self.batch_size is None:
            Xa, Y, ends_epoch = self._Xa, self.Y, True
        else:
            Xa, Y, ends_epoch = self._next_batch()
        m = len(Y)
        plan = self._plans.get(m)
        if plan is None:
            plan = self._plans[m] = Plan(self.net, self.net.workspace(m), self._g, m, self.loss)
        if Xa is not plan.Xa:
            plan.Xa, plan.XaT = Xa, Xa.T
        l2 = self.l2
        value, A = plan.cycle(Xa, plan.XaT, Y, l2)  # forward, loss, and backward when the loss is finite
        plan.A[-1] = A
        schedule = self.schedule
        lr = self.base_lr if schedule.kind == "constant" else schedule(self.base_lr, self.epoch_count)
        step = self.step_count + 1
        if not math.isfinite(value):
            self._refuse(step, Xa, Y, m, "loss", lr)
            return self._result
        g = self._g
        if l2:
            np.multiply(g, plan.inv_m, g)
            coef = l2 * (1.0 / m)  # as backward_ops computes it
            for GW, W in plan.weight_grads:
                GW += coef * W
            scale = 1.0
        else:
            scale = plan.inv_m_float  # g is m dL/dtheta: _finish folds the 1/m into the update
        opt = self.opt
        if self.clip is None and opt.__class__ is SGD:
            # _finish for plain SGD without clipping, written out (a call and its tests saved,
            # ~5% of a small step): the same calls on the same numbers, so step() and the
            # recorded path stay bit-identical (tests/engine/test_stepping.py, test_plan_cycle.py).
            # Anything unusual (a non-finite norm, a huge step) goes to _finish, which redoes it.
            gn2 = float(vdot(g, g))
            grad_norm = math.sqrt(gn2) * scale if gn2 < math.inf else math.inf
            if lr * grad_norm < 1e290:
                opt.lr = lr
                if opt._for is g:  # SGD.delta(g, scale), written out: its step buffer is checked
                    delta = _multiply(g, lr * scale if scale != 1.0 else lr, opt._step)
                else:
                    delta = opt.delta(g, scale) if scale != 1.0 else opt.delta(g)
                opt.t += 1
                theta = self.net.theta
                _subtract(theta, delta, theta)
                self.step_count = step
                if ends_epoch:
                    self.epoch_count += 1
                history = self.history  # History.add(value), written out
                tail = history._tail
                tail.append(value)
                if len(tail) >= history._cap:
                    history._compact()
                self.halted = None
                if step >= self._due:
                    self._scheduled()
                self._result = _tuple_new(StepResult, (step, self.epoch_count, value, lr, grad_norm, False, None, A, Y))
                self.last = plan
                plan.Y = Y
                plan.delta = delta
                plan.g_scale = scale
                return self._result
        delta = self._finish(step, Xa, Y, m, value, lr, g, ends_epoch, A, False, scale)
        if delta is not None:
            self.last = plan  # the latest cycle's arrays live in the plan until the next step
            plan.Y = Y
            plan.delta = delta
            plan.g_scale = self._g_scale  # plan.g applies it when first read
        return self._result

    def _step_general(self) -> StepResult:
        """A step with L1 or dropout: the recorded cycle's arithmetic, without the records."""
        for _ in self._cycle(False):
            pass
        return self._result

    def _finish(self, step, Xa, Y, m, value, lr, g, ends_epoch, A, record, scale=1.0):
        """The tail both cycles share: guard the gradient, clip it, guard the update and
        the weights it lands on, write, and book the step. Returns the update delta,
        or None when the guard refused the step (then nothing was written).

        g is the gradient divided by `scale` (the batch's sum, scale 1/m, where no L2 or
        L1 term was added). Without clipping, the optimizer folds the scale into a constant
        of its rule (SGD: lr g = (lr / m) (m g); Adam: (1 - beta1) and (1 - beta2)) and g is
        left as it is: a pass over the parameters fewer. With clipping, g is scaled first.
        Afterwards self._g_scale says what g still needs to be multiplied by to be the
        gradient (1.0: nothing); Plan.g applies it when read."""
        gn2 = float(vdot(g, g))  # vdot: no floating-point-error check (the guard reads the result)
        clip = self.clip
        opt = self.opt
        sgd = opt.name == "sgd"
        if scale != 1.0 and (clip is not None or not gn2 < math.inf or type(opt).delta not in FOLDS_SCALE):
            # Scaled first: clipping works on the gradient itself, m^2 sum g^2 may overflow
            # where sum g^2 does not, and an optimizer of the caller's may not take a scale.
            g *= scale
            scale = 1.0
            gn2 = float(vdot(g, g))
        if gn2 < math.inf:  # finite (NaN fails this too)
            grad_norm = math.sqrt(gn2) * scale
        else:
            grad_norm = long_norm(g, clip)
            if grad_norm is None:
                self._g_scale = scale
                return self._refuse(step, Xa, Y, m, "gradient", lr)
        self._g_scale = scale
        clipped = False
        if clip is not None:
            if self.clip_mode == "norm":
                if grad_norm > clip:
                    g *= clip / grad_norm
                    clipped = True
            else:
                clipped = bool(np.abs(g).max() > clip)
                np.clip(g, -clip, clip, out=g)
        opt.lr = lr
        # The optimizer's state moves on only at commit(), below.
        delta = opt.delta(g, scale) if scale != 1.0 else opt.delta(g)
        # The update and the weights it lands on. Finite weights minus a step whose entries
        # are all below 2^970 cannot overflow (the difference rounds to at most the largest
        # float), so the step's size vouches for both: SGD's is at most lr ||g|| (no NumPy
        # call needed), any other optimizer's squared norm is finite only if every entry is
        # below 2^512. Only a step that fails this is looked at entry by entry.
        if not (lr * grad_norm < 1e290 if sgd else float(vdot(delta, delta)) < math.inf):
            bad = bad_update(self.net, delta, step)
            if bad is not None:
                return self._refuse(step, Xa, Y, m, "update", lr, where=bad)
        if sgd:
            opt.t += 1  # SGD.commit(): no state to move on (a call saved)
        else:
            opt.commit()
        if record:
            delta = delta.copy()  # the optimizer reuses its step buffer; records must keep theirs
        theta = self.net.theta
        _subtract(theta, delta, theta)
        # Book the step before the record path yields its update records: a caller that
        # stops iterating midway (the UI's op mode) still leaves a consistent trainer.
        self.step_count = step
        if ends_epoch:
            self.epoch_count += 1
        self.history.add(value)
        self.halted = None
        if step >= self._due:
            self._scheduled()
        self._result = _tuple_new(StepResult, (step, self.epoch_count, value, lr, grad_norm, clipped, None, A, Y))
        return delta

    def _refuse(self, step, Xa, Y, m, stage, lr, where=None):
        """Refuse the step: nothing is written; `halted` says what went non-finite first."""
        self.halted = where or first_nonfinite(self.net, Xa, Y, self.loss, self.l2, stage, step)
        # The refused cycle may have overwritten the hot path's buffers, and it wrote no
        # update: there is no latest cycle to show (as before the first step).
        self.last = None
        self._result = StepResult(self.step_count, self.epoch_count, math.nan, lr, math.nan, False,
                                  self.halted, None, Y)

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
