"""The operation view: one training cycle walked one matrix operation at a time.

`n` opens it from the dashboard. The op on show (equation, shapes, numbers) and the
cycle's trace log on the left; on the right the network, with the op's layer
highlighted and the arrays it reads and writes marked, and that layer's weights and
gradients as they stand at this op. Compact (80x24): the op on the left and one of
weights / network / trace on the right (`v` cycles). Esc returns to the dashboard;
an open cycle stays open (space there finishes it).
"""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Container
from textual.screen import Screen
from tui.widgets.footer import FitFooter as Footer

from tui.screens.main import layout_for
from tui.widgets.network.network_panel import NetworkPanel
from tui.widgets.opmode.op_panel import OpPanel
from tui.widgets.opmode.trace_log import TraceLog
from tui.widgets.size_notice import SizeNotice
from tui.widgets.status.status_bar import StatusBar
from tui.widgets.weights.weights_panel import WeightsPanel

FULL = (100, 32)
COMPACT = (80, 24)
SIDE = ("weights", "network", "trace")




class OpScreen(Screen):
    """Op mode: n next, b back, f precision, enter in the trace for an op in full, esc to leave."""

    CSS_PATH = "ops.tcss"
    AUTO_FOCUS = "#trace-table"
    # n and b again here so that the footer shows them first on this screen.
    BINDINGS = [
        Binding("escape", "leave", "dashboard", id="op-leave"),
        Binding("n", "app.next_op", "next op", id="op-screen-next"),
        Binding("b", "app.prev_op", "back", id="op-screen-back"),
        Binding("f", "app.toggle_precision", "exact", id="op-screen-precision"),
        Binding("enter", "open_current", "in full", show=False),
    ]

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.layout_mode = None

    def compose(self) -> ComposeResult:
        yield StatusBar(id="status")
        with Container(id="op-panels"):
            yield OpPanel(id="op")
            yield NetworkPanel(id="network")
            yield WeightsPanel(id="weights")
            yield TraceLog(id="trace")
        yield SizeNotice(id="too-small")
        yield Footer()

    def on_mount(self) -> None:
        # This screen is op mode's one owner: snapshots show the arrays as at its op while it is up.
        self.app.state.op_mode = True
        self.apply_layout(*self.size)

    def on_unmount(self) -> None:
        self.app.state.op_mode = False  # also when the app leaves the screen some other way

    def on_resize(self, event) -> None:
        self.apply_layout(event.size.width, event.size.height)

    def apply_layout(self, width: int, height: int) -> None:
        mode = layout_for(width, height, FULL, COMPACT)
        side = SIDE[self.app.view.side % len(SIDE)]
        self.layout_mode = mode
        for name in ("full", "compact", "tiny"):
            self.set_class(mode == name, f"-{name}")
        for name in SIDE:
            self.set_class(mode == "compact" and side == name, f"-side-{name}")
        if mode == "tiny":
            self.query_one(SizeNotice).set_size(width, height, *COMPACT)

    def action_leave(self) -> None:
        self.app.state.op_mode = False  # before the dashboard's first snapshot
        self.app.pop_screen()
        self.app.leave_op_view()

    async def action_open_current(self) -> None:
        """enter outside the trace log: the op on show, in full."""
        opv = self.app.state.latest.op_view
        if opv is not None:
            await self.app.open_op(opv.position)

    @on(TraceLog.Chosen)
    async def _chosen(self, event: TraceLog.Chosen) -> None:
        await self.app.show_op(event.position)

    @on(TraceLog.Opened)
    async def _opened(self, event: TraceLog.Opened) -> None:
        await self.app.open_op(event.position)
