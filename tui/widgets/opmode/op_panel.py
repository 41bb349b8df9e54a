"""The operation on show in op mode: phase, equation, shapes, and the numbers that flow.

Draws the snapshot's op_view (tui/opstate.py): the engine's Op record under the
stepper's cursor. The equation and the shapes are the engine's own strings; the
operands and the result are its arrays, rounded for reading or, with `f`, exactly
(repr of each float64). An update shows the old value, the change and the new
value. With no op yet it explains the keys; after a hand edit of a weight it shows
the forward pass before and after.
"""

from __future__ import annotations

from rich.console import Group
from rich.text import Text
from textual.containers import ScrollableContainer
from textual.widgets import Static

from engine.trainer import PHASES
from tui import fmt
from tui.opstate import update_parts
from tui.widgets.opmode.numbers import matrix_block, number, pack
from tui.widgets.panel import Panel

PHASE_STYLES = {
    "forward": "bold black on rgb(90,170,250)",
    "loss": "bold black on rgb(225,120,215)",
    "backward": "bold black on rgb(245,160,60)",
    "update": "bold black on rgb(110,210,130)",
}
READ_STYLE = "bold rgb(110,200,235)"
WRITE_STYLE = "bold rgb(250,215,90)"


SHORT = {"forward": "fwd", "loss": "loss", "backward": "back", "update": "upd"}


def phase_bar(current, short=False) -> Text:
    """forward › loss › backward › update, the current one lit (short labels for narrow panels)."""
    t = Text(no_wrap=True)
    for i, name in enumerate(PHASES):
        if i:
            t.append("›" if short else " › ", style="dim")
        label = SHORT[name] if short else name
        t.append(f" {label} ", style=PHASE_STYLES[name] if name == current else "dim")
    return t


def equation_text(equation: str, width: int | None = None) -> list[Text]:
    """The engine's equation; what follows three spaces (a formula, the lr) is a dimmer note,
    on a line of its own (wrapped) when both do not fit in `width`."""
    main, _, note = equation.partition("   ")
    t = Text(no_wrap=True)
    t.append(main, style="bold")
    note = note.strip()
    if not note:
        return [t]
    if width is None or len(main) + 3 + len(note) <= width:
        t.append("   " + note, style="italic dim")
        return [t]
    return [t, Text(note, style="italic dim")]


