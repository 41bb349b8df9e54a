"""The loss panel: the live plot and a key line with the latest numbers in its colours.

Two losses, named apart (issue 12 item 8): "loss" is the run's headline, the loss on
all the training data at the current weights (after the latest update, as `netstep
train --json` reports it); the per-step curve is each step's minibatch loss, measured
before that step's update ("step loss", drawn as its lowest-to-highest envelope).
"""

from __future__ import annotations

import numpy as np
from rich.text import Text

from tui import fmt
from tui.widgets import colours
from tui.widgets.loss.loss_plot import ACC_RGB, FULL_RGB, LOSS_RGB, TEST_RGB, LossPlot, fmt_loss
from tui.widgets.panel import Panel
from tui.widgets.text_lines import TextLines


# The per-step curve's legend (the key line has room for the numbers only).
BATCH_LEGEND = "[#%02x%02x%02x]━[/] step (batch) · ▲ checkpoint" % LOSS_RGB
# A regression run whose R² went below 0 (worse than predicting the mean): the curve sits at 0 there.
# First, so a narrow panel's border cuts the rest rather than this.
CLIPPED_LEGEND = "[#%02x%02x%02x]━[/] R² < 0 drawn at 0 · " % ACC_RGB + BATCH_LEGEND


def r2_clipped(curve) -> bool:
    """Whether a regression curve holds an R² below the 0..1 axis (drawn at 0)."""
    if curve is None or not getattr(curve, "regression", False):
        return False
    r2 = curve.r2[np.isfinite(curve.r2)]
    return bool(r2.size and r2.min() < 0)


def headline_loss(snap):
    """The run's current loss: full training data, current weights (None before any evaluation)."""
    return snap.metrics.get("loss") if snap.metrics else None


class LossPanel(Panel):
    """Full-data loss, per-step (minibatch) loss, test loss (where there is a split) and accuracy."""

    TITLE = "Loss"
    MIN_INTERVAL = 0.1    # a frame is cheap (bounded curve) and repaints only when its pixels change

    def compose(self):
        self.key = TextLines(id="loss-key")
        self.plot = LossPlot(id="loss-plot")
        yield self.key
        yield self.plot

    def draw(self, snap) -> None:
        m = snap.metrics or {}
        loss = headline_loss(snap)
        # The status line's loss (snap.loss) is kept inside the axis too, whichever it shows.
        self.plot.plot_curve(snap.curve, self.view.log_scale, extra=(loss, snap.loss, m.get("test_loss")))
        auto = " (auto: values span too far)" if self.plot.auto_log else ""
        # Playing, the key's numbers may be of an earlier step than the status line's (the full
        # data is evaluated 4 times a second, tui/run/controller.py EVAL_INTERVAL): say which.
        lags = getattr(snap, "loss_lags", False) or (snap.playing and getattr(snap, "loss_step", None) is not None)
        at = f" at step {snap.loss_step:,}" if lags else ""
        self.border_title = f"Loss (all data{at})" + (" · log scale" + auto if self.plot.log_scale else "")
        self.border_subtitle = CLIPPED_LEGEND if r2_clipped(snap.curve) else BATCH_LEGEND
        has_test = "test_loss" in m
        spec = "short" if has_test else ".4g"  # the numbers must fit the panel's width
        t = Text(no_wrap=True, overflow="ellipsis")
        t.append("━", style=colours.plain_style(fg=FULL_RGB, bold=True))
        t.append("loss ")
        t.append(fmt_loss(loss, spec), style="bold")
        if has_test:
            t.append(" ━", style=colours.plain_style(fg=TEST_RGB, bold=True))
            t.append("test ")
            t.append(fmt_loss(m["test_loss"], spec), style="bold")
        t.append(" ━", style=colours.plain_style(fg=ACC_RGB, bold=True))
        acc = m.get("accuracy")
        if "r2" in m:  # a regression run: R² where a classification run shows accuracy
            t.append("R² ")
            # Beside the test loss the key has room for 4 characters (0.99), as for "99%".
            acc_text = fmt.score(m, width=4 if has_test else None)[1]
        else:
            t.append("acc ")
            acc_text = "—" if acc is None else f"{acc * 100:.0f}%" if has_test else f"{acc * 100:.1f}%"
        t.append(acc_text, style="bold")
        self.key.update(t, layout=False)
