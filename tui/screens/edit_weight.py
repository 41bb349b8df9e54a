"""Type a new value for one weight or bias (w, or enter on the weights panel).

Validated here as the engine will take it: a finite number within the run's limit;
anything else gets one line saying what is wrong and what is allowed, and the
dialog stays open.
"""

from __future__ import annotations

import math

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static

from tui.run.controller import MAX_EDIT


def parse_weight(text: str):
    """(value, None) for an acceptable weight, or (None, one-line message)."""
    text = text.strip()
    if not text:
        return None, "type a number, such as 0.5 or -1e-3"
    try:
        value = float(text)
    except ValueError:
        return None, f"not a number: {text[:20]!r}; type a number such as 0.5 or -1e-3"
    if not math.isfinite(value):
        return None, f"{text[:20]} is not finite; a weight must be a finite number"
    if abs(value) > MAX_EDIT:
        return None, f"{text[:20]} is too large; allowed: -{MAX_EDIT:g} to {MAX_EDIT:g}"
    return value, None


class EditWeightScreen(ModalScreen[float | None]):
    """Ask for the new value of name[index]; dismiss with the float, or None on escape."""

    CSS_PATH = "edit_weight.tcss"
    BINDINGS = [Binding("escape", "cancel", "cancel")]

    def __init__(self, name: str, index, value: float, what: str = ""):
        super().__init__()
        self.param, self.index, self.value, self.what = name, tuple(index), float(value), what

    @property
    def label(self) -> str:
        return f"{self.param}[{','.join(map(str, self.index))}]"

    def compose(self) -> ComposeResult:
        with Vertical(id="ew-box"):
            yield Static(f"[b]Set {self.label}[/b]  [dim]{self.what}[/]", id="ew-title")
            yield Static(f"[dim]now[/] {self.value!r}", id="ew-now")
            yield Input(value=repr(self.value), id="ew-input", compact=True, select_on_focus=True)
            yield Static("", id="ew-error")
            yield Static("[dim]enter: set and recompute (no training step) · esc: cancel[/]",
                         id="ew-foot")

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    @on(Input.Changed, "#ew-input")
    def _changed(self, event: Input.Changed) -> None:
        self.query_one("#ew-error", Static).update("")

    @on(Input.Submitted, "#ew-input")
    def _submit(self, event: Input.Submitted) -> None:
        value, problem = parse_weight(event.value)
        if problem is not None:
            self.query_one("#ew-error", Static).update(f"[red]{problem}[/]")
            return
        self.dismiss(value)

    def action_cancel(self) -> None:
        self.dismiss(None)
