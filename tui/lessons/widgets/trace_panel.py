"""The current operation of the cycle being walked with n and b: its phase, equation,
shapes, operands and result, as numbers."""

from __future__ import annotations

from rich.console import Group
from rich.text import Text
from textual.containers import VerticalScroll
from textual.widgets import Static

from tui.lessons.widgets.matrix import matrix
from tui.widgets.panel import Panel

PHASES = ("forward", "loss", "backward", "update")


class TracePanel(Panel):
    TITLE = "Trace"

    def compose(self):
        with VerticalScroll(id="trace-scroll"):
            self.body = Static(id="trace-body")
            yield self.body

    def draw(self, snap) -> None:
        op = snap.op
        if op is None:
            self.border_subtitle = "n: next operation"
            self.body.update(Text("Press n to compute the first operation of the next training cycle.", style="dim"))
            return
        ops = snap.cycle_ops
        k = next((i for i, o in enumerate(ops) if o is op), len(ops) - 1)
        head = Text(no_wrap=True)
        for name in PHASES:
            style = "reverse bold" if name == op.phase else "dim"
            head.append(f" {name} ", style=style)
            head.append(" ")
        # The result first: it is what this operation produced, and stays in view.
        parts = [head, Text(op.equation, style="bold"), Text(op.shapes, style="dim"), Text(""),
                 matrix(op.name, op.result), Text("computed from", style="dim")]
        for name, value in op.operands.items():
            parts.append(matrix(name, value))
        self.border_title = f"Trace · operation {k + 1} of this cycle"
        self.border_subtitle = "n next · b back"
        self.body.update(Group(*parts))
