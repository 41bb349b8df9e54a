"""The run controller: one trainer, who may touch it, and the snapshots the panels draw.

The dashboard, the operation view and the lesson screen all drive a RunController;
`netstep lessons --check` drives the same one headless. While paused, the caller's
thread calls it directly. While playing, a worker thread owns the trainer: it steps
at full speed (or the chosen speed) and, between chunks of CHUNK_SECONDS, runs any
queued commands (a learning-rate change, a reset) and, when the UI asks, copies the
numbers the panels need into a frozen Snapshot. The UI draws snapshots only, so it
never reads an array that a step is halfway through writing, and it never does the
math: every number in a snapshot comes from the engine.

A lesson adds to a run without a second copy of any of this: `on_step` sees every
accepted step (the comparison run steps in lockstep there), `watcher` says where
play must stop and look (the step's budget, a check that now holds), and `extras`
adds the lesson's fields to each snapshot.

No Textual here. The operation view's stepping and hand edits of a weight are in
tui/run/ops.py (OpControls); the play loop and the snapshot stay together here (both decide
what a snapshot may show, and how often while playing it measures the loss, the
diagnostics and the curve).
"""

from __future__ import annotations

import math
import threading
import time
from concurrent.futures import Future

import numpy as np

import engine
import engine.diagnostics
import engine.stepper
from tui.opstate import op_view
from tui.run.ops import EDIT_ROWS, MAX_EDIT, OpControls, quiet as _quiet  # noqa: F401  (re-exported)
from tui.run.plane import PlaneMaker
from tui.run.rate import RateMeter
from tui.run.snapshot import Snapshot, facts_of

TICK_HZ = 13                     # the UI samples the latest snapshot this often (every screen): >= 12 frames/s
CHUNK_SECONDS = 0.01             # the worker checks for commands and snapshot requests this often
# While playing, full-data evaluate() runs for a snapshot at most every EVAL_INTERVAL (on digits
# it is ~1.5 ms, per frame the largest part of a snapshot): a snapshot in between carries the
# latest metrics (the trainer's own scheduled evaluations included), and metrics["step"] says
# which step they describe (Snapshot.loss_step; the status line and the loss panel say it when
# it is not the snapshot's step). Paused, or in a lesson (whose verdicts read the metrics),
# every snapshot's metrics are at its own step.
EVAL_INTERVAL = 0.25
# While playing, the history's curve (bounded, ~0.6 ms to copy) is taken for a snapshot at most
# every CURVE_INTERVAL; it names its own last step (curve.n_steps), and the loss plot's x axis
# ends there. Paused, and after a rewind or a new run, every snapshot takes it afresh.
CURVE_INTERVAL = 0.25
SPEEDS = (None, 1000, 100, 10)   # steps per second while playing; None is full speed
# Full-data evaluation and diagnostics: on the thread owning the trainer, once per snapshot of
# a moved run when paused (once per key), at the snapshot's step. Playing, diagnostics (~3 ms on
# digits) are measured at most every DIAG_INTERVAL: a snapshot in between carries the last one,
# whose "step" names the step it describes (panel subtitle).
DIAG_INTERVAL = 0.5      # the diagnostics panel redraws at most every 0.5 s (its MIN_INTERVAL) anyway


