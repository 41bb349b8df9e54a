"""The space a layer makes (x): the training points and a grid of the input plane as a
chosen hidden layer sees them, live while the run trains.

Layer 0 is the input plane itself; layer l draws A_l on two of its units, or on its first
two principal components when it has more than two (m switches, , and . pick the pair).
The projection is the engine's (engine.layer_space.project), computed in a worker
thread from the run's latest snapshot at most UPDATE_HZ times a second, so the UI
thread only draws. space and p drive the dashboard's run as they do there; esc returns.
"""

from __future__ import annotations

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Static

from engine import layer_space
from tui.widgets.footer import FitFooter as Footer
from tui.widgets.layerspace.space_plot import COL_LINE, ROW_LINE, SpacePlot

UPDATE_HZ = 5     # projections a second at most while the run plays


class LayerSpaceScreen(Screen):
    """One layer's view of the input plane."""

    CSS_PATH = "layer_space.tcss"
    AUTO_FOCUS = None
    BINDINGS = [
        Binding("space", "step", "step"),
        Binding("p", "play", "play"),
        Binding("left_square_bracket", "layer(-1)", "layer←", key_display="["),
        Binding("right_square_bracket", "layer(1)", "layer→", key_display="]"),
        Binding("m", "toggle_axes", "axes"),
        Binding("full_stop", "pair(1)", "units→", key_display="."),
        Binding("comma", "pair(-1)", "units←", key_display=",", show=False),
        Binding("escape", "close", "back"),
    ]

    def __init__(self, layer=None, **kwargs):
        super().__init__(**kwargs)
        self.shown_layer = layer
        self.pca = True        # wide layers: principal components (else two chosen units)
        self.pair = 0          # which pair of units, in the order (0,1), (0,2), ..., (1,2), ...
        self.space = None
        self._key = None
        self._busy = False

    def compose(self) -> ComposeResult:
        yield Static(id="ls-head")
        yield SpacePlot(id="ls-plot")
        yield Static(id="ls-key")
        yield Footer()

    def on_mount(self) -> None:
        facts = self.app.state.latest.facts
        if self.shown_layer is None:
            self.shown_layer = 1 if facts.L > 1 else 0
        self.set_interval(1 / UPDATE_HZ, self._tick)
        self._tick()

    # ----- what to draw ----------------------------------------------------------------

    def _units(self, width):
        """The chosen pair of units, or None for principal components (wide layers only)."""
        if self.shown_layer == 0 or width <= 2:
            return None
        if self.pca:
            return None
        pairs = [(i, j) for i in range(width) for j in range(i + 1, width)]
        return pairs[self.pair % len(pairs)]

    def _tick(self) -> None:
        snap = self.app.state.latest
        facts = snap.facts
        self.shown_layer = max(0, min(self.shown_layer, facts.L - 1))
        width = facts.sizes[self.shown_layer]
        units = self._units(width)
        key = (snap.run_id, snap.version, self.shown_layer, units)
        if key == self._key or self._busy:
            return
        self._busy = True
        self._project(snap, self.shown_layer, units, key)

    @work(thread=True, exclusive=True, group="layer-space", exit_on_error=False)
    def _project(self, snap, layer, units, key) -> None:
        try:
            net = snap.facts.network()
            net.theta[...] = snap.theta
            space = layer_space.project(net, snap.facts.X, snap.facts.Y, layer, units)
            self.app.call_from_thread(self._show, space, snap, key)
        finally:
            self._busy = False

    def _show(self, space, snap, key) -> None:
        self._key = key
        self.space = space
        self.query_one(SpacePlot).set_space(space)
        facts = snap.facts
        if space.layer == 0:
            what = "the input plane itself (layer 0): x1 → , x2 ↑"
        else:
            act = facts.layers[space.layer - 1].activation
            axes = (f"{space.axes[0]} → {space.axes[1]} ↑ (principal components, % of variance)"
                    if space.mode == "pca" else f"units {space.axes[0]} → {space.axes[1]} ↑")
            what = f"A{space.layer} ({space.width} {act} units) on {axes}"
        sep = space.separable
        regression = getattr(snap.config, "task", "classification") == "regression"
        verdict = ("  [dim]separable by a line: does not apply (regression: the targets are numbers, not "
                   "classes)[/]" if regression else "" if sep is None else
                   "  [b green]one straight line separates the classes here[/]" if sep == 1.0 else
                   f"  [dim]the best straight line found separates[/] [b]{sep:.0%}[/]")
        self.query_one("#ls-head", Static).update(
            f"[b]The space layer {space.layer} makes[/]: {what}\n"
            f"[dim]step[/] {snap.step}  [dim]loss{_at(snap)}[/] {'—' if snap.loss is None else f'{snap.loss:.4g}'}"
            f"{verdict}")
        r, g, b = ROW_LINE
        r2, g2, b2 = COL_LINE
        self.query_one("#ls-key", Static).update(
            f"[rgb({r},{g},{b})]━[/] [dim]lines of constant x2[/]  [rgb({r2},{g2},{b2})]━[/] [dim]lines of "
            f"constant x1[/]  [dim]{'points' if regression else 'points in their class colour'} ·[/] [ ] layer  m units/components  , . pair  "
            f"[dim]layers 0..{facts.L - 1}[/]")

    # ----- keys ------------------------------------------------------------------------

    async def action_step(self) -> None:
        await self.app.action_step()

    async def action_play(self) -> None:
        await self.app.action_toggle_play()

    def action_layer(self, delta: int) -> None:
        L = self.app.state.latest.facts.L
        self.shown_layer = max(0, min(L - 1, self.shown_layer + delta))
        self._tick()

    def action_toggle_axes(self) -> None:
        self.pca = not self.pca
        self._tick()

    def action_pair(self, delta: int) -> None:
        self.pca = False
        self.pair += delta
        self._tick()

    def action_close(self) -> None:
        self.dismiss()


def _at(snap) -> str:
    """Playing, the loss may be of an earlier step (evaluated 4 times a second): which one."""
    lags = getattr(snap, "loss_lags", False) or (snap.playing and getattr(snap, "loss_step", None) is not None)
    return f" at step {snap.loss_step:,}" if lags else ""
