"""Text drawn with the line API: one cached strip per line, repainted only where it changed.

For the often-redrawn text of the panels (the status line, the loss key, the map titles,
the weights inspector, the diagnostics body). A Static lays out and renders its whole
content again on every update; here each line's strip is cached under its content (text
and spans) and width, and an update refreshes only the lines whose content changed
(issue 14), so a step that changes two numbers repaints two lines.

`update()` takes a Rich Text (or a list of them, "parts"): a part that does not wrap
(no_wrap=True) shows one line per line of it, cut to the width with an ellipsis; a part
that wraps (prose: a warning) is wrapped to the width.
"""

from __future__ import annotations

from rich.text import Text
from textual.strip import Strip
from textual.widget import Widget

from tui.widgets.repaint import changed_lines


def line_key(t: Text):
    """Everything a line shows: equal keys draw equal strips."""
    return t.plain, str(t.style), tuple((s.start, s.end, str(s.style)) for s in t.spans)


class TextLines(Widget):
    """Lines of Rich text, repainted only where they changed."""

    DEFAULT_CSS = "TextLines { height: auto; }"

    def __init__(self, content=None, **kwargs):
        super().__init__(**kwargs)
        self._parts: list[Text] = []
        self._lines: list[Text] = []
        self._keys: list = []
        self._cache: dict = {}       # (line key, width) -> Strip
        self._width = None
        if content is not None:
            self._parts = _as_parts(content)

    def update(self, content, layout: bool | None = None) -> None:
        """Show `content` (a Text, a str, or a list of Texts). `layout` is accepted for
        Static's signature: a new layout happens when the number of lines changes."""
        self._parts = _as_parts(content)
        if self.is_mounted:
            self._relayout()

    @property
    def content(self) -> Text:
        """Everything shown, as one Text (lines joined)."""
        return Text("\n").join(self._parts) if self._parts else Text("")

    @property
    def lines(self) -> list[Text]:
        return self._lines

    def _split(self, width):
        lines = []
        for part in self._parts:
            if part.no_wrap or not width:
                lines.extend(part.split("\n", allow_blank=True) if "\n" in part.plain else [part])
            else:
                lines.extend(part.wrap(self.app.console, width))
        return lines

    def _relayout(self) -> None:
        width = self.size.width
        self._width = width
        old = self._keys
        self._lines = self._split(width)
        self._keys = [line_key(t) for t in self._lines]
        changed_lines(self, old, self._keys, layout=len(old) != len(self._keys))

    def on_mount(self) -> None:
        self._relayout()

    def on_resize(self) -> None:
        self._cache.clear()
        if self.size.width != self._width:
            self._relayout()

    def get_content_height(self, container, viewport, width: int) -> int:
        if width != self._width:
            return len(self._split(width))
        return len(self._lines)

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        if y >= len(self._lines):
            return Strip.blank(width, self.rich_style)
        key = (self._keys[y], width)
        strip = self._cache.get(key)
        if strip is None:
            if len(self._cache) > 4 * max(16, len(self._lines)):
                self._cache.clear()   # bounded: old lines are not coming back
            t = self._lines[y]
            if t.cell_len > width:
                t = t.copy()
                t.truncate(width, overflow="ellipsis")
            strip = Strip(t.render(self.app.console), t.cell_len).apply_style(self.rich_style)
            strip = strip.adjust_cell_length(width, self.rich_style)
            self._cache[key] = strip
        return strip


def _as_parts(content) -> list[Text]:
    if isinstance(content, Text):
        return [content]
    if isinstance(content, str):
        return [Text(content)]
    return list(content)
