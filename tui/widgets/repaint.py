"""Repaint only the lines whose content changed (the line-API panels: heatmap, boundary, confusion),
and serve the lines a panel drew (CachedStrips).

Each such widget keeps one key per line (what the line shows); after a redraw it passes
the old and new keys here, so Textual composes only the lines that differ.
"""

from __future__ import annotations

import numpy as np
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


def run_strip(text: str, codes, styles, width: int) -> Strip:
    """A line of `text` whose cell i has style styles[codes[i]]: one Segment per run of equal codes.

    codes: a 1-D int array as long as text (one character a cell); styles: a mapping such as
    colours.StyleTable, so no Style is made here."""
    n = len(codes)
    if not n:
        return Strip.blank(width)
    cuts = (np.flatnonzero(codes[1:] != codes[:-1]) + 1).tolist()
    starts = [0, *cuts]
    ends = [*cuts, n]
    return Strip([Segment(text[a:b], styles[c]) for a, b, c in zip(starts, ends, codes[starts].tolist())], width)


class BaseStyle:
    """self.base_style: the widget's rich_style, read once per refresh or style update.

    Textual's rich_style walks every ancestor's styles on each read (about as much as
    drawing a line); render_line needs it for every line it pads or blanks."""

    _base_style = None

    @property
    def base_style(self):
        style = self._base_style
        if style is None:
            style = self._base_style = self.rich_style
        return style

    def refresh(self, *regions, **kwargs):
        self._base_style = None
        return super().refresh(*regions, **kwargs)

    def notify_style_update(self) -> None:
        self._base_style = None
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
