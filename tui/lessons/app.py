"""The lessons app: the lesson list, and each lesson's screen over its own run.

`netstep lessons` and `netstep lesson ID` open this app; `L` on the dashboard opens
the same lesson list over the dashboard's run instead. Each lesson screen is the
PanelHost of its own panels (tui/widgets/panel.py) over its session's run
controller, so the dashboard's panels work here unchanged.
"""

from __future__ import annotations

from textual.app import App


class LessonApp(App):
    """netstep lessons: the course, guided, one step per keypress."""

    TITLE = "netstep lessons"
    CSS_PATH = ["../widgets/widgets.tcss"]

    def __init__(self, lesson_id=None, lessons=None, errors=(), store=None, store_problem=None, **kwargs):
        super().__init__(**kwargs)
        from tui.lessons import load_all
        from tui.store import open_store

        if lessons is None:
            lessons, errors = load_all()
        self.lessons = lessons
        self.load_errors = list(errors)
        if store is None:
            store, store_problem = open_store()
        self.store = store
        self.store_problem = store_problem
        self.lesson_id = lesson_id

    def on_mount(self) -> None:
        from tui.classroom.link import attach
        from tui.screens.lesson import LessonScreen
        from tui.screens.lesson_list import LessonListScreen

        attach(self)   # served: publish where we are, show what the teacher sends

        for message in self.load_errors:
            self.notify(message, title="Lesson skipped", severity="warning", timeout=10)
        if self.store_problem:
            self.notify(self.store_problem, title="Progress", severity="warning", timeout=10)
        self.push_screen(LessonListScreen(self.lessons, self.store))
        if self.lesson_id is not None:
            lesson = next(l for l in self.lessons if l.id == self.lesson_id)
            self.push_screen(LessonScreen(lesson, self.store))

    def on_unmount(self) -> None:
        self.store.close()


def run_app(lesson_id=None, lessons=None, errors=()) -> int:
    app = LessonApp(lesson_id, lessons=lessons, errors=errors)
    result = app.run()
    return result if isinstance(result, int) else 0
