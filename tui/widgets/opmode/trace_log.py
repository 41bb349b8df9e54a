"""The trace log: every operation of the cycle on show, with its result's shape and norm.

One row per Op record of the cycle (as far as it has been computed). The row of the
op on show is highlighted and follows n and b; moving the highlight (arrows, mouse)
shows that op instead, and enter opens it in full. Norms are the engine's
(engine.stepper.result_norm).
"""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.message import Message
from textual.widgets import DataTable

from engine.stepper import result_norm
from tui import fmt
from tui.widgets.opmode.numbers import shape_text
from tui.widgets.opmode.op_panel import PHASE_STYLES
from tui.widgets.panel import Panel

PHASE_SHORT = {"forward": "fwd", "loss": "loss", "backward": "back", "update": "upd"}
# Fixed columns (#, phase, result shape, norm) and the table's padding of one cell each side.
NUM_W, PHASE_W, SHAPE_W, NORM_W, PAD = 3, 4, 10, 9, 2
MIN_EQ = 12


class TraceLog(Panel):
    """The cycle's operations as a table."""

    TITLE = "Trace"

    class Chosen(Message):
        """The learner moved the highlight to another op (index into the cycle's ops)."""

        def __init__(self, position: int):
            super().__init__()
            self.position = position

    class Opened(Message):
        """The learner asked to see an op in full."""

        def __init__(self, position: int):
            super().__init__()
            self.position = position

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._shown = ()        # ids of the ops in the table, in order
        self._ops = []
        self._full = None
        self._position = -1     # the op on show, as far as this log knows
        self._eq_w = None       # the operation column's width the rows were built for

    def compose(self):
        self.table = DataTable(id="trace-table", cursor_type="row", zebra_stripes=True)
        yield self.table

    def on_mount(self) -> None:
        # (Panel.on_mount runs too: Textual calls each class's own handler.)
        self.table.add_columns("#", "phase", "operation", "result", "‖result‖")

    @property
    def ops(self):
        return self._ops

    def draw(self, snap) -> None:
        opv = getattr(snap, "op_view", None)
        full = self.view.full_precision
        ops = [] if opv is None or snap.playing else opv.ops
        ids = tuple(id(op) for op in ops)
        eq_w = self._equation_width()
        if full != self._full or eq_w != self._eq_w or ids[:len(self._shown)] != self._shown:
            self.table.clear()
            self._shown = ()
            self._full = full
            self._eq_w = eq_w
        for k in range(len(self._shown), len(ops)):
            self.table.add_row(*self._row(k, ops[k], full, eq_w), key=str(k))
        self._shown = ids
        self._ops = ops
        if opv is None:
            self._position = -1
            self.border_title = "Trace"
            self.border_subtitle = "n starts a cycle"
            return
        self._position = opv.position
        self.border_title = f"Trace · {len(ops)} operation{'s' if len(ops) != 1 else ''}" + (
            " so far" if opv.open_cycle else "")
        self.border_subtitle = "↑↓ choose · enter: in full"
        if self.table.cursor_row != opv.position:
            self.table.move_cursor(row=opv.position, animate=False)

    def _equation_width(self) -> int | None:
        """Room for the operation column once the others fit (None before the first layout)."""
        width = self.table.size.width
        if not width:
            return None
        fixed = NUM_W + PHASE_W + SHAPE_W + NORM_W + 5 * PAD + 1   # + 1: the vertical scrollbar
        return max(MIN_EQ, width - fixed)

    @staticmethod
    def _row(k, op, full, eq_w=None):
        equation = op.equation.partition("   ")[0]
        if eq_w is not None and len(equation) > eq_w:
            equation = equation[:eq_w - 1] + "…"   # text may be shortened (marked); numbers never are
        phase = Text(PHASE_SHORT[op.phase], style=PHASE_STYLES[op.phase])
        norm = fmt.full(result_norm(op)) if full else fmt.num(result_norm(op), NORM_W)
        return (Text(str(k + 1), style="dim"), phase, equation, shape_text(op.result),
                Text(norm, justify="right"))

    @on(DataTable.RowHighlighted, "#trace-table")
    def _highlighted(self, event: DataTable.RowHighlighted) -> None:
        event.stop()
        row = event.cursor_row
        # Ignore the table's own echoes of a redraw: a stale row, or the op already on show.
        if row == self._position or row != self.table.cursor_row or not 0 <= row < len(self._shown):
            return
        self._position = row
        self.post_message(self.Chosen(row))

    @on(DataTable.RowSelected, "#trace-table")
    def _selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        if 0 <= event.cursor_row < len(self._shown):
            self.post_message(self.Opened(event.cursor_row))
