"""The lesson list: every lesson with your progress; enter opens one."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Static

from tui.widgets.footer import FitFooter as Footer
from tui.screens.lesson import LessonScreen


class LessonListScreen(Screen):
    CSS_PATH = "lesson.tcss"
    BINDINGS = [
        Binding("enter", "open", "open lesson", priority=True),
        Binding("escape", "back", "dashboard"),
        Binding("q", "quit_app", "quit"),
    ]

    def __init__(self, lessons, store, over_dashboard=False, **kwargs):
        super().__init__(**kwargs)
        self.lessons = lessons
        self.store = store
        self.over_dashboard = over_dashboard   # opened with L: esc goes back to the run

    def compose(self) -> ComposeResult:
        yield Static("[b]netstep lessons[/b]  [dim]a guided course, one step per keypress[/dim]", id="list-header")
        yield DataTable(id="lesson-table", cursor_type="row", zebra_stripes=True)
        yield Static(id="list-summary")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_column("#", key="n")
        table.add_column("lesson", key="id")
        table.add_column("title", key="title")
        table.add_column("progress", key="progress")
        self._fill()
        table.focus()

    def on_screen_resume(self) -> None:
        self._fill()

    def _fill(self) -> None:
        table = self.query_one(DataTable)
        row = table.cursor_row
        table.clear()
        progress = self.store.all()
        done = 0
        for i, lesson in enumerate(self.lessons, start=1):
            p = progress.get(lesson.id)
            label = "not started" if p is None else p.label(len(lesson.steps))
            done += bool(p and p.done)
            mark = "✓ done" if label == "done" else label
            table.add_row(str(i), lesson.id, lesson.title, mark, key=lesson.id)
        if self.lessons:
            table.move_cursor(row=min(row, len(self.lessons) - 1))
        where = "saved" if self.store.persistent else "not saved (see the warning)"
        self.query_one("#list-summary", Static).update(
            f"{done} of {len(self.lessons)} lessons done · progress {where} for {self.store.user} · "
            "enter opens a lesson, → and ← move between its steps")

    def action_open(self) -> None:
        table = self.query_one(DataTable)
        if not self.lessons:
            return
        lesson = self.lessons[table.cursor_row]
        self.app.push_screen(LessonScreen(lesson, self.store))

    def on_data_table_row_selected(self, event) -> None:
        self.action_open()

    def action_back(self) -> None:
        if self.over_dashboard:
            self.app.pop_screen()
        else:
            self.notify("q quits; `netstep` opens the dashboard", timeout=3)

    def check_action(self, action: str, parameters):
        if action == "back" and not self.over_dashboard:
            return None   # shown disabled: no dashboard under these lessons
        return True

    def action_quit_app(self) -> None:
        self.app.exit(0)
