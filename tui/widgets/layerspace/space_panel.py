"""The space a layer makes, as a panel (lessons): the last hidden layer's view of the input plane.

The last hidden layer is where the output unit draws its straight line, so that is the
picture in which "linearly separable" is the question (the lessons' `separable` check
reads the same one); x on the dashboard opens every layer full screen. The projection is the engine's
(engine.layer_space.project), computed in a thread worker from the snapshot's weights;
the panel's MIN_INTERVAL bounds how often while playing, and only the newest result
is drawn.
"""

from __future__ import annotations

from textual.widgets import Static

from engine import layer_space
from tui.widgets.layerspace.space_plot import SpacePlot
from tui.widgets.panel import Panel


def space_caption(space) -> str:
    """One line: which layer, on which axes, and whether one straight line separates the classes."""
    axes = f"{space.axes[0]} → {space.axes[1]} ↑"
    sep = space.separable
    verdict = ("" if sep is None else " · [b green]one line separates[/]" if sep == 1.0
               else f" · best line: [b]{sep:.0%}[/] right")
    return f"{axes}{verdict}"


class LayerSpacePanel(Panel):
    """The training points and the input plane's grid after a hidden layer."""

    TITLE = "The space a layer makes"
    MIN_INTERVAL = 0.25

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.space = None
        self._asked = 0
        self._shown = 0

    def compose(self):
        self.plot = SpacePlot(classes="space-plot")
        self.caption = Static(classes="space-caption")
        yield self.plot
        yield self.caption

    def draw(self, snap) -> None:
        facts = snap.facts
        if facts.X.shape[1] != 2:
            self.caption.update("[dim]drawn for 2-D data only[/]")
            return
        layer = facts.L - 1   # the last hidden layer (0, the input plane, with no hidden layer)
        self._asked += 1
        ticket = self._asked
        net = facts.network()
        net.theta[...] = snap.theta

        def work():
            space = layer_space.project(net, facts.X, facts.Y, layer)
            self.app.call_from_thread(self._show, space, ticket)

        self.run_worker(work, thread=True, group="layer-space-panel", exit_on_error=False)

    def _show(self, space, ticket) -> None:
        if ticket < self._shown or not self.is_mounted:
            return   # an older projection finishing late
        self._shown = ticket
        self.space = space
        self.border_title = f"The space layer {space.layer} makes"
        self.plot.set_space(space)
        self.caption.update(space_caption(space))
