"""A matrix drawn as coloured cells with the line API.

Two modes, chosen by whoever places the heatmap (it knows how much room there is):
numbers inside coloured cells, one matrix row per terminal line, when they fit; or
colour alone, two matrix rows per terminal line with the upper-half block (its
foreground paints the upper row, its background the lower one). A matrix larger
than the widget is shown through a window that follows the cursor. Lines are
cached until the data, the cursor or the size changes.
"""

from __future__ import annotations

import numpy as np
from rich.segment import Segment
from textual import events
from textual.message import Message
from textual.strip import Strip
from textual.widget import Widget

from tui.widgets import colours

CELL_W = 8          # a number cell: 7 characters and a gap
HALF = "▀"


def fmt(v: float, width: int = 7) -> str:
    """A number in at most `width` characters, keeping three significant digits."""
    if v != v:
        return "nan".rjust(width)
    if v in (float("inf"), float("-inf")):
        return ("inf" if v > 0 else "-inf").rjust(width)
    a = abs(v)
    if a == 0:
        text = "0"
    elif 0.01 <= a < 1000:
        digits = max(0, 2 - int(np.floor(np.log10(a))))
        text = f"{v:.{digits}f}"
    else:
        mant, exp = f"{v:.1e}".split("e")
        text = f"{mant}e{int(exp)}"
    return text.rjust(width)[:width] if len(text) <= width else f"{v:.0e}".rjust(width)[:width]


class Heatmap(Widget):
    """A matrix as a heatmap; a cursor cell; click to choose a cell."""

    class CellClicked(Message):
        def __init__(self, heatmap: "Heatmap", row: int, col: int):
            super().__init__()
            self.heatmap, self.row, self.col = heatmap, row, col

        @property
        def control(self):
            return self.heatmap

    def __init__(self, name_hint: str = "", **kwargs):
        super().__init__(**kwargs)
        self.name_hint = name_hint
        self._M = None
        self._levels = None
        self._scale = 0.0
        self.cursor = None           # (row, col) or None
        self.numbers = True
        self.cell_w = CELL_W
        self._origin = (0, 0)        # first matrix row and column in view
        self._cache: dict = {}

    # ----- data --------------------------------------------------------------------

    def set_matrix(self, M, cursor=None, numbers=None, cell_w=None):
        """Show M (2-D array or None); cursor (row, col) or None."""
        self._M = None if M is None else np.asarray(M)
        if self._M is not None:
            finite = self._M[np.isfinite(self._M)]
            self._scale = float(np.abs(finite).max()) if finite.size else 0.0
        self.cursor = cursor
        if numbers is not None:
            self.numbers = numbers
        if cell_w is not None:
            self.cell_w = cell_w
        self._cache.clear()
        self.refresh()

    @property
    def scale(self) -> float:
        """The largest |value|: the ends of the colour scale."""
        return self._scale

    @property
    def shape(self):
        return None if self._M is None else self._M.shape

    def lines_needed(self, numbers: bool) -> int:
        if self._M is None:
            return 1
        rows = self._M.shape[0]
        return rows if numbers else (rows + 1) // 2

    def on_resize(self, event: events.Resize) -> None:
        self._cache.clear()

    # ----- geometry ----------------------------------------------------------------

    def _cell_width(self):
        return CELL_W if self.numbers else max(1, self.cell_w)

    def _view(self):
        """(first row, first col, rows shown, cols shown) keeping the cursor in view."""
        rows, cols = self._M.shape
        width, height = self.size
        cw = self._cell_width()
        per_line = 1 if self.numbers else 2
        n_cols = max(1, min(cols, width // cw))
        n_rows = max(1, min(rows, height * per_line))
        r0, c0 = self._origin
        if self.cursor is not None:
            r, c = self.cursor
            if r < r0:
                r0 = r
            elif r >= r0 + n_rows:
                r0 = r - n_rows + 1
            if c < c0:
                c0 = c
            elif c >= c0 + n_cols:
                c0 = c - n_cols + 1
        r0 = max(0, min(r0, rows - n_rows))
        c0 = max(0, min(c0, cols - n_cols))
        if not self.numbers:
            r0 -= r0 % 2  # keep row pairs aligned to lines
        self._origin = (r0, c0)
        return r0, c0, n_rows, n_cols

    def cell_at(self, x: int, y: int):
        """The (row, col) under widget offset (x, y), or None."""
        if self._M is None:
            return None
        r0, c0, n_rows, n_cols = self._view()
        cw = self._cell_width()
        col = c0 + x // cw
        row = r0 + (y if self.numbers else 2 * y)
        rows, cols = self._M.shape
        if 0 <= row < rows and 0 <= col < cols and x // cw < n_cols:
            return row, col
        return None

    # ----- drawing -----------------------------------------------------------------

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        key = (y, width, self.size.height)
        strip = self._cache.get(key)
        if strip is None:
            strip = self._render(y, width)
            self._cache[key] = strip
        return strip

    def _render(self, y: int, width: int) -> Strip:
        if width <= 0:
            return Strip.blank(0)
        M = self._M
        if M is None or M.size == 0:
            return Strip.blank(width, self.rich_style)
        rows, cols = M.shape
        r0, c0, n_rows, n_cols = self._view()
        scale = self._scale
        segments = []
        if self.numbers:
            r = r0 + y
            if y >= n_rows:
                return Strip.blank(width, self.rich_style)
            for c in range(c0, c0 + n_cols):
                v = float(M[r, c])
                lv = colours.level(v, scale)
                on = self.cursor == (r, c)
                segments.append(Segment(fmt(v, CELL_W - 1) + " ", colours.cell_style(lv, on)))
        else:
            r_top = r0 + 2 * y
            if r_top >= rows or 2 * y >= n_rows:
                return Strip.blank(width, self.rich_style)
            r_bot = r_top + 1 if r_top + 1 < min(rows, r0 + n_rows) else None
            cw = self._cell_width()
            for c in range(c0, c0 + n_cols):
                top = colours.level(float(M[r_top, c]), scale)
                if self.cursor == (r_top, c):
                    top = colours.CURSOR_RGB
                if r_bot is None:
                    style = _top_only(top)
                else:
                    bot = colours.level(float(M[r_bot, c]), scale)
                    if self.cursor == (r_bot, c):
                        bot = colours.CURSOR_RGB
                    style = colours.half_style(top, bot)
                segments.append(Segment(HALF * cw, style))
        strip = Strip(segments)
        return strip.adjust_cell_length(width, self.rich_style)

    # ----- mouse -------------------------------------------------------------------

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None:
            return
        cell = self.cell_at(offset.x, offset.y)
        if cell is not None:
            self.post_message(self.CellClicked(self, *cell))


def _top_only(top):
    rgb = colours.level_rgb(top) if isinstance(top, int) else top
    return colours.plain_style(fg=rgb)
