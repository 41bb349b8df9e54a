"""Text drawn with the line API: one cached strip per line, repainted only where it changed.

For the often-redrawn text of the panels (the status line, the loss key, the map titles,
the weights inspector, the diagnostics body). A Static lays out and renders its whole
content again on every update; here each line's strip is cached under its content (text
and spans) and width, and an update refreshes only the lines whose content changed
(issue 14), so a step that changes two numbers repaints two lines.

`update()` takes a Rich Text (or a list of them, "parts"): a part that does not wrap
(no_wrap=True) shows one line per line of it, cut to the width with an ellipsis; a part
that wraps (prose: a warning) is wrapped to the width.

A changed line is turned into a strip here, not by Rich: Text.render + Strip.apply_style +
adjust_cell_length cost about 1 ms a line (a Style added per segment, the widget's style
looked up through every ancestor twice); text_strip() builds the segments straight from
the Text's spans, with each combination of styles made once (issue 14). The widget's own
style is looked up once per frame. Unchanged lines and, in a box with no border or padding,
changed ones skip Textual's per-widget styling (QuickLines, PLAIN_LINES). Unlike
Text.render, a Text's own style (Text("...", style="red")) is drawn even when it has no
spans: the diagnostics' warnings and halt line lost their colour through it.
"""

from __future__ import annotations

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.strip import Strip
from textual.widget import Widget

from tui.widgets.quick_lines import QuickLines
from tui.widgets.repaint import changed_lines


_parsed: dict = {}      # a span's style (a string or a Style) -> Style
_combined: dict = {}    # (base, style values in the order applied) -> base + their combination


def _parse(console, style) -> Style:
    got = _parsed.get(style)
    if got is None:
        got = _parsed[style] = console.get_style(style, default=Style.null()) if isinstance(style, str) else style
    return got


def _style_of(console, base: Style, values: tuple) -> Style:
    key = (base, values)
    got = _combined.get(key)
    if got is None:
        if len(_combined) > 4096:
            _combined.clear()   # bounded: styles come from a handful of code paths
        got = _combined[key] = base + Style.combine([_parse(console, v) for v in values])
    return got


def text_strip(t: Text, base: Style, width: int, console) -> Strip:
    """The strip Rich would draw for `t` (no wider than `width`) under the widget's style `base`,
    padded to `width`: its spans applied as Text.render does (later spans over earlier ones,
    all over the Text's own style)."""
    plain = t.plain
    n = len(plain)
    spans = [s for s in t.spans if s.start < s.end and s.start < n]
    if not spans:
        segments = [Segment(plain, _style_of(console, base, (t.style,)))] if plain else []
    else:
        cuts = sorted({0, n, *(s.start for s in spans), *(min(s.end, n) for s in spans)})
        segments = []
        for a, b in zip(cuts, cuts[1:]):
            values = (t.style, *(s.style for s in spans if s.start <= a and s.end >= b))
            segments.append(Segment(plain[a:b], _style_of(console, base, values)))
    cells = t.cell_len
    strip = Strip(segments, cells)
    if cells < width:
        strip = Strip([*segments, Segment(" " * (width - cells), base)], width)
    elif cells > width:
        strip = strip.adjust_cell_length(width, base)
    return strip


def line_key(t: Text):
    """Everything a line shows: equal keys draw equal strips."""
    return t.plain, str(t.style), tuple((s.start, s.end, str(s.style)) for s in t.spans)


class TextLines(QuickLines, Widget):
    """Lines of Rich text, repainted only where they changed."""

    DEFAULT_CSS = "TextLines { height: auto; }"

    def __init__(self, content=None, **kwargs):
        super().__init__(**kwargs)
        self._parts: list[Text] = []
        self._lines: list[Text] = []
        self._keys: list = []
        self._cache: dict = {}       # (line key, width) -> Strip
        self._width = None
        self._base = None            # the widget's Rich style, looked up once a frame (see render_lines)
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

    PLAIN_LINES = True   # QuickLines: a plain box's lines go straight into Textual's line cache

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._base = None

    def render_lines(self, crop):
        # render_line runs only for lines with no strip yet; those share one lookup of the
        # widget's style (it walks every ancestor), made at the first of them.
        self._base = None
        return super().render_lines(crop)

    def render_line(self, y: int) -> Strip:
        base = self._base
        if base is None:
            base = self._base = self.rich_style
        width = self.size.width
        if y >= len(self._lines):
            return Strip.blank(width, base)
        key = (self._keys[y], width, base)   # the style: a new theme draws the lines again
        strip = self._cache.get(key)
        if strip is None:
            if len(self._cache) > 4 * max(16, len(self._lines)):
                self._cache.clear()   # bounded: old lines are not coming back
            t = self._lines[y]
            if t.cell_len > width:
                t = t.copy()
                t.truncate(width, overflow="ellipsis")
            strip = self._cache[key] = text_strip(t, base, width, self.app.console)
        return strip


def _as_parts(content) -> list[Text]:
    if isinstance(content, Text):
        return [content]
    if isinstance(content, str):
        return [Text(content)]
    return list(content)
