"""Repaint only the lines whose content changed (the line-API panels: heatmap, boundary, confusion),
and serve the lines a panel drew (CachedStrips).

Each such widget keeps one key per line (what the line shows); after a redraw it passes
the old and new keys here, so Textual composes only the lines that differ.
"""

from __future__ import annotations

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


class CachedStrips:
    """render_line for a widget that draws its lines into self._strips (one Strip a line):
    each is served as drawn, fitted once to the current width, and blank below the last."""

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        if y < len(self._strips):
            strip = self._strips[y]
            if strip.cell_length != width:
                strip = self._strips[y] = strip.adjust_cell_length(width, self.rich_style)
            return strip
        return Strip.blank(width, self.rich_style)
