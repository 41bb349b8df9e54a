"""The class view: what a teacher's `netstep serve` session opens instead of the trainer.

One row per student known to the server, connected or not, the longest-stuck connected ones
first (tui/classroom/state.py reads it all, once a second, on a worker thread); a summary
line and the server's load. enter watches a student's screen (tui/classroom/watch_screen.py);
s sends a lesson or a run to the class (tui/classroom/send_screen.py). Requests go to the
server over the session's channel (tui/serve/channel.py); outside a served session (tests)
`channel` may be any object with send(dict).
"""

from __future__ import annotations

import os
import time

from textual import work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import Static

from tui.classroom.class_table import ClassTable
from tui.classroom.send_screen import SendScreen
from tui.classroom.state import load_class
from tui.classroom.watch_screen import WatchScreen
from tui.widgets.footer import FitFooter as Footer

REFRESH_EVERY = 1.0


def _steps_of() -> dict:
    from tui.lessons import load_all

    lessons, _ = load_all()
    return {lesson.id: len(lesson.steps) for lesson in lessons}


class ClassApp(App):
    TITLE = "netstep class"
    CSS_PATH = ["class_view.tcss"]
    BINDINGS = [
        Binding("s", "send", "send to class"),
        Binding("q", "quit", "quit"),
    ]

    def __init__(self, data, channel=None, can_type: bool = False, clock=time.time, **kwargs):
        super().__init__(**kwargs)
        self.data = data
        self.clock = clock     # the time the rows are measured from (fixed in snapshot tests)
        self.channel = channel
        self.can_type = can_type
        self.state = None
        self.steps_of = {}
        self.watching: WatchScreen | None = None

    def compose(self) -> ComposeResult:
        self.summary = Static(id="class-summary")
        yield self.summary
        with Vertical(id="class-panel") as panel:
            panel.border_title = "class"
            panel.border_subtitle = "enter watch · s send · q quit"
            self.table = ClassTable(id="class-table")
            yield self.table
        self.load_line = Static(id="class-load")
        yield self.load_line
        yield Footer()

    def on_mount(self) -> None:
        self.table.focus()
        if self.channel is not None and hasattr(self.channel, "listen"):
            self.channel.listen(lambda message: self.call_from_thread(self.receive, message))
        self.refresh_class()
        self.set_interval(REFRESH_EVERY, self.refresh_class)

    # -- the class, once a second

    @work(thread=True, exclusive=True, group="class", exit_on_error=False)
    def refresh_class(self) -> None:
        if not self.steps_of:
            self.steps_of = _steps_of()
        try:
            state = load_class(self.data, self.steps_of, now=self.clock())
        except OSError as e:   # the data folder went away or is not readable: say so, keep trying
            self.call_from_thread(self.summary.update, f" cannot read the class from {self.data}: {e.strerror or e}")
            return
        self.call_from_thread(self.show_class, state)

    def show_class(self, state) -> None:
        self.state = state
        self.table.show(state.rows, state.taken_at)
        self.summary.update(" " + state.summary())
        self.load_line.update(" " + state.load_text())
        self.load_line.set_class(state.busy, "-busy")

    # -- requests to the server

    def send_request(self, message: dict) -> bool:
        if self.channel is None:
            self.notify("Not connected to a server: watching and sending need `netstep serve`.", timeout=4)
            return False
        return bool(self.channel.send(message))

    def unwatch(self) -> None:
        self.watching = None
        self.send_request({"kind": "unwatch"})

    def on_class_table_chosen(self, message: ClassTable.Chosen) -> None:
        self._watch(message.name)

    def _watch(self, name: str) -> None:
        row = next((r for r in (self.state.rows if self.state else []) if r.name == name), None)
        if row is not None and not row.connected:
            self.notify(f"{name} is not connected.", timeout=3)
            return
        if self.send_request({"kind": "watch", "name": name}):
            self.watching = WatchScreen(name, self.can_type)
            self.push_screen(self.watching)

    def action_send(self) -> None:
        def sent(choice) -> None:
            if choice:
                self.send_request({"kind": "send", **choice})

        self.push_screen(SendScreen(), sent)

    # -- what the server says

    def receive(self, message: dict) -> None:
        kind = message.get("kind")
        screen = self.watching
        if kind == "screen" and screen is not None and message.get("name") == screen.student:
            screen.show(message)
        elif kind == "watch_ended":
            if screen is not None and message.get("name") == screen.student:
                screen.ended(str(message.get("why")))
            else:
                self.notify(f"cannot watch {message.get('name')}: {message.get('why')}", timeout=4)
        elif kind == "sent_ok":
            what = message.get("lesson") or message.get("preset")
            self.notify(f"sent {what} to {message.get('count', 0)} connected students", timeout=4)


def main(data: str) -> int:
    from tui.serve.channel import ChildEnd

    channel = ChildEnd.from_env()
    can_type = os.environ.get("NETSTEP_TEACHERS_CAN_TYPE") == "1"
    ClassApp(data, channel, can_type=can_type).run()
    return 0

