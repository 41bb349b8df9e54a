"""Repaint only the lines whose content changed (the line-API panels: heatmap, boundary, confusion).

Each such widget keeps one key per line (what the line shows); after a redraw it passes
the old and new keys here, so Textual composes only the lines that differ.
"""

from __future__ import annotations

from textual.geometry import Region


def changed_lines(widget, old_keys, keys, layout: bool = False) -> None:
    """Refresh the lines of `widget` whose key changed; the whole widget when the line count did."""
    if len(old_keys) != len(keys) or not keys:
        widget.refresh(layout=layout)
        return
    width = widget.size.width
    for y, (k0, k1) in enumerate(zip(old_keys, keys)):
        if k0 != k1:
            widget.refresh(Region(0, y, width, 1))
