"""Repaint only the lines whose content changed (the line-API panels: heatmap, boundary, confusion),
and serve the lines a panel drew (CachedStrips).

Each such widget keeps one key per line (what the line shows); after a redraw it passes
the old and new keys here, so Textual composes only the lines that differ.
"""

from __future__ import annotations

from rich.segment import Segment
from textual.geometry import Region
from textual.strip import Strip


def changed_lines(widget, old_keys, keys, layout: bool = False) -> None:
    """Refresh the lines of `widget` whose key changed; the whole widget when the line count did."""
    if len(old_keys) != len(keys) or not keys:
        widget.refresh(layout=layout)
        return
    # One refresh call for all of them, adjacent lines merged into one region: each call
    # (and each region) costs Textual's bookkeeping, and a step often changes most rows.
    width = widget.size.width
    regions = []
    start = None
    for y, (k0, k1) in enumerate(zip(old_keys, keys)):
        if k0 != k1:
            if start is None:
                start = y
        elif start is not None:
            regions.append(Region(0, start, width, y - start))
            start = None
    if start is not None:
        regions.append(Region(0, start, width, len(keys) - start))
    if regions:
        widget.refresh(*regions)


LENGTH_BITS = 16      # a run's length in the low bits of its segment key (lines under 65536 cells)


class SegmentTable(dict):
    """Segments by (cell code, run length), each made once by make(cell code, length).

    A line-API widget codes each cell of a line as one integer (its character and style,
    in whatever encoding `make` reads); strip() cuts the line into runs of equal codes with
    NumPy and looks every run's Segment up here, so a line costs a few NumPy calls and a
    dict lookup per run, not a Segment and a Style built per run."""

    LIMIT = 50_000    # entries before the table starts afresh (old colours are not coming back)

    def __init__(self, make):
        super().__init__()
        self._make = make

    def __missing__(self, key):
        segment = self[key] = self._make(key >> LENGTH_BITS, key & ((1 << LENGTH_BITS) - 1))
        return segment

    def strip(self, cells, width: int, pad_style=None) -> Strip:
        """The Strip of one line of cell codes (a 1-D int array), padded with blanks in
        pad_style to `width` (or cut to it). One Strip is made: each costs its caches."""
        import numpy as np   # here, not at the top: the text widgets import this module before the first frame

        n = len(cells)
        if not n:
            return Strip.blank(width, pad_style)
        cells = np.asarray(cells, dtype=np.int64)
        change = np.empty(n + 1, dtype=bool)   # few NumPy calls: each costs more than its work here
        change[0] = change[n] = True
        np.not_equal(cells[1:], cells[:-1], out=change[1:n])
        bounds = change.nonzero()[0]           # the runs' starts, then n
        starts = bounds[:-1]
        lengths = bounds[1:] - starts
        if len(self) > self.LIMIT:
            self.clear()
        segments = list(map(self.__getitem__, ((cells[starts] << LENGTH_BITS) | lengths).tolist()))
        if n < width:
            segments.append(Segment(" " * (width - n), pad_style))
        elif n > width:
            return Strip(segments, n).crop(0, width)
        return Strip(segments, width)


class BaseStyle:
    """self.base_style: the widget's rich_style, read again only after a style update or a
    change of theme.

    Textual's rich_style walks every ancestor's styles on each read (about as much as
    drawing a line), and render_line needs it for every line it pads or blanks. A CSS
    change reaches this widget as notify_style_update; a theme change may leave this
    widget's own rules as they were (no notification), hence the theme in the key."""

    _base_style = (None, None)

    @property
    def base_style(self):
        theme = getattr(self.app, "theme", None)
        seen, style = self._base_style
        if style is None or seen != theme:
            style = self.rich_style
            self._base_style = (theme, style)
        return style

    def notify_style_update(self) -> None:
        self._base_style = (None, None)
        super().notify_style_update()


class CachedStrips(BaseStyle):
    """render_line for a widget that draws its lines into self._strips (one Strip a line):
    each is served as drawn, fitted once to the current width, and blank below the last."""

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        if y < len(self._strips):
            strip = self._strips[y]
            if strip.cell_length != width:
                strip = self._strips[y] = strip.adjust_cell_length(width, self.base_style)
            return strip
        return Strip.blank(width, self.base_style)
