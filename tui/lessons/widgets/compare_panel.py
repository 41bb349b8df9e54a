"""Two loss curves on one plot: this run and the comparison run trained beside it."""

from __future__ import annotations

import numpy as np
from rich.text import Text
from textual.widgets import Static
from textual_plotext import PlotextPlot

from tui.widgets import colours
from tui.widgets.loss.loss_plot import downsample
from tui.widgets.panel import Panel

MAIN_RGB = colours.POS
OTHER_RGB = colours.NEG


def difference(a, b) -> str:
    """The config fields in which run b differs from run a, as 'field value'."""
    da, db = a.to_dict(), b.to_dict()
    parts = [f"{k} {db[k]}" for k in db if db[k] != da.get(k) and k != "sizes"]
    return ", ".join(parts) or "same settings"


class ComparePanel(Panel):
    TITLE = "Side by side"
    MIN_INTERVAL = 0.25

    def compose(self):
        self.key = Static(id="compare-key")
        self.plot = PlotextPlot(id="compare-plot")
        yield self.key
        yield self.plot

    def draw(self, snap) -> None:
        other = snap.compare_config
        plt = self.plot.plt
        plt.clear_figure()
        plt.frame(True)
        if other is None:
            self.key.update(Text("This step has no comparison run.", style="dim"))
            self.plot.refresh()
            return
        mine = snap.own_loss if snap.own_loss is not None else np.zeros(0)
        theirs = np.asarray(snap.compare_loss, dtype=float)
        columns = max(4, self.plot.size.width - 12)
        for ys, rgb in ((mine, MAIN_RGB), (theirs, OTHER_RGB)):
            xs, vs = downsample(ys, 2 * columns)
            if len(xs):
                plt.plot(xs.tolist(), np.where(np.isfinite(vs), vs, np.nan).tolist(), marker="braille", color=rgb)
        t = Text(no_wrap=True, overflow="ellipsis")
        t.append("━ ", style=colours.plain_style(fg=MAIN_RGB, bold=True))
        t.append(f"this run: {difference(other, snap.config)}  loss ")
        t.append(f"{mine[-1]:.4g}" if len(mine) else "—", style="bold")
        t.append("\n━ ", style=colours.plain_style(fg=OTHER_RGB, bold=True))
        t.append(f"comparison: {difference(snap.config, other)}  loss ")
        t.append(f"{theirs[-1]:.4g}" if len(theirs) else "—", style="bold")
        self.key.update(t)
        self.plot.refresh()
