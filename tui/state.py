"""The app's state: the trainer, who may touch it, and the snapshot the panels draw.

While paused, the UI thread calls the trainer directly. While playing, a worker
thread owns the trainer: it steps at full speed and, between short chunks of steps,
runs any queued commands (a learning-rate change, a reset) and, when the UI asks,
copies the numbers the panels need into a Snapshot. The UI draws snapshots only, so
it never reads an array that a step is halfway through writing, and it never does
the math: every number in a snapshot comes from the engine.

No Textual here: the state is driven the same way by the app, tests and benchmarks.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from concurrent.futures import Future

import numpy as np

import engine
import engine.diagnostics
import engine.stepper
from tui.opstate import WeightEdit, op_view

EDIT_ROWS = 8                    # examples whose outputs a weight edit shows before and after
MAX_EDIT = 1e6                   # |weight| a hand edit may set (larger ones overflow the forward pass)
SPEEDS = (None, 1000, 100, 10)   # steps per second while playing; None is full speed
CHUNK_SECONDS = 0.01             # the worker checks for commands and snapshot requests this often
EVAL_INTERVAL = 0.05             # full-data evaluate() at most 20 times a second while playing
DIAG_INTERVAL = 0.25             # diagnostics at most 4 times a second while playing


class Snapshot:
    """Copies of everything the panels show, taken at one moment. Read-only by convention."""

    def __init__(self, **fields):
        self.__dict__.update(fields)

    # fields: version, run_id, trainer (static facts only: config, data, net layout), config,
    # step, epoch, loss, grad_norm, clipped, lr, optimizer, metrics, theta, g, change,
    # params, grads, changes, curve (engine.history.Curve), diagnostics, diag_error, halted,
    # playing, steps_per_s, speed, finished, taken_at

    def param(self, name):
        """W1, b1, ... (and dW1, db1, ..., ΔW1 ...) from this snapshot, or None."""
        if name.startswith("d"):
            return self.grads.get(name) if self.grads else None
        if name.startswith("Δ"):
            return self.changes.get("d" + name[1:]) if self.changes else None
        return self.params.get(name)


class RateMeter:
    """Steps per second over the last second or so."""

    def __init__(self, window=1.0):
        self.window = window
        self.samples = deque()

    def reset(self):
        self.samples.clear()

    def add(self, now, total_steps):
        self.samples.append((now, total_steps))
        while len(self.samples) > 2 and now - self.samples[0][0] > self.window:
            self.samples.popleft()

    def rate(self):
        if len(self.samples) < 2:
            return None
        (t0, s0), (t1, s1) = self.samples[0], self.samples[-1]
        return (s1 - s0) / (t1 - t0) if t1 > t0 else None


class RunState:
    """The trainer of the current run and everything around it that outlives one frame."""

    def __init__(self, trainer):
        self._qlock = threading.Lock()
        self._queue: list[tuple] = []
        self._worker_active = False
        self._want = False
        self.playing = False
        self.worker_runs = 0       # play loops started (a new one resets worker_cpu's thread clock)
        self.worker_cpu = 0.0      # CPU seconds of the current play loop's thread so far
        self.speed_index = 0
        self.run_id = 0
        self.version = 0
        self.rate = RateMeter()
        self.finished = False      # play stopped because the configured epochs were reached
        self.unlimited = False     # play past the configured epochs (after the first stop there)
        self._diag = None
        self._diag_error = None
        self._diag_at = -math.inf
        self._diag_version = -1
        self.op_mode = False       # the operation view is open: snapshots show the arrays as at its op
        self._install(trainer)
        self.latest = self.snapshot()

    # ----- the run ----------------------------------------------------------------------

    def _install(self, trainer):
        self.trainer = trainer
        self.config = trainer.config
        self.run_id += 1
        self.version += 1
        self._prev = trainer.net.theta.copy()  # theta before the latest step: its change is theta - prev
        self._stepped = False
        self.finished = False
        self.unlimited = False
        self.rate.reset()
        self._diag_version = -1
        self.stepper = engine.stepper.OpStepper(trainer)  # op mode: one matrix operation at a time
        self.edit = None           # the latest hand edit of a weight (until the next step)
        self.metrics = trainer.evaluate()  # recorded once per step: a loaded run's last point is kept

    def rebuild(self, config):
        """A fresh run for `config`. Raises engine.ConfigError (or NetstepError) and keeps the old run."""
        self._install(engine.build(config))

    def load(self, path):
        """Replace the run with one saved to `path`. Raises engine.FileFormatError and keeps the old run."""
        self._install(engine.io.load(path))

    def reset(self):
        self.rebuild(self.config)

    def new_seed(self):
        self.rebuild(self.config.replace(seed=self.config.seed + 1))

    def rewind(self):
        """Back to the trainer's newest checkpoint from before a blow-up. Returns its step."""
        self.stepper.reset()
        step = self.trainer.rewind()
        np.copyto(self._prev, self.trainer.net.theta)
        self._stepped = False
        self.finished = False
        self.metrics = self.trainer.evaluate()
        self.version += 1
        return step

    def set_lr(self, value):
        """Set the learning rate (the trainer's and the config's, so a reset keeps it)."""
        if self.trainer.halted is None:
            self.trainer.checkpoint()  # a point to rewind to if the new rate blows the run up
        self.trainer.lr = value                      # ValueError outside (0, 1e6]
        self.config = self.config.replace(lr=self.trainer.lr)
        self.trainer.config = self.config
        self.version += 1

    @property
    def speed(self):
        return SPEEDS[self.speed_index]

    def cycle_speed(self):
        self.speed_index = (self.speed_index + 1) % len(SPEEDS)
        return self.speed

    # ----- stepping ----------------------------------------------------------------------

    def step(self):
        """One full cycle (forward, loss, backward, update), then a full-data evaluation.

        A cycle left open by op mode is finished instead (that is the step), so a step
        never starts mid-cycle and stays exactly Trainer.step()'s arithmetic."""
        if self.stepper.in_cycle:
            self.finish_ops()
            return self.trainer.result
        self.stepper.reset()  # the ops kept are of earlier cycles now
        self.edit = None
        trainer = self.trainer
        np.copyto(self._prev, trainer.net.theta)
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):  # the guard reports these
            result = trainer.step()
        self._stepped = result.ok
        if result.ok:
            self.metrics = trainer.evaluate()
        self.version += 1
        return result

    # ----- op mode: one matrix operation at a time (engine.stepper.OpStepper) --------------

    def _ops_moved(self, before):
        """After the stepper ran: if its cycle booked a step, record it as step() does."""
        trainer = self.trainer
        if trainer.step_count != before:
            self._stepped = True
            self.metrics = trainer.evaluate()
        self.version += 1

    def next_op(self):
        """Show the next operation, computing it at the newest one. None if the guard refused the step."""
        trainer, stepper = self.trainer, self.stepper
        before = trainer.step_count
        if stepper.at_newest and not stepper.in_cycle:
            np.copyto(self._prev, trainer.net.theta)  # a new cycle: its change is measured from here
            self.edit = None
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):  # the guard reports these
            op = stepper.next()
        self._ops_moved(before)
        return op

    def prev_op(self):
        """Show the previous operation (computes nothing)."""
        op = self.stepper.back()
        self.version += 1
        return op

    def goto_op(self, op):
        """Show a retained operation (an Op or its position in stepper.ops)."""
        op = self.stepper.goto(op)
        self.version += 1
        return op

    def finish_ops(self) -> bool:
        """Run the rest of a cycle left open by op mode (exactly the step it began). False if none was open."""
        trainer, stepper = self.trainer, self.stepper
        if not stepper.in_cycle:
            return False
        before = trainer.step_count
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            stepper.finish_cycle()
        self._ops_moved(before)
        return True

    def step_ops(self):
        """One whole cycle through the stepper (the op view then lists every op of it).

        The same arithmetic as step(); a cycle left open is finished instead."""
        if self.finish_ops():
            return self.trainer.result
        stepper = self.stepper
        stepper.finish_cycle()  # only moves the cursor to the newest op: the next one starts a cycle
        op = self.next_op()
        if op is not None:
            self.finish_ops()
        return self.trainer.result

    def leave_ops(self):
        """Before play: finish a cycle left open, and forget the ops (training moves past them)."""
        finished = self.finish_ops()
        self.stepper.reset()
        return finished

    def edit_weight(self, name, index, value) -> WeightEdit:
        """Set one entry of a parameter and evaluate at once, without a training step.

        `value` must be a finite number with |value| <= MAX_EDIT (ValueError otherwise,
        naming what is allowed). An open op cycle is abandoned and the ops forgotten:
        their numbers were computed with the old weight."""
        value = float(value)
        if not (abs(value) <= MAX_EDIT):  # also refuses NaN
            raise ValueError(f"a weight must be a finite number between -{MAX_EDIT:g} and {MAX_EDIT:g}")
        trainer = self.trainer
        net = trainer.net
        if name not in net.params:
            raise ValueError(f"no parameter {name}; the network has {', '.join(net.params)}")
        P = net.params[name]
        index = tuple(int(i) for i in index)
        if len(index) != P.ndim or not all(0 <= i < n for i, n in zip(index, P.shape)):
            raise ValueError(f"{name} has shape {P.shape}; no entry {index}")
        before = trainer.step_count
        cleared = bool(self.stepper.ops)
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            self.stepper.abandon()  # finishes instead when the update was already applied
            if trainer.step_count != before:
                self._ops_moved(before)
            self.stepper.reset()
            rows = min(EDIT_ROWS, len(trainer.X))
            X, Y = trainer.X[:rows], trainer.Y[:rows]
            out_before = net.predict(X)
            metrics_before = dict(self.metrics)
            old = float(P[index])
            P[index] = value  # the network's own array: the engine reads it from here on
            out_after = net.predict(X)
            self.metrics = trainer.evaluate(record=False)
        self._stepped = False  # theta - prev would count the edit as the latest update
        self.edit = WeightEdit(name, index, old, float(P[index]), X.copy(), Y.copy(), out_before, out_after,
                               metrics_before, dict(self.metrics), cleared)
        self.version += 1
        return self.edit

    @property
    def target_step(self):
        """Play stops at the configured number of epochs, once; after that it runs on."""
        if self.unlimited:
            return None
        return self.config.epochs

    def play_loop(self, should_stop=lambda: False):
        """The worker's body: train at full speed (or the chosen speed) until told to stop,
        the guard refuses a step, or the configured epochs are done. Returns the reason."""
        with self._qlock:
            self._worker_active = True
        self.rate.reset()
        self.worker_runs += 1
        reason = "paused"
        perf = time.perf_counter
        start_t = perf()
        last_eval = start_t
        last_rate = 0.0
        done = 0
        quiet = np.errstate(over="ignore", invalid="ignore", divide="ignore")  # the guard reports these
        quiet.__enter__()
        try:
            while self.playing and not should_stop():
                trainer = self.trainer
                net_theta = trainer.net.theta
                prev = self._prev
                step = trainer.step
                speed = self.speed
                target = self.target_step
                now = perf()
                deadline = now + CHUNK_SECONDS
                budget = None
                if speed is not None:
                    budget = int(speed * (now - start_t)) - done
                    if budget <= 0:
                        time.sleep(min(CHUNK_SECONDS, (1 - budget) / speed))
                        self._service()
                        continue
                n = 0
                result = None
                last = False
                while True:
                    # Only a chunk's last step can be on screen: keep the weights before it
                    # (for "last change") then, not before every step.
                    last = (perf() >= deadline or (budget is not None and n + 1 >= budget)
                            or (target is not None and trainer.epoch_count + 1 >= target
                                and trainer.steps_per_epoch == 1))
                    if last:
                        np.copyto(prev, net_theta)
                    result = step()
                    n += 1
                    if not result.ok or last:
                        break
                    if target is not None and trainer.epoch_count >= target:
                        break
                done += n
                self._stepped = result.ok and last
                self.version += 1
                now = perf()
                if now - last_rate > 0.05:
                    self.rate.add(now, trainer.step_count)
                    self.worker_cpu = time.thread_time()  # the app's drawing budget subtracts it
                    last_rate = now
                if not result.ok:
                    reason = "halted"
                    self.playing = False
                elif target is not None and trainer.epoch_count >= target:
                    reason = "finished"
                    self.finished = True
                    self.unlimited = True
                    self.playing = False
                if now - last_eval >= EVAL_INTERVAL or not self.playing:
                    if trainer.halted is None:
                        self.metrics = trainer.evaluate()
                    last_eval = now
                self._service()
                if speed is not None:
                    if self.speed != speed:  # speed changed: start pacing afresh
                        start_t, done = perf(), 0
        finally:
            quiet.__exit__(None, None, None)
            with self._qlock:
                self._worker_active = False
                queued, self._queue = self._queue, []
            for fn, fut in queued:
                self._run(fn, fut)
            self.playing = False
            self.rate.reset()
            self.latest = self.snapshot()
        return reason

    def _service(self):
        """Between chunks: run queued commands, then take a snapshot if one was asked for."""
        if self._queue:
            with self._qlock:
                queued, self._queue = self._queue, []
            for fn, fut in queued:
                self._run(fn, fut)
        if self._want:
            self._want = False
            self.latest = self.snapshot()

    @staticmethod
    def _run(fn, fut):
        try:
            fut.set_result(fn())
        except BaseException as e:  # handed to whoever waits on the future
            fut.set_exception(e)

    def submit(self, fn) -> Future:
        """Run fn() with the trainer to itself: now when paused, between chunks when playing."""
        fut = Future()
        with self._qlock:
            if self._worker_active:
                self._queue.append((fn, fut))
                return fut
        self._run(fn, fut)
        return fut

    @property
    def worker_active(self) -> bool:
        return self._worker_active

    def request_snapshot(self):
        """Ask the worker for a fresh snapshot at its next chunk boundary (UI timer)."""
        self._want = True

    def refresh(self):
        """Take a snapshot now (the caller owns the trainer: paused, or inside a queued command)."""
        self.latest = self.snapshot()
        return self.latest

    # ----- snapshots ---------------------------------------------------------------------

    def _diagnostics(self, force):
        now = time.perf_counter()
        if self._diag_version == self.version:
            return
        if not force and now - self._diag_at < DIAG_INTERVAL:
            return
        self._diag_at = now
        self._diag_version = self.version
        try:
            self._diag = engine.diagnostics.compute(self.trainer)
            self._diag_error = None
        except Exception as e:  # a diagnostics bug must not take the app down
            self._diag = None
            self._diag_error = f"{type(e).__name__}: {e}"

    def snapshot(self) -> Snapshot:
        """Copy what the panels need. Call only while owning the trainer."""
        trainer = self.trainer
        net = trainer.net
        theta = net.theta.copy()
        last = trainer.last
        g = None if last is None else np.array(last.g, copy=True)
        change = theta - self._prev if self._stepped else None
        self._diagnostics(force=not self._worker_active)
        result = trainer.result
        history = trainer.history
        params, grads, changes = {}, {}, {}
        views = net.grad_views  # name-keyed views of any flat vector laid out like theta
        for name, view in views(theta).items():
            params[name[1:]] = view
        if g is not None:
            grads = views(g)
        if change is not None:
            changes = views(change)
        # A loaded run has no StepResult yet: its history's last step stands in.
        loss = result.loss if result is not None else history.last_loss
        opv = op_view(self.stepper, trainer) if self.op_mode and not self.playing else None
        if opv is not None:
            # The arrays as they stand at the op on show (the engine's records; see tui/opstate.py).
            for name, value in opv.params.items():
                params[name][...] = value  # views of this snapshot's own copy of theta
            grads, changes = dict(opv.grads), dict(opv.changes)
        if self.edit is not None:
            loss = self.edit.metrics_after["loss"]  # the loss at the edited weights (full data)
        return Snapshot(
            version=self.version, run_id=self.run_id, trainer=trainer, config=self.config,
            step=trainer.step_count, epoch=trainer.epoch_count,
            loss=loss,
            grad_norm=None if result is None else result.grad_norm,
            clipped=False if result is None else result.clipped,
            lr=trainer.lr, optimizer=trainer.opt.name, metrics=dict(self.metrics),
            theta=theta, g=g, change=change, params=params, grads=grads, changes=changes,
            curve=history.curve(),
            diagnostics=self._diag, diag_error=self._diag_error, halted=trainer.halted,
            playing=self.playing, steps_per_s=self.rate.rate() if self.playing else None,
            speed=self.speed, finished=self.finished, taken_at=time.perf_counter(),
            op_view=opv, edit=self.edit,
        )


class View:
    """What the user chose to look at (UI only; the trainer knows nothing of it)."""

    def __init__(self):
        self.layer = 1          # the layer the weights panel and the network highlight show
        self.log_scale = False  # the loss plot's y axis
        self.side = 0           # compact layout: which panel fills the right column
        self.full_precision = False  # numbers as the engine holds them (repr) instead of rounded

    def clamp_layer(self, L: int) -> int:
        self.layer = max(1, min(self.layer, L))
        return self.layer
