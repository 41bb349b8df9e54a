"""A confusion matrix: rows are the true classes, columns the predicted ones.

The diagonal (right answers) is tinted green, mistakes orange, each in proportion to
its share of its row, so a class the model confuses stands out at a glance. Columns
are as narrow as the largest count allows, so ten classes fit a 36-column panel.

Drawn with the line API: one strip per row, rebuilt only when that row's counts (or
the column width) change, and only those lines repainted; the tints are quantised to
a few levels so their styles are built once and shared.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from rich.segment import Segment
from textual.geometry import Size
from textual.strip import Strip
from textual.widget import Widget

from tui.widgets import colours
from tui.widgets.repaint import BaseStyle, changed_lines

GOOD = (80, 200, 120)
BAD = colours.POS
EMPTY = (90, 90, 100)
INK = (235, 235, 240)
SHADES = 12   # tint levels per colour


def _tint(good: bool, share: float):
    return _tint_style(good, int(round(min(1.0, share) * SHADES)))


@lru_cache(maxsize=None)
def _tint_style(good: bool, level: int):
    """One Style per (right or wrong, tint level), built once."""
    bg = colours.mix(colours.MID, GOOD if good else BAD, 0.25 + 0.75 * level / SHADES)
    return colours.plain_style(fg=INK, bg=bg, bold=good)


DIM = colours.plain_style(dim=True)
DOT = colours.plain_style(fg=EMPTY)


class ConfusionMatrix(BaseStyle, Widget):
    """Counts per (true, predicted) class pair."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.counts = None
        self._keys: list = []      # per line: what it shows
        self._strips: list = []
        self._fitted: dict = {}    # line -> (its strip, width, base style, the strip as shown)

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return len(self._strips) or 1

    def set_counts(self, counts, caption: str) -> None:
        counts = np.asarray(counts)
        self.counts = counts
        K = counts.shape[0]
        cell = max(len(str(int(counts.max()))) if counts.size else 1, len(str(K - 1)))
        label = max(3, len(str(K - 1)))
        keys = [("head", K, cell, label)] + [("row", i, cell, label, counts[i].tobytes()) for i in range(K)]
        keys.append(("caption", caption))
        old_keys, old_strips = self._keys, self._strips
        strips = []
        for y, key in enumerate(keys):
            if y < len(old_keys) and old_keys[y] == key:
                strips.append(old_strips[y])
                continue
            if key[0] == "head":
                segs = [Segment("t╲p".rjust(label), DIM)] + [Segment(" " + str(j).rjust(cell), DIM) for j in range(K)]
            elif key[0] == "row":
                i = key[1]
                total = max(1, int(counts[i].sum()))
                segs = [Segment(str(i).rjust(label), DIM)]
                for j in range(K):
                    n = int(counts[i, j])
                    segs.append(Segment(" "))
                    if n:
                        share = n / total * (1.0 if i == j else 2.0)
                        segs.append(Segment(str(n).rjust(cell), _tint(i == j, share)))
                    else:
                        segs.append(Segment("·".rjust(cell), DOT))
            else:
                segs = [Segment(caption, DIM)]
            strips.append(Strip(segs))
        self._keys, self._strips = keys, strips
        changed_lines(self, old_keys, keys, layout=True)

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        base = self.base_style
        if y >= len(self._strips):
            return Strip.blank(width, base)
        # The widget's own style (the panel's background) under the cells' colours, applied
        # once per line drawn (and width and style), not on every repaint.
        strip = self._strips[y]
        done = self._fitted.get(y)
        if done is None or done[0] is not strip or done[1] != width or done[2] != base:
            done = self._fitted[y] = (strip, width, base, strip.crop_extend(0, width, base).apply_style(base))
        return done[3]
