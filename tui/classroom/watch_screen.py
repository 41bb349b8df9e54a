"""Watching one student: their screen, live and read-only; esc returns to the class.

The server sends the student's virtual screen whenever it changes (tui/serve/hub.py); the
student's status line says who watches. With `netstep serve --teachers-can-type`, ctrl+t
takes the keyboard: every key then goes to the student's session (the student is told),
until ctrl+t again.
"""

from __future__ import annotations

from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Static

from tui.classroom.screen_view import ScreenView
from tui.widgets.footer import FitFooter as Footer

# Textual key names -> the bytes a terminal sends for them (what the student's app reads).
_BYTES = {"enter": "\r", "escape": "\x1b", "tab": "\t", "space": " ", "backspace": "\x7f",
          "up": "\x1b[A", "down": "\x1b[B", "right": "\x1b[C", "left": "\x1b[D",
          "home": "\x1b[H", "end": "\x1b[F", "pageup": "\x1b[5~", "pagedown": "\x1b[6~", "delete": "\x1b[3~"}


def key_bytes(event: events.Key) -> str | None:
    if event.key in _BYTES:
        return _BYTES[event.key]
    if event.key.startswith("ctrl+") and len(event.key) == 6 and event.key[5].isalpha():
        return chr(ord(event.key[5]) - 96)
    if event.character and event.is_printable:
        return event.character
    return None


class WatchScreen(Screen):
    BINDINGS = [
        Binding("escape", "leave", "back to the class"),
        Binding("ctrl+t", "take", "take the keyboard", priority=True),
    ]

    def __init__(self, name: str, can_type: bool, **kwargs):
        super().__init__(**kwargs)
        self.student = name
        self.can_type = can_type
        self.typing = False

    def compose(self) -> ComposeResult:
        self.title_line = Static(id="watch-title")
        yield self.title_line
        self.view = ScreenView(id="watch-view")
        yield self.view
        yield Footer()

    def on_mount(self) -> None:
        self._title("waiting for the screen…")
        self.view.focus()

    def _title(self, note: str = "") -> None:
        mode = "YOU ARE TYPING on their screen (ctrl+t gives it back)" if self.typing else "read-only"
        self.title_line.update(f" watching {self.student} · {mode}" + (f" · {note}" if note else "") +
                               " · esc returns")

    def show(self, dump: dict) -> None:
        self.view.show(dump)
        self._title(f"{dump.get('cols')}x{dump.get('rows')}")

    def ended(self, why: str) -> None:
        self._title(f"ended: {why}")

    def action_leave(self) -> None:
        self.app.unwatch()
        self.app.pop_screen()

    def action_take(self) -> None:
        if not self.can_type:
            self.notify("Typing needs the server started with --teachers-can-type.", timeout=4)
            return
        self.typing = not self.typing
        if not self.typing:
            self.app.send_request({"kind": "watch", "name": self.student})   # back to read-only
        self._title()

    def on_key(self, event: events.Key) -> None:
        if not self.typing or event.key == "ctrl+t":
            return
        data = key_bytes(event)
        if data is not None:
            event.stop()
            event.prevent_default()
            self.app.send_request({"kind": "keys", "data": data})
