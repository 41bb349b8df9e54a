"""What lesson conditions (checks.py) and text placeholders (facts.py) read of a lesson's run.

The one place they measure it: full-data metrics (the session's own evaluation when it is
current) and engine.diagnostics.measure(), whose rows decide dead, saturated, identical and
vanishing for the lessons exactly as for the diagnostics panel. Nothing here draws anything.
"""

from __future__ import annotations

import math

import numpy as np


class Probe:
    """What the conditions read of a LessonSession, computed once and only when asked for."""

    def __init__(self, session):
        self.session = session
        self.trainer = session.trainer
        self._metrics = None
        self._compare_metrics = None
        self._diagnostics = None

    @property
    def metrics(self) -> dict:
        """Full-data loss and accuracy (the session's latest evaluation when it is current)."""
        if self._metrics is None:
            known = getattr(self.session, "metrics", None)
            if known is not None and known.get("step") == self.trainer.step_count:
                self._metrics = known
            else:
                with np.errstate(all="ignore"):
                    self._metrics = self.trainer.evaluate(record=False)
        return self._metrics

    @property
    def compare_metrics(self) -> dict | None:
        compare = self.session.compare
        if compare is None:
            return None
        if self._compare_metrics is None:
            known = getattr(self.session, "compare_metrics", None)
            if known is not None and known.get("step") == compare.step_count:
                self._compare_metrics = known
            else:
                with np.errstate(all="ignore"):
                    self._compare_metrics = compare.evaluate(record=False)
        return self._compare_metrics

    @property
    def diagnostics(self):
        """engine.diagnostics.measure() of the run: the one place that decides dead,
        saturated, identical and vanishing (the diagnostics panel shows the same rows)."""
        if self._diagnostics is None:
            import engine.diagnostics

            self._diagnostics = engine.diagnostics.measure(self.trainer)
        return self._diagnostics

    def hidden_rows(self):
        return self.diagnostics.layers[:-1]

    def dead_units(self) -> tuple[int, int]:
        """(dead, total) over the ReLU-family hidden units, as the diagnostics count them:
        a unit is dead when it outputs 0 for every example (so it passes back no gradient)."""
        dead = total = 0
        for r in self.hidden_rows():
            if r.dead is not None:
                total += r.units
                dead += len(r.dead_units)
        return dead, total

    def always_active_units(self) -> int:
        """ReLU-family units with Z >= 0 for every example: on this data they are just
        the identity, a linear unit. (Not a diagnostics measure: read from the forward pass.)"""
        net = self.trainer.net
        with np.errstate(all="ignore"):
            _, cache = net.forward(self.trainer.X)
        return sum(int(np.count_nonzero((cache[f"Z{l}"] >= 0).all(axis=0)))
                   for l in range(1, net.L) if net.hidden[l - 1] in ("relu", "leaky_relu"))

    def saturated_fraction(self) -> float:
        """Share of sigmoid/tanh hidden outputs in the flat tails, over every such layer
        (each layer's share from the diagnostics, weighted by its units)."""
        rows = [r for r in self.hidden_rows() if r.saturated is not None]
        units = sum(r.units for r in rows)
        return sum(r.saturated * r.units for r in rows) / units if units else 0.0

    def identical_layers(self) -> list[int]:
        """Hidden layers whose units the diagnostics call identical (a layer of one unit counts as such)."""
        return [r.layer for r in self.hidden_rows() if r.identical_units is not False]

    def grad_norms(self) -> list[float] | None:
        """||dW_l|| per layer for the latest step, from engine.diagnostics."""
        norms = [r.grad_norm_W for r in self.diagnostics.layers]
        if not norms or any(n is None for n in norms):
            return None
        return [float(n) for n in norms]

    def weight_norm(self) -> float:
        """sqrt(sum of ||W_l||^2): the size of all the weights (not the biases)."""
        params = self.trainer.net.params
        return math.sqrt(sum(float(np.vdot(W, W)) for name, W in params.items() if name.startswith("W")))
