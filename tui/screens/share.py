"""The share dialog (S): the run as one string, copied to the clipboard where the terminal allows.

The string is engine.share's (`netstep share`): `netstep --state STRING` opens this
run at this step, `netstep train --state STRING --json` reproduces its losses.
Copying uses OSC 52 (App.copy_to_clipboard): terminals that allow it put the string on
the system clipboard; others ignore the sequence, so the string is shown to copy by hand.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static


class ShareScreen(ModalScreen[None]):
    """Shows a run string and how to use it."""

    CSS_PATH = "share.tcss"
    BINDINGS = [Binding("escape,enter,S,q", "close", "close")]

    def __init__(self, text: str, steps: int, **kwargs):
        super().__init__(**kwargs)
        self.text, self.steps = text, steps

    def compose(self) -> ComposeResult:
        with Vertical(id="share-box"):
            yield Static(f"[b]Share this run[/] (its settings and step {self.steps})", id="share-title")
            yield Static(self.text, id="share-string")
            yield Static("[dim]Copied to the clipboard where the terminal allows it (OSC 52); otherwise select "
                         "it above. Open it with[/] netstep --state STRING [dim]or reproduce its losses with[/] "
                         "netstep train --state STRING --json", id="share-help")
            yield Static("[dim]esc closes[/]", id="share-foot")

    def action_close(self) -> None:
        self.dismiss()
