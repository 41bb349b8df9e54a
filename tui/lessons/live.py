"""Snapshots of a lesson's run, in the form the dashboard's panels draw.

The dashboard's panels (tui/widgets) draw a tui.state.Snapshot: copies of the
numbers taken at one moment. LessonLive takes the same snapshots of a
LessonSession's run, plus what only lessons show: the step's verdicts, the current
operation, the gradient-check report, the comparison run and the first examples'
numbers. While playing, the worker thread takes them between chunks (it owns the
trainer then); when paused, the UI takes them after each key. No Textual here.
"""

from __future__ import annotations

import math
import time

import numpy as np

import engine.diagnostics
from tui.state import RateMeter, Snapshot

DIAG_INTERVAL = 0.25     # diagnostics at most 4 times a second while playing
OUTPUT_ROWS = 8          # examples shown in the outputs panel


class LessonLive:
    def __init__(self, session):
        self.session = session
        self.run_id = 0
        self.version = 0
        self.playing = False
        self.rate = RateMeter()
        self.latest = None
        self._trainer = None
        self._diag = None
        self._diag_error = None
        self._diag_at = -math.inf
        self._diag_key = None
        self.verdicts = []

    def _diagnostics(self, trainer, force):
        key = (self.run_id, trainer.step_count)
        now = time.perf_counter()
        if key == self._diag_key or (not force and now - self._diag_at < DIAG_INTERVAL):
            return
        self._diag_key, self._diag_at = key, now
        try:
            self._diag = engine.diagnostics.compute(trainer)
            self._diag_error = None
        except Exception as e:  # a diagnostics bug must not take the lesson down
            self._diag, self._diag_error = None, f"{type(e).__name__}: {e}"

    def take(self, verdicts=None) -> Snapshot:
        """A snapshot of the session's run. Call holding session.lock (or from the worker)."""
        s = self.session
        t = s.trainer
        if t is not self._trainer:
            self._trainer = t
            self.run_id += 1
            self._diag_key = None
        if verdicts is not None:
            self.verdicts = verdicts
        self.version += 1
        net = t.net
        theta = net.theta.copy()
        last = t.last
        g = None if last is None else np.array(last.g, copy=True)
        delta = getattr(last, "delta", None) if last is not None else None
        change = None if delta is None else -np.asarray(delta)
        self._diagnostics(t, force=not self.playing)
        views = net.grad_views
        params = {name[1:]: view for name, view in views(theta).items()}
        grads = views(g) if g is not None else {}
        changes = views(change.copy()) if change is not None else {}
        result = t.result
        metrics = dict(s.metrics) if s.metrics is not None else {}
        stepper = s.stepper
        op = stepper.current if stepper is not None else None
        with np.errstate(all="ignore"):
            rows = min(OUTPUT_ROWS, len(t.X))
            _, cache = net.copy().forward(t.X[:rows])
        outputs = {"X": t.X[:rows].copy(), "Y": t.Y[:rows].copy(), "total": len(t.X),
                   **{k: v.copy() for k, v in cache.items() if k != "X"}}
        compare = s.compare
        return_snap = Snapshot(
            version=self.version, run_id=self.run_id, trainer=t, config=t.config,
            step=t.step_count, epoch=t.epoch_count,
            loss=None if result is None else result.loss,
            grad_norm=None if result is None else result.grad_norm,
            clipped=False if result is None else result.clipped,
            lr=t.lr, optimizer=t.opt.name, metrics=metrics,
            theta=theta, g=g, change=change, params=params, grads=grads, changes=changes,
            curve=t.history.curve(),
            diagnostics=self._diag, diag_error=self._diag_error, halted=t.halted,
            playing=self.playing, steps_per_s=self.rate.rate() if self.playing else None,
            speed=None, finished=False, taken_at=time.perf_counter(),
            # lesson-only fields
            lesson_index=s.index, verdicts=list(self.verdicts), note=s.note,
            op=op, cycle_ops=stepper.cycle_ops() if stepper is not None else [],
            gradcheck=s.state.gradcheck, backward=s.backward, outputs=outputs,
            compare=compare, compare_loss=list(s.compare_loss),
            compare_curve=compare.history.curve() if compare is not None else None,
            compare_metrics=dict(s.compare_metrics) if s.compare_metrics else None,
            steps_in_step=s.steps_in_step, budget_left=s.budget_left,
        )
        self.latest = return_snap
        return return_snap
