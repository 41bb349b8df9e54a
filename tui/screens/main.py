"""The dashboard: every panel around one run, in a full or a compact layout.

Full (at least 110x32): network and diagnostics on the left, loss and the decision
boundary in the middle, weights and gradients on the right. Compact (at least 80x24):
loss and boundary on the left, one of weights / network / diagnostics on the right
(`v` cycles). Smaller than that: a notice saying how much room is needed.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Container
from textual.screen import Screen
from tui.widgets.footer import FitFooter as Footer

from tui.widgets.size_notice import SizeNotice
from tui.widgets.status.status_bar import StatusBar

FULL = (110, 32)
COMPACT = (80, 24)
SIDE = ("weights", "network", "diagnostics")


def panel_classes() -> dict:
    """The dashboard's panels by id, in the full layout's order.

    Imported here, not at the top: they import NumPy, and the app paints the dashboard's
    frame (tui/screens/building.py) before that; its worker calls this to import them."""
    from tui.widgets.boundary.predictions_panel import PredictionsPanel
    from tui.widgets.diagnostics.diagnostics_panel import DiagnosticsPanel
    from tui.widgets.loss.loss_panel import LossPanel
    from tui.widgets.network.network_panel import NetworkPanel
    from tui.widgets.weights.weights_panel import WeightsPanel

    return {"network": NetworkPanel, "loss": LossPanel, "weights": WeightsPanel, "diagnostics": DiagnosticsPanel,
            "predictions": PredictionsPanel}


def layout_for(width: int, height: int, full=FULL, compact=COMPACT) -> str:
    """"full" when every panel fits, "compact" for one side panel at a time, else "tiny"."""
    if width >= full[0] and height >= full[1]:
        return "full"
    if width >= compact[0] and height >= compact[1]:
        return "compact"
    return "tiny"


class MainScreen(Screen):
    """The trainer dashboard."""

    CSS_PATH = "main.tcss"
    AUTO_FOCUS = "#weights"

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.layout_mode = None
        self._order = None

    def compose(self) -> ComposeResult:
        yield StatusBar(id="status")
        with Container(id="panels"):
            for name, panel in panel_classes().items():
                yield panel(id=name)
        yield SizeNotice(id="too-small")
        yield Footer()

    def on_mount(self) -> None:
        self.apply_layout(*self.size)

    def on_resize(self, event) -> None:
        self.apply_layout(event.size.width, event.size.height)

    def apply_layout(self, width: int, height: int) -> None:
        """Pick the layout for this size and order the panels for it."""
        mode = layout_for(width, height)
        side = SIDE[self.app.view.side % len(SIDE)] if hasattr(self.app, "view") else "weights"
        self.layout_mode = mode
        for name in ("full", "compact", "tiny"):
            self.set_class(mode == name, f"-{name}")
        for name in SIDE:
            self.set_class(mode == "compact" and side == name, f"-side-{name}")
        if mode == "tiny":
            self.query_one(SizeNotice).set_size(width, height, *COMPACT)
        order = ("network", "loss", "weights", "diagnostics", "predictions") if mode != "compact" else (
            ("loss", side, "predictions") + tuple(n for n in SIDE if n != side))
        if order != self._order:
            self._order = order
            panels = self.query_one("#panels")
            for i, name in enumerate(order[1:], start=1):
                panels.move_child(self.query_one(f"#{name}"), after=self.query_one(f"#{order[i - 1]}"))
        if mode == "compact" and side != "weights" and self.focused is self.query_one("#weights"):
            self.set_focus(None)
