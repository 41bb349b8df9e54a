"""A one-line dialog asking for a file path (save, load, export)."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Static

from tui.datadir import confine


class PathPrompt(ModalScreen[str | None]):
    """Ask for a path; dismiss with it (stripped, never empty) or None on cancel."""

    CSS_PATH = "path_prompt.tcss"
    BINDINGS = [Binding("escape", "cancel", "cancel")]

    def __init__(self, title: str, default: str, verb: str = "OK"):
        super().__init__()
        self.title_text, self.default, self.verb = title, default, verb

    def compose(self) -> ComposeResult:
        with Vertical(id="prompt-box"):
            yield Static(self.title_text, id="prompt-title")
            yield Input(value=self.default, id="prompt-input", compact=True)
            yield Static("", id="prompt-error")
            with Horizontal(id="prompt-buttons"):
                yield Button(self.verb, id="prompt-ok", variant="primary", compact=True)
                yield Button("Cancel", id="prompt-cancel", compact=True)

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    @on(Input.Submitted)
    @on(Button.Pressed, "#prompt-ok")
    def _ok(self) -> None:
        path = self.query_one(Input).value.strip()
        if not path:
            self.query_one("#prompt-error", Static).update("[red]type a file path[/]")
            return
        try:
            path = str(confine(path))  # over `netstep serve`: only inside the student's own folder
        except ValueError as e:
            self.query_one("#prompt-error", Static).update(f"[red]{e}[/]")
            return
        self.dismiss(path)

    @on(Button.Pressed, "#prompt-cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)
