"""The class, one row per student: a line-API table with a cursor (redrawn once a second).

Each line is built from the row's shown text only, cached by it, so a second in which
nothing but the clocks moved rebuilds a few strips and repaints only the lines that differ.
One Style per kind of row, built once.
"""

from __future__ import annotations

from rich.segment import Segment
from rich.style import Style
from textual.binding import Binding
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from tui.widgets.repaint import changed_lines

# Most telling first: at 80 columns the last ones scroll off to the right.
COLUMNS = (("student", 12), ("lesson", 15), ("step", 5), ("on step", 7), ("check", 7), ("last key", 11),
           ("trained", 8), ("connected", 9), ("", 0))

STYLES = {
    "head": Style(bold=True, underline=True),
    "row": Style(),
    "stuck": Style(color="red", bold=True),
    "met": Style(color="green"),
    "away": Style(dim=True),
    "cursor": Style(reverse=True),
}


def _ago(seconds) -> str:
    if seconds is None:
        return "—"
    s = int(seconds)
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s // 3600}h{s % 3600 // 60:02d}m"


def _fit(text: str, width: int) -> str:
    if width <= 0:
        return text
    return text[:width - 1] + "…" if len(text) > width else text.ljust(width)


def cells(row, now: float) -> tuple[str, ...]:
    """What one student's line shows (also what the tests read)."""
    connected = _ago(now - row.since) if row.connected and row.since else ("—" if not row.connected else "yes")
    if not row.connected:
        connected = "away"
    step = f"{row.step}/{row.steps}" if row.step and row.steps else (str(row.step) if row.step else "—")
    check = "—" if row.check is None else ("met" if row.check else "not met")
    key = "—"
    if row.last_key:
        key = f"{row.last_key} {_ago(row.last_key_ago)}" if row.last_key_ago is not None else row.last_key
    extra = []
    if row.playing:
        extra.append("playing")
    if row.watched_by:
        extra.append("watched by " + ", ".join(row.watched_by))
    if row.lessons_done:
        extra.append(f"{row.lessons_done} done")
    if row.error:
        extra.append("! " + row.error)
    lesson = row.lesson or ("dashboard" if row.connected else "—")
    return (row.name, lesson, step, _ago(row.on_step) if row.connected else "—", check, key,
            "—" if row.trained is None else f"{row.trained:,}", connected, " · ".join(extra))


class ClassTable(ScrollView, can_focus=True):
    BINDINGS = [
        Binding("up", "move(-1)", "up", show=False),
        Binding("down", "move(1)", "down", show=False),
        Binding("enter", "choose", "watch", key_display="enter"),
    ]

    class Chosen(Message):
        """Enter on a student: watch them."""

        def __init__(self, table: "ClassTable", name: str):
            super().__init__()
            self.table = table
            self.name = name

        @property
        def control(self):
            return self.table

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.rows = []
        self.lines: list[tuple] = []      # shown text per student
        self.cursor = 0
        self._keys: list = []
        self._strips: dict = {}

    def show(self, rows, now: float) -> None:
        selected = self.selected()
        self.rows = rows
        self.lines = [cells(r, now) for r in rows]
        names = [r.name for r in rows]
        self.cursor = names.index(selected) if selected in names else min(self.cursor, max(0, len(rows) - 1))
        self.virtual_size = Size(sum(w for _, w in COLUMNS) + 40, len(rows) + 1)
        self._repaint()

    def selected(self) -> str | None:
        return self.rows[self.cursor].name if 0 <= self.cursor < len(self.rows) else None

    def _kind(self, i: int) -> str:
        row = self.rows[i]
        if not row.connected:
            return "away"
        if row.stuck:
            return "stuck"
        return "met" if row.check else "row"

    def _line_key(self, y: int):
        if y == 0:
            return ("head",)
        i = y - 1
        return (self.lines[i], self._kind(i), i == self.cursor)

    def _repaint(self) -> None:
        keys = [self._line_key(y) for y in range(len(self.lines) + 1)]
        old, self._keys = self._keys, keys
        if self.scroll_offset.y or len(old) != len(keys):
            self.refresh()
        else:
            changed_lines(self, old, keys)
        if len(self._strips) > 4 * len(keys) + 16:
            self._strips.clear()

    def render_line(self, y: int) -> Strip:
        sy = y + int(self.scroll_offset.y)
        width = self.size.width
        if sy >= len(self.lines) + 1:
            return Strip.blank(width)
        key = self._line_key(sy)
        strip = self._strips.get(key)
        if strip is None:
            if sy == 0:
                text = " ".join(_fit(name, w) for name, w in COLUMNS)
                style = STYLES["head"]
            else:
                text = " ".join(_fit(value, w) for value, (_, w) in zip(key[0], COLUMNS))
                style = STYLES[key[1]] + (STYLES["cursor"] if key[2] else Style())
            strip = Strip([Segment(text, style)])
            self._strips[key] = strip
        x = int(self.scroll_offset.x)
        return strip.crop(x, x + width).extend_cell_length(width)

    def action_move(self, delta: int) -> None:
        if not self.rows:
            return
        self.cursor = max(0, min(len(self.rows) - 1, self.cursor + delta))
        self.scroll_to_region_if_needed()
        self._repaint()

    def scroll_to_region_if_needed(self) -> None:
        y = self.cursor + 1
        top = int(self.scroll_offset.y)
        height = max(1, self.size.height)
        if y < top + 1:
            self.scroll_to(y=max(0, y - 1), animate=False)
        elif y >= top + height:
            self.scroll_to(y=y - height + 1, animate=False)

    def action_choose(self) -> None:
        name = self.selected()
        if name is not None:
            self.post_message(self.Chosen(self, name))
