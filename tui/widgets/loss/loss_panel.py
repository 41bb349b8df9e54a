"""The loss panel: the live plot and a key line with the latest numbers in its colours."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from tui.widgets import colours
from tui.widgets.loss.loss_plot import ACC_RGB, LOSS_RGB, TEST_RGB, LossPlot, fmt_loss
from tui.widgets.panel import Panel


class LossPanel(Panel):
    """Training loss, test loss (where there is a split) and accuracy over the steps."""

    TITLE = "Loss"
    MIN_INTERVAL = 0.5    # plotext takes ~10 ms a frame: twice a second while playing

    def compose(self):
        self.key = Static(id="loss-key")
        self.plot = LossPlot(id="loss-plot")
        yield self.key
        yield self.plot

    def draw(self, snap) -> None:
        log = self.view.log_scale
        self.plot.plot_history(snap.history, snap.n_loss, snap.n_eval, log)
        auto = " (auto: values span too far)" if self.plot.auto_log else ""
        self.border_title = "Loss" + (" · log scale" + auto if self.plot.log_scale else "")
        self.border_subtitle = "l: log/linear"
        m = snap.metrics
        has_test = "test_loss" in m
        spec = "short" if has_test else ".4g"  # three numbers must fit the panel's width
        t = Text(no_wrap=True, overflow="ellipsis")
        t.append("━", style=colours.plain_style(fg=LOSS_RGB, bold=True))
        t.append("loss ")
        t.append(fmt_loss(snap.loss, spec), style="bold")
        if has_test:
            t.append(" ━", style=colours.plain_style(fg=TEST_RGB, bold=True))
            t.append("test ")
            t.append(fmt_loss(m["test_loss"], spec), style="bold")
        t.append(" ━", style=colours.plain_style(fg=ACC_RGB, bold=True))
        t.append("acc ")
        acc = m.get("accuracy")
        acc_text = "—" if acc is None else f"{acc * 100:.0f}%" if has_test else f"{acc * 100:.1f}%"
        t.append(acc_text, style="bold")
        self.key.update(t, layout=False)
