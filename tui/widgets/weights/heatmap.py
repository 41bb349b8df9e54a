"""A matrix drawn as coloured cells with the line API.

Two modes, chosen by whoever places the heatmap (it knows how much room there is):
numbers inside coloured cells, one matrix row per terminal line, when they fit; or
colour alone, two matrix rows per terminal line with the upper-half block (its
foreground paints the upper row, its background the lower one). A matrix larger
than the widget is shown through a window that follows the cursor. Each line's
strip is cached under a key of what it shows (its colour levels, numbers, cursor), so
a new matrix repaints only the lines that look different; the styles come from
tables built once, one per colour level (pair), and runs of one colour are one segment.
"""

from __future__ import annotations

import numpy as np
from rich.segment import Segment
from rich.text import Text
from textual import events
from textual.message import Message
from textual.strip import Strip
from textual.widget import Widget

from tui.fmt import num
from tui.widgets import colours
from tui.widgets.repaint import BaseStyle, SegmentTable, changed_lines

CELL_W = 8          # a number cell: 7 characters and a gap
HALF = "▀"


def fmt(v: float, width: int = 7, sig: int = 3) -> str:
    """A number right-aligned in `width` characters with up to `sig` significant digits
    (tui.fmt: rounded to fewer digits or e-notation when it does not fit, never cut)."""
    return num(float(v), width, sig).rjust(width)


class Heatmap(BaseStyle, Widget):
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
        self._cache: dict = {}       # line key -> Strip
        self._keys: list = []        # the key of each line on screen now
        self._shown = None           # ((size, view, cursor), codes): colour mode, each line's cell codes
        self._view_memo = (None, None)
        self._cache_base = None      # the base style the cached strips were padded with
        self.message = None          # shown when there is no matrix

    # ----- data --------------------------------------------------------------------

    def set_matrix(self, M, cursor=None, numbers=None, cell_w=None, message=None):
        """Show M (2-D array or None); cursor (row, col) or None; `message` in place of a
        missing M (why there is nothing to show).

        Only the lines whose content changed are repainted: each line has a key made of
        what it shows (the levels, the numbers, the cursor), and strips are cached by key."""
        self._M = None if M is None else np.asarray(M)
        if self._M is not None:
            peak = float(np.abs(self._M).max()) if self._M.size else 0.0
            if not np.isfinite(peak):   # the scale of the finite entries (NaN and inf drawn at the ends)
                finite = self._M[np.isfinite(self._M)]
                peak = float(np.abs(finite).max()) if finite.size else 0.0
            self._scale = peak
            self._levels = levels(self._M, self._scale) if self._M.ndim == 2 else None
        self.cursor = cursor
        self.message = message if M is None else None
        if numbers is not None:
            self.numbers = numbers
        if cell_w is not None:
            self.cell_w = cell_w
        old = self._keys
        self._keys = self._line_keys() if self._M is not None and self.size.width else []
        changed_lines(self, old, self._keys)

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
        self._keys = []
        self._shown = None

    # ----- geometry ----------------------------------------------------------------

    def _cell_width(self):
        return CELL_W if self.numbers else max(1, self.cell_w)

    def _view(self):
        """(first row, first col, rows shown, cols shown) keeping the cursor in view."""
        memo = (self._M.shape, self.size, self.cursor, self.numbers, self.cell_w, self._origin)
        if memo == self._view_memo[0]:
            return self._view_memo[1]
        view = self._view_of()
        self._view_memo = ((*memo[:-1], self._origin), view)   # the same state gives the same view
        return view

    def _view_of(self):
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

    def _line_keys(self):
        """Everything each line shows (equal keys draw equal strips); in colour mode also the
        lines' cell codes, kept for _render: a level pair per cell, at once with NumPy."""
        width, height = self.size
        M = self._M
        if M is None or M.size == 0 or M.ndim != 2:
            return [("message", self.message, y, width) for y in range(height)]
        r0, c0, n_rows, n_cols = self._view()
        cur = self.cursor
        keys = []
        if self.numbers:
            L = self._levels
            for y in range(height):
                if y >= n_rows:
                    keys.append(("blank", width))
                    continue
                r = r0 + y
                at = cur[1] - c0 if cur is not None and cur[0] == r else -1
                keys.append((True, width, M[r, c0:c0 + n_cols].tobytes(), L[r, c0:c0 + n_cols].tobytes(), at))
            return keys
        codes = _pair_codes(self._levels[r0:r0 + n_rows, c0:c0 + n_cols],
                            None if cur is None else (cur[0] - r0, cur[1] - c0))
        self._shown = ((self.size, self._view(), cur), codes)
        head = (False, width, self._cell_width())
        for y in range(height):
            keys.append((*head, codes[y].tobytes()) if y < len(codes) else ("blank", width))
        return keys

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        keys = self._keys
        if y < len(keys) and self._M is not None and (self.numbers or self._current()):
            key = keys[y]
        else:   # not drawn at this size yet (a resize before the next set_matrix)
            keys = self._keys = self._line_keys()
            key = keys[y] if y < len(keys) else ("blank", width)
        if self._cache_base is not self.base_style:   # a new theme: the padding's colour changed
            self._cache.clear()
            self._cache_base = self.base_style
        strip = self._cache.get(key)
        if strip is None:
            if len(self._cache) > 4 * max(8, self.size.height):
                self._cache.clear()   # bounded: old keys are not coming back
            strip = self._render(y, width)
            self._cache[key] = strip
        return strip

    def _current(self):
        shown = self._shown
        return shown is not None and shown[0] == (self.size, self._view(), self.cursor)

    def _render(self, y: int, width: int) -> Strip:
        if width <= 0:
            return Strip.blank(0)
        M = self._M
        if M is None or M.size == 0:
            if self.message:
                lines = Text(self.message, style="bold red").wrap(self.app.console, width)
                if y < len(lines):
                    return Strip(lines[y].render(self.app.console)).adjust_cell_length(width, self.base_style)
            return Strip.blank(width, self.base_style)
        r0, c0, n_rows, n_cols = self._view()
        L = self._levels
        if self.numbers:
            r = r0 + y
            if y >= n_rows:
                return Strip.blank(width, self.base_style)
            at = self.cursor[1] - c0 if self.cursor is not None and self.cursor[0] == r else -1
            cells = zip(M[r, c0:c0 + n_cols].tolist(), L[r, c0:c0 + n_cols].tolist())
            segments = [Segment(fmt(v, CELL_W - 1) + " ", _CELL[i == at][lv]) for i, (v, lv) in enumerate(cells)]
            used = n_cols * CELL_W
            if used < width:   # the padding in the same Strip: each Strip made costs its caches
                segments.append(Segment(" " * (width - used), self.base_style))
            return Strip(segments, used).crop(0, width) if used > width else Strip(segments, width)
        codes = self._shown[1]
        if y >= len(codes):
            return Strip.blank(width, self.base_style)
        # One segment per run of equal colour pairs, its Style from a table built once.
        cw = self._cell_width()
        line = codes[y] if cw == 1 else np.repeat(codes[y], cw)
        return SEGMENTS.strip(line, width, self.base_style)

    # ----- mouse -------------------------------------------------------------------

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None:
            return
        cell = self.cell_at(offset.x, offset.y)
        if cell is not None:
            self.post_message(self.CellClicked(self, *cell))


