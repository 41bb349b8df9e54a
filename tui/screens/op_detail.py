"""One operation in full: every operand and the result with all their entries (enter in the trace log)."""

from __future__ import annotations

from rich.console import Group
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import ScrollableContainer, Vertical
from textual.screen import ModalScreen
from textual.widgets import Static

from tui.opstate import update_parts
from tui.widgets.opmode.numbers import matrix_block, number
from tui.widgets.opmode.op_panel import READ_STYLE, WRITE_STYLE, equation_text, phase_bar
from engine.stepper import result_norm

MAX_CELLS = 20_000   # beyond this a matrix is windowed (its first rows and columns, and the last)


def _limits(a):
    rows, cols = (a.shape + (1, 1))[:2] if getattr(a, "ndim", 0) >= 2 else (1, getattr(a, "size", 1))
    if rows * cols <= MAX_CELLS:
        return None, None
    max_cols = min(cols, 40)
    return max(4, MAX_CELLS // max_cols), max_cols


class OpDetailScreen(ModalScreen[None]):
    """Every number of one Op record, at the chosen precision (f toggles it here too)."""

    CSS_PATH = "op_detail.tcss"
    BINDINGS = [Binding("escape,enter,q", "close", "close"), Binding("f", "precision", "precision")]

    def __init__(self, op, position: int, full: bool):
        super().__init__()
        self.op, self.position, self.full = op, position, full

    def compose(self) -> ComposeResult:
        with Vertical(id="opd-box"):
            yield Static(id="opd-title")
            with ScrollableContainer(id="opd-scroll"):
                yield Static(id="opd-body")
            yield Static("[dim]arrows / page keys scroll · f precision · esc closes[/]", id="opd-foot")

    def on_mount(self) -> None:
        self._draw()
        self.query_one("#opd-scroll").focus()

    def _draw(self) -> None:
        op, full = self.op, self.full
        title = Text(no_wrap=True)
        title.append(f"Operation {self.position + 1}", style="bold")
        title.append(f" · layer {op.layer}" if op.layer else " · the loss", style="dim")
        title.append("  ")
        title.append_text(phase_bar(op.phase))
        blocks = []
        if op.phase == "update":
            old, grad, change, new = update_parts(op)
            arrays = [(f"{op.name} (old)", old, READ_STYLE), (f"d{op.name}", grad, READ_STYLE),
                      ("change", change, "bold"), (f"{op.name} (new)", new, WRITE_STYLE)]
        else:
            arrays = [(name, value, READ_STYLE) for name, value in op.operands.items()]
            arrays.append((f"→ {op.name}", op.result, WRITE_STYLE))
        for name, value, style in arrays:
            rows, cols = _limits(value)
            lines = matrix_block(name, value, full, rows, cols, style)
            blocks.append(Text("\n").join(lines))
            blocks.append(Text(""))
        norm = Text(f"‖{op.name}‖ = {number(result_norm(op), full)}", style="dim")
        precision = "exact (repr of each float64)" if full else "rounded to 4 significant digits (f: exact)"
        self.query_one("#opd-title", Static).update(title)
        self.query_one("#opd-body", Static).update(Group(
            *equation_text(op.equation), Text(op.shapes, style="dim"), Text(precision, style="dim italic"),
            Text(""), *blocks, norm))

    def action_precision(self) -> None:
        self.full = not self.full
        self._draw()

    def action_close(self) -> None:
        self.dismiss(None)
