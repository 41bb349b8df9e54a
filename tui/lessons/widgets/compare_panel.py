"""Two loss curves on one plot: this run and the comparison run trained beside it.

Both are per-step (minibatch) losses, drawn as min/max envelopes from each run's
compact Curve, so a spike in either run stays visible at any length.
"""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from tui.widgets import colours
from tui.widgets.loss.loss_plot import LossPlot, Series
from tui.widgets.panel import Panel

MAIN_RGB = colours.POS
OTHER_RGB = colours.NEG


def difference(a, b) -> str:
    """The config fields in which run b differs from run a, as 'field value'."""
    da, db = a.to_dict(), b.to_dict()
    parts = [f"{k} {db[k]}" for k in db if db[k] != da.get(k) and k != "sizes"]
    return ", ".join(parts) or "same settings"


def _envelope(curve, rgb):
    return Series(curve.step_lo, curve.step_hi, curve.lo, curve.hi, rgb)


class ComparePanel(Panel):
    TITLE = "Side by side"
    MIN_INTERVAL = 0.25

    def compose(self):
        self.key = Static(id="compare-key")
        self.plot = LossPlot(id="compare-plot")
        yield self.key
        yield self.plot

    def draw(self, snap) -> None:
        other = snap.compare_config
        theirs = snap.compare_curve
        if other is None or theirs is None:
            self.plot.plot_series([], 0, False)
            self.key.update(Text("This step has no comparison run.", style="dim"))
            return
        mine = snap.curve
        self.plot.plot_series([_envelope(theirs, OTHER_RGB), _envelope(mine, MAIN_RGB)],
                              max(mine.n_steps, theirs.n_steps), self.view.log_scale)
        t = Text(no_wrap=True, overflow="ellipsis")
        t.append("━ ", style=colours.plain_style(fg=MAIN_RGB, bold=True))
        t.append(f"this run: {difference(other, snap.config)}  step loss ")
        t.append(f"{mine.last_loss:.4g}" if mine.n_steps else "—", style="bold")
        t.append("\n━ ", style=colours.plain_style(fg=OTHER_RGB, bold=True))
        t.append(f"comparison: {difference(snap.config, other)}  step loss ")
        t.append(f"{theirs.last_loss:.4g}" if theirs.n_steps else "—", style="bold")
        self.key.update(t)