def levels(M, scale):
    """Every entry's colour level in [-LEVELS, LEVELS] at once (colours.level for a whole matrix)."""
    if not scale:
        return np.zeros(M.shape, dtype=np.int8)
    with np.errstate(invalid="ignore"):
        t = np.clip(M / scale, -1.0, 1.0)
    t = np.where(np.isnan(t), 0.0, t)
    return np.rint(t * colours.LEVELS).astype(np.int8)


CURSOR = 2 * colours.LEVELS + 1
NONE = CURSOR + 1


def _code_rgb(code):
    return colours.CURSOR_RGB if code == CURSOR else colours.level_rgb(code - colours.LEVELS)


# One Style per colour level (and per pair of levels for the half blocks), built once.
# Indexed by level, so negative levels index from the end: _CELL[cursor][level].
_CELL = [[colours.cell_style(lv, on) for lv in range(colours.LEVELS + 1)]
         + [colours.cell_style(lv, on) for lv in range(-colours.LEVELS, 0)] for on in (False, True)]
_HALF = [[colours.plain_style(fg=_code_rgb(t)) if b == NONE else colours.half_style(_code_rgb(t), _code_rgb(b))
          for b in range(NONE + 1)] for t in range(CURSOR + 1)]


_HALF_TABLE = [style for row in _HALF for style in row]   # by code top * (NONE + 1) + bottom
SEGMENTS = SegmentTable(lambda code, n: Segment(HALF * n, _HALF_TABLE[code]))


def _pair_codes(L, cursor=None):
    """(lines, cols) codes of the half blocks showing the levels L (rows, cols), two rows a line:
    top * (NONE + 1) + bottom, with CURSOR for the cursor cell and NONE under an odd last row."""
    rows, cols = L.shape
    top = L[0::2].astype(np.int16) + colours.LEVELS
    bot = np.full(top.shape, NONE, dtype=np.int16)
    bot[: rows // 2] = L[1::2] + colours.LEVELS
    if cursor is not None and 0 <= cursor[0] < rows and 0 <= cursor[1] < cols:
        (top if cursor[0] % 2 == 0 else bot)[cursor[0] // 2, cursor[1]] = CURSOR
    return top * (NONE + 1) + bot
