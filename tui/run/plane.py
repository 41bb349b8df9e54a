"""The input plane for the snapshots: unit maps, the decision boundary and the confusion counts.

The run controller asks `PlaneMaker.take(trainer, ...)` for every snapshot; it
evaluates the network (engine.plane.evaluate: one batched forward over the plane)
only when the weights moved and, while playing, at most once every PLANE_INTERVAL
seconds (the panels show the plane as of its own step, a fraction of a second old).
Paused, every step, edit or rebuild gets a fresh one. The panels never call the
network: they colour these arrays.

No Textual here.
"""

from __future__ import annotations

import time

import numpy as np

import engine.metrics as metrics
import engine.plane

PLANE_INTERVAL = 1 / 3    # while playing: at most 3 planes a second (the boundary panel's old redraw rate)
PLANE_SHAPE = (40, 80)    # the boundary's grid (rows, cols) until a panel asks for its own size
MAX_CELLS = 160 * 120     # the largest boundary grid a panel may ask for


class PlaneMaker:
    """Evaluates the plane for a run's snapshots, at a bounded rate. Set `shape` and `unit` from the UI."""

    def __init__(self):
        self.shape = PLANE_SHAPE
        self.unit = None        # (layer, j): that unit's map at the boundary's resolution
        self._key = None
        self._at = -float("inf")
        self._plane = None
        self._confusion = None
        self._extent = None     # (run_id, lo, hi): the plane stays put while a run lives
        self._net = None        # (run_id, a private network of the run's shape)

    def ask(self, shape=None, unit=...):
        """What the panels want: the boundary's (rows, cols) and the chosen unit (None for none)."""
        if shape is not None:
            rows, cols = max(2, int(shape[0])), max(2, int(shape[1]))
            while rows * cols > MAX_CELLS:   # keep the aspect, bound the cost
                rows, cols = max(2, rows * 3 // 4), max(2, cols * 3 // 4)
            self.shape = (rows, cols)
        if unit is not ...:
            self.unit = None if unit is None else (int(unit[0]), int(unit[1]))

    def take(self, trainer, run_id, version, playing, facts, theta):
        """(plane or None, confusion or None) for a snapshot whose weights are `theta`.

        The network evaluated is a private copy holding theta (in op mode the weights as at
        the operation on show), so the trainer's own is never touched."""
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):  # huge hand-set weights
            return self._take(trainer, run_id, version, playing, facts, theta)

    def _take(self, trainer, run_id, version, playing, facts, theta):
        key = (run_id, version, self.shape, self.unit)
        if key == self._key:
            return self._plane, self._confusion
        now = time.monotonic()
        if playing and self._key is not None and self._key[0] == run_id and now - self._at < PLANE_INTERVAL:
            return self._plane, self._confusion   # the last one, a fraction of a second old
        self._key, self._at = key, now
        if self._net is None or self._net[0] != run_id:
            self._net = (run_id, facts.network())
        net = self._net[1]
        net.theta[...] = theta
        X, Y = facts.X, facts.Y
        is_2d = X.shape[1] == 2 and net.n_inputs == 2   # features are computed from the 2 raw inputs
        plane = confusion = None
        if not np.all(np.isfinite(theta)):
            self._plane, self._confusion = None, None
            return None, None
        if is_2d:
            if self._extent is None or self._extent[0] != run_id:
                self._extent = (run_id, *engine.plane.extent(X))
            _, lo, hi = self._extent
            unit = self.unit
            if unit is not None and not (0 <= unit[0] <= net.L and 0 <= unit[1] < net.sizes[unit[0]]):
                unit = None   # the shape changed under the choice
            plane = engine.plane.evaluate(net, lo, hi, *self.shape, unit=unit, step=trainer.step_count)
        if getattr(trainer.config, "task", "classification") != "regression":
            K = metrics.n_classes(Y)
            if K > 2 or not is_2d:
                has_test = facts.X_test is not None and len(facts.X_test)
                Xe, Ye = (facts.X_test, facts.Y_test) if has_test else (X, Y)
                counts = metrics.confusion(net, Xe, Ye)
                counts.setflags(write=False)
                confusion = (counts, "test" if has_test else "training")
        self._plane, self._confusion = plane, confusion
        return plane, confusion