class OpPanel(Panel):
    """The current operation of the cycle being walked with n and b."""

    TITLE = "Operation"

    def compose(self):
        with ScrollableContainer(id="op-scroll"):  # exact numbers can be wider than the panel
            self.body = Static(id="op-body")
            yield self.body

    def _width(self) -> int:
        return max(20, self.content_region.width - 1)

    def draw(self, snap) -> None:
        opv = getattr(snap, "op_view", None)
        full = self.view.full_precision
        self.border_subtitle = "n next · b back · f " + ("rounded" if full else "full precision")
        if snap.playing:
            self.border_title = "Operation"
            self._show(Text.from_markup(
                "[b]Playing[/b]: cycles run at full speed.\n[dim]n pauses and computes the next operation.[/]"))
            return
        if opv is None:
            edit = getattr(snap, "edit", None)
            self.border_title = "Operation" if edit is None else f"Edited {edit.label}"
            self._show(*(self._edit(edit, full) if edit is not None else [self._intro(snap)]))
            return
        op = opv.op
        n = len(opv.ops)
        count = f"op {opv.position + 1}" + ("" if opv.open_cycle else f" of {n}")
        self.border_title = f"Operation · {count} · {op.phase}"
        width = self._width()
        narrow = width < 60
        where = Text(no_wrap=True, overflow="ellipsis")
        where.append("layer ", style="dim")
        where.append(str(op.layer) if op.layer else "—", style="bold")
        where.append(" · step ", style="dim")
        where.append(f"{opv.step:,}", style="bold")
        if opv.open_cycle:
            where.append(" · open cycle" + ("" if narrow else " (space finishes it)"), style="dim italic")
        elif opv.position == n - 1:
            where.append(" · cycle done" + ("" if narrow else ": n starts the next"), style="dim italic")
        parts = [phase_bar(op.phase, narrow), where, Text(""), *equation_text(op.equation, width),
                 Text(op.shapes, style="dim", no_wrap=True), Text("")]
        rows, cols = (8, 4) if full else (8, 6)
        if op.phase == "update":
            old, grad, change, new = update_parts(op)
            step_note = "= −lr·d" + op.name if snap.optimizer == "sgd" else "the optimizer's step"
            parts.append(pack([
                matrix_block(f"{op.name} (old)", old, full, rows, cols, READ_STYLE, width=width),
                matrix_block("change", change, full, rows, cols, "bold", step_note, width=width),
                matrix_block(f"{op.name} (new)", new, full, rows, cols, WRITE_STYLE, "= old + change", width=width),
            ], width))
            parts.append(Text(""))
            parts.append(pack([matrix_block(f"d{op.name}", grad, full, rows, cols, READ_STYLE,
                                            "the gradient it used", width=width)], width))
        else:
            blocks = [matrix_block(name, value, full, rows, cols, READ_STYLE, width=width) for name, value in op.operands.items()]
            parts.append(pack(blocks, width))
            parts.append(Text(""))
            norm = f"‖{op.name}‖ = {number(opv.norm(), full)}" if getattr(op.result, "ndim", 0) else ""
            parts.append(pack([matrix_block(f"→ {op.name}", op.result, full, rows, cols, WRITE_STYLE, norm,
                                            width=width)], width))
        self._show(*parts)

    def _show(self, *parts) -> None:
        """Update the body; unwrapped lines wider than the panel scroll sideways instead of being cut."""
        width = max((line.cell_len for p in parts if p.no_wrap for line in p.split("\n")), default=0)
        self.body.styles.width = width if width > self._width() else "100%"
        self.body.update(Group(*parts))

    def _intro(self, snap) -> Text:
        t = Text()
        t.append("Operation mode", style="bold")
        t.append(" walks one training cycle one matrix operation at a time: the forward pass, "
                 "the loss, the backward pass (the chain rule, layer by layer) and the update.\n\n")
        for key, what in (("n", "compute and show the next operation"), ("b", "go back one (the last cycle is kept)"),
                          ("space", "finish the open cycle (one exact step)"), ("f", "full precision on/off"),
                          ("enter", "in the trace log: the operation in full"),
                          ("w", "edit the weight under the weights cursor"), ("esc", "back to the dashboard")):
            t.append(f"  {key:<6}", style="bold yellow")
            t.append(what + "\n")
        if snap.halted is not None:
            t.append("\n" + snap.halted.message, style="red")
        return t

    def _edit(self, edit, full) -> list:
        head = Text()
        head.append(edit.label, style="bold")
        head.append(f"  {number(edit.old, full)} → ", style="")
        head.append(number(edit.new, full), style=WRITE_STYLE)
        head.append("   no training step: the network's outputs and loss at the new weight", style="dim italic")
        width = self._width()
        blocks = [
            matrix_block("X", edit.X, full, 8, 4, READ_STYLE, width=width),
            matrix_block("Ŷ before", edit.outputs_before, full, 8, 4, width=width),
            matrix_block("Ŷ after", edit.outputs_after, full, 8, 4, WRITE_STYLE, width=width),
            matrix_block("Y", edit.Y, full, 8, 4, width=width),
        ]
        mb, ma = edit.metrics_before, edit.metrics_after
        sums = Text()
        sums.append("loss ", style="dim")
        sums.append(f"{number(mb['loss'], full)} → {number(ma['loss'], full)}", style="bold")
        label, before = fmt.score(mb)
        sums.append("   accuracy " if label == "acc" else f"   {label} ", style="dim")
        sums.append(f"{before} → {fmt.score(ma)[1]}", style="bold")
        sums.append("   (whole training set)", style="dim")
        parts = [head, Text(""), pack(blocks, width), Text(""), sums]
        if edit.cleared:
            parts += [Text(""), Text("The operations walked so far were computed with the old weight, so they "
                                     "were cleared: n starts a fresh cycle.", style="dim italic")]
        return parts
