"""The race's loss curves on one plot, one colour per variant (line API, via LossPlot).

Each variant's per-step loss is drawn as its lowest-to-highest envelope per pixel
column, exactly as the dashboard's loss plot draws one run, so a spike of one step
shows at any zoom; where two variants share a cell, the later one in the legend wins.
"""

from __future__ import annotations

from tui.widgets.loss.loss_plot import LossPlot, Series

# One colour per variant, apart from each other and from the class colours' blue/orange pair.
VARIANT_RGB = ((245, 200, 60), (70, 210, 230), (225, 90, 200), (150, 230, 80))


def race_series(curves):
    """A Series per variant's Curve (its step losses), in the variants' colours."""
    return [Series(c.step_lo, c.step_hi, c.lo, c.hi, VARIANT_RGB[i % len(VARIANT_RGB)])
            for i, c in enumerate(curves)]


class RacePlot(LossPlot):
    """Every variant's step loss over the same steps."""

    def plot_race(self, curves, log_scale: bool, extra=()) -> None:
        n = max((c.n_steps for c in curves), default=0)
        self.plot_series(race_series(curves), n, log_scale, extra=extra)
