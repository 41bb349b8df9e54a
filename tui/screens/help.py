"""The `?` screen: every key, grouped, from the same table the bindings come from."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from tui.keys import KEYS

EXTRA = (
    ("Look", "arrows", "Move the weights cursor (click a cell too); tab moves focus"),
    ("App", "ctrl+p", "Command palette: every action by name"),
    ("Operations", "enter", "On the weights panel: edit that entry; in the trace log: the operation in full"),
    ("Operations", "esc", "Leave the operation view (an open cycle stays open; space finishes it)"),
)


def _key_name(k) -> str:
    if k.display:
        return k.display
    return k.key.split(",")[0].replace("ctrl+", "ctrl+")


class HelpScreen(ModalScreen[None]):
    """Keys of the trainer app."""

    CSS_PATH = "help.tcss"
    BINDINGS = [Binding("escape,question_mark,q", "close", "close", show=True)]
    AUTO_FOCUS = "#help-scroll"   # up, down, pageup, pagedown, home and end scroll it; so does the wheel

    def __init__(self, actions=None, extra=EXTRA, **kwargs):
        """actions: only the table's keys for these actions (a lesson's subset); extra: more rows."""
        super().__init__(**kwargs)
        self.actions = actions
        self.extra = extra

    def compose(self) -> ComposeResult:
        groups: dict[str, list[tuple[str, str]]] = {}
        for k in KEYS:
            if self.actions is None or k.action in self.actions:
                groups.setdefault(k.group, []).append((_key_name(k), k.help))
        for group, key, text in self.extra:
            groups.setdefault(group, []).append((key, text))
        table = Table(box=None, padding=(0, 2, 0, 0), show_header=False, expand=True)
        table.add_column("key", style="bold yellow", no_wrap=True, min_width=8)
        table.add_column("what it does", ratio=1)
        first = True
        for group, rows in groups.items():
            if not first:
                table.add_row("", "")
            first = False
            table.add_row(Text(group, style="bold underline"), "")
            for key, text in rows:
                table.add_row(key, text)
        with Vertical(id="help-box"):
            yield Static("[b]netstep[/b] keys  [dim](esc to close)[/]", id="help-title")
            with VerticalScroll(id="help-scroll"):
                yield Static(table, id="help-table")

    def action_close(self) -> None:
        self.dismiss(None)
