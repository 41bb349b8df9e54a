"""A student's screen as the server's virtual screen holds it (tui/serve/vscreen.py dump).

Line API: each line is a list of (text, style) runs; a line whose runs did not change keeps
its strip, and only changed lines repaint. Styles are parsed once each and cached. Larger
than the teacher's terminal, it scrolls (arrows, page keys).
"""

from __future__ import annotations

from rich.segment import Segment
from rich.style import Style
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.strip import Strip

from tui.widgets.repaint import changed_lines

_STYLES: dict[str, Style] = {}


def style(spec: str) -> Style:
    s = _STYLES.get(spec)
    if s is None:
        try:
            s = Style.parse(spec) if spec else Style()
        except Exception:   # a colour Rich does not know: plain rather than nothing
            s = Style()
        _STYLES[spec] = s
    return s


class ScreenView(ScrollView, can_focus=True):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.lines: list = []
        self._keys: list = []
        self._strips: dict = {}

    def show(self, dump: dict) -> None:
        """A frame: every line (full) or only the changed ones, by row number."""
        cols, rows = int(dump.get("cols") or 0), int(dump.get("rows") or 0)
        lines = [()] * rows if dump.get("full") else (self.lines + [()] * rows)[:rows]
        for y, line in (dump.get("lines") or {}).items():
            if 0 <= int(y) < rows:
                lines[int(y)] = tuple((str(t), str(s)) for t, s in line)
        old, self.lines = self._keys, lines
        self._keys = lines
        self._strips = {k: v for k, v in self._strips.items() if k in set(lines)}
        self.virtual_size = Size(cols, len(lines))
        if self.scroll_offset.x or self.scroll_offset.y:
            self.refresh()
        else:
            changed_lines(self, old, lines)

    def text(self) -> str:
        return "\n".join("".join(t for t, _ in line).rstrip() for line in self.lines)

    def render_line(self, y: int) -> Strip:
        sy = y + int(self.scroll_offset.y)
        width = self.size.width
        if sy >= len(self.lines):
            return Strip.blank(width)
        line = self.lines[sy]
        strip = self._strips.get(line)
        if strip is None:
            strip = Strip([Segment(t, style(s)) for t, s in line])
            self._strips[line] = strip
        x = int(self.scroll_offset.x)
        return strip.crop(x, x + width).extend_cell_length(width)