class RunController(OpControls):
    """The trainer of the current run and everything around it that outlives one frame.

    stop_at_epochs: play stops once at the configured number of epochs (the dashboard);
    a lesson's steps have their own budgets instead (see `watcher`)."""

    def __init__(self, trainer, stop_at_epochs=True):
        self._qlock = threading.Lock()
        self._queue: list[tuple] = []
        self._worker_active = False
        self._want = False
        self.playing = False
        self.stop_at_epochs = stop_at_epochs
        self.worker_runs = 0       # play loops started (a new one resets worker_cpu's thread clock)
        self.worker_cpu = 0.0      # CPU seconds of the current play loop's thread so far
        self.speed_index = 0
        self.run_id = 0
        self.version = 0
        self.rate = RateMeter()
        self.finished = False      # play stopped because the configured epochs were reached
        self.unlimited = False     # play past the configured epochs (after the first stop there)
        self.op_mode = False       # the operation view is open: snapshots show the arrays as at its op
        self.on_step = None        # fn(StepResult) after every accepted step (lessons: the comparison run)
        self.watcher = None        # lessons: .next_stop(step_count) -> int | None, .at_stop() -> reason | None
        self.extras = None         # lessons: fn(fields) -> a Snapshot subclass holding fields and its own
        self._diag = None
        self._diag_error = None
        self._diag_at = -math.inf  # perf_counter() of the latest measurement
        self._eval_at = -math.inf  # perf_counter() of the latest evaluation for a snapshot while playing
        self._curve = None         # (perf_counter(), curve) of the latest curve taken for a snapshot
        self.planes = PlaneMaker()  # unit maps, boundary, confusion: at most 3 a second while playing
        self.install(trainer)
        self.latest = self.snapshot()

    # ----- the run ----------------------------------------------------------------------

    def install(self, trainer):
        """Make `trainer` the run (a rebuild, a loaded file, a lesson step's fresh run)."""
        self.trainer = trainer
        self.config = trainer.config
        self.facts = facts_of(trainer)
        self.run_id += 1
        self.version += 1
        self._prev = trainer.net.theta.copy()  # theta before the latest step: its change is theta - prev
        self._stepped = False
        self.finished = False
        self.unlimited = False
        self.rate.reset()
        self._diag_key = None
        self._eval_at = -math.inf
        self._curve = None
        self.stepper = engine.stepper.OpStepper(trainer)  # op mode: one matrix operation at a time
        self.edit = None           # the latest hand edit of a weight (until the next step)
        with _quiet():
            self.metrics = trainer.evaluate()  # recorded once per step: a loaded run's last point is kept

    def rebuild(self, config):
        """A fresh run for `config`. Raises engine.ConfigError (or NetstepError) and keeps the old run."""
        self.install(engine.build(config))

    def load(self, path):
        """Replace the run with one saved to `path`. Raises engine.FileFormatError and keeps the old run."""
        self.install(engine.io.load(path))

    def reset(self):
        self.rebuild(self.config)

    def new_seed(self):
        self.rebuild(self.config.replace(seed=self.config.seed + 1))

    def touched(self, weights=False):
        """The caller changed the trainer directly (a lesson's change): take fresh measurements.

        weights: the weights themselves changed (the caller abandoned any open op cycle first),
        so theta - prev is no longer the latest update."""
        if weights:
            self._stepped = False
        self._curve = None
        with _quiet():
            self.metrics = self.trainer.evaluate()
        self.version += 1

    def rewind(self):
        """Back to the trainer's newest checkpoint from before a blow-up. Returns its step."""
        self.stepper.reset()
        step = self.trainer.rewind()
        self._curve = None         # the history was cut back
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
        self.version += 1
        return self.speed

    # ----- stepping ----------------------------------------------------------------------

    def _booked(self, result):
        """A step was accepted (by step(), play or op stepping): tell the lesson, if any."""
        if self.on_step is not None and result is not None and result.ok:
            self.on_step(result)

    def _evaluate_after(self, before):
        """Full-data metrics now: the trainer's scheduled evaluation if it ran since `before`."""
        m = self.trainer.evaluated
        fresh = m is not before and m is not None and m["step"] == self.trainer.step_count
        return dict(m) if fresh else self.trainer.evaluate()

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
        before = trainer.evaluated
        with _quiet():
            result = trainer.step()
            self._stepped = result.ok
            if result.ok:
                self._booked(result)
                self.metrics = self._evaluate_after(before)
        self.version += 1
        return result

    # ----- playing -----------------------------------------------------------------------

    @property
    def target_step(self):
        """Play stops at the configured number of epochs, once; after that it runs on."""
        if self.unlimited or not self.stop_at_epochs:
            return None
        return self.config.epochs

    def play_loop(self, should_stop=lambda: False):
        """The worker's body: train at full speed (or the chosen speed) until told to stop,
        the guard refuses a step, the configured epochs are done or the watcher stops it.
        Returns the reason: "paused", "halted", "finished" or the watcher's."""
        with self._qlock:
            self._worker_active = True
        self.playing = True
        self.rate.reset()
        self.worker_runs += 1
        reason = "paused"
        perf = time.perf_counter
        start_t = perf()
        last_rate = 0.0
        done = 0
        quiet = _quiet()
        quiet.__enter__()
        try:
            while self.playing and not should_stop():
                trainer = self.trainer
                net_theta = trainer.net.theta
                prev = self._prev
                step = trainer.step
                on_step = self.on_step
                if on_step is not None:
                    def step(step=step):
                        r = step()
                        if r.ok:
                            on_step(r)
                        return r
                speed = self.speed
                target = self.target_step
                stop_at = self.watcher.next_stop(trainer.step_count) if self.watcher is not None else None
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
                while stop_at is None or trainer.step_count < stop_at:
                    # Only a chunk's last step can be on screen: keep the weights before it
                    # (for "last change") then, not before every step.
                    last = (perf() >= deadline or (budget is not None and n + 1 >= budget)
                            or (stop_at is not None and trainer.step_count + 1 >= stop_at)
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
                if n:
                    self._stepped = result.ok and last
                    self.version += 1
                now = perf()
                if now - last_rate > 0.05:
                    self.rate.add(now, trainer.step_count)
                    self.worker_cpu = time.thread_time()  # the app's drawing budget subtracts it
                    last_rate = now
                if result is not None and not result.ok:
                    reason = "halted"
                    self.playing = False
                elif target is not None and trainer.epoch_count >= target:
                    reason = "finished"
                    self.finished = True
                    self.unlimited = True
                    self.playing = False
                if n and not self.playing and trainer.halted is None:
                    self.metrics = trainer.evaluate()  # the stopped run's loss (snapshots evaluate the rest)
                if self.playing and stop_at is not None and trainer.step_count >= stop_at:
                    if trainer.halted is None and self.metrics["step"] != trainer.step_count:
                        self.metrics = self._latest_metrics()   # the check looks at this step
                    why = self.watcher.at_stop()
                    if why:
                        reason = why
                        self.playing = False
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

    def _diagnostics(self):
        """engine.diagnostics for the run as it stands, once per (run, version)."""
        key = (self.run_id, self.version)
        if key == self._diag_key:
            return
        now = time.perf_counter()
        if (self.playing and self._diag_key is not None and self._diag_key[0] == self.run_id
                and now - self._diag_at < DIAG_INTERVAL):
            return   # the last measurement stands (it names its own step)
        self._diag_key = key
        self._diag_at = now
        try:
            self._diag = engine.diagnostics.measure(self.trainer).to_dict()
            self._diag_error = None
        except Exception as e:  # a diagnostics bug must not take the app down
            self._diag = None
            self._diag_error = f"{type(e).__name__}: {e}"

    def _latest_metrics(self):
        """Full-data metrics at the current step: the trainer's own evaluation if it made one
        there (its scheduled steps), else a fresh evaluate()."""
        m = self.trainer.evaluated
        if m is not None and m["step"] == self.trainer.step_count and m is not self.metrics:
            return dict(m)
        return self.trainer.evaluate(record=False)

    def _metrics(self):
        """The metrics a snapshot carries (see EVAL_INTERVAL)."""
        trainer = self.trainer
        if self.edit is not None or self.metrics.get("step") == trainer.step_count:
            return
        now = time.perf_counter()
        # A lesson (a watcher) evaluates for every snapshot: its verdicts read these metrics.
        if self.playing and self.watcher is None and now - self._eval_at < EVAL_INTERVAL:
            m = trainer.evaluated   # a scheduled evaluation since costs nothing: the newest stands
            if m is not None and m["step"] > self.metrics.get("step", -1):
                self.metrics = dict(m)
            return
        # The headline loss is the full-data loss at the weights on show (as `train --json`);
        # after a refused step too: the kept weights' loss (often inf), never an old number.
        self._eval_at = now
        self.metrics = self._latest_metrics()

    def _take_curve(self):
        """The history's curve for a snapshot (see CURVE_INTERVAL)."""
        now = time.perf_counter()
        if self.playing and self._curve is not None and now - self._curve[0] < CURVE_INTERVAL:
            return self._curve[1]
        curve = self.trainer.history.curve()
        self._curve = (now, curve)
        return curve

    def snapshot(self) -> Snapshot:
        """Copy what the panels need. Call only while owning the trainer."""
        trainer = self.trainer
        net = trainer.net
        with _quiet():
            self._metrics()
            self._diagnostics()
        theta = net.theta.copy()
        last = trainer.last
        g = None if last is None else np.array(last.g, copy=True)
        change = theta - self._prev if self._stepped else None
        result = trainer.result
        params, grads, changes = {}, {}, {}
        views = net.grad_views  # name-keyed views of any flat vector laid out like theta
        for name, view in views(theta).items():
            params[name[1:]] = view
        if g is not None:
            grads = views(g)
        if change is not None:
            changes = views(change)
        opv = op_view(self.stepper, trainer) if self.op_mode and not self.playing else None
        if opv is not None:
            # The arrays as they stand at the op on show (the engine's records; see tui/opstate.py).
            for name, value in opv.params.items():
                params[name][...] = value  # views of this snapshot's own copy of theta
            grads, changes = dict(opv.grads), dict(opv.changes)
        plane, confusion = self.planes.take(trainer, self.run_id, self.version, self.playing, self.facts, theta)
        fields = dict(
            version=self.version, run_id=self.run_id, facts=self.facts, config=self.config,
            step=trainer.step_count, epoch=trainer.epoch_count, loss=self.metrics.get("loss"),
            grad_norm=None if result is None else result.grad_norm, clipped=result is not None and result.clipped,
            lr=trainer.lr, l2=trainer.l2, optimizer=trainer.opt.name, metrics=dict(self.metrics),
            theta=theta, g=g, change=change, params=params, grads=grads, changes=changes,
            curve=self._take_curve(),
            diagnostics=self._diag, diag_error=self._diag_error, halted=trainer.halted,
            playing=self.playing, steps_per_s=self.rate.rate() if self.playing else None,
            speed=self.speed, finished=self.finished, taken_at=time.perf_counter(),
            op_view=opv, edit=self.edit, plane=plane, confusion=confusion,
        )
        if self.extras is not None:
            return self.extras(fields)
        return Snapshot(**fields)
