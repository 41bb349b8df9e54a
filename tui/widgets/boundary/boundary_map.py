"""The input plane coloured by the model's decision, with the data on top (line API).

Every terminal cell holds two pixels stacked (the upper-half block with separate
foreground and background colours), so a W x H widget shows a W x 2H grid of model
outputs. Region colour is the predicted class, brighter where the model is surer;
the data points sit on top in their true class's colour. With few points (XOR has
four) each point is a ● glyph; with many, a single bright pixel. Test points, when
shown, are hollow ○ glyphs in their true class's colour.

Each line keeps its strip under a key of its pixel codes: a new field rebuilds and
repaints only the lines whose colours changed (a step moves the boundary a little,
so most lines stay as they were).
"""

from __future__ import annotations

import numpy as np
from rich.segment import Segment
from textual.strip import Strip
from textual.widget import Widget

from tui.widgets import colours
from tui.widgets.repaint import CachedStrips, SegmentTable, changed_lines

HALF = "▀"
GLYPH_POINTS = 60   # up to this many points, draw each as a glyph
HOLLOW = 31         # glyph codes above it are hollow (test) points; the line key packs glyphs below 64


class BoundaryMap(CachedStrips, Widget):
    """Pixels of predicted class and confidence; data points drawn over them."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._strips: list[Strip] = []
        self._keys: list[bytes] = []
        self.pixels = None   # (2H, W) region RGB indices, for tests: class per pixel
        self.levels = None   # (2H, W) confidence levels (0..LEVELS), for tests

    @property
    def grid_shape(self):
        """(pixel rows, pixel columns) this widget can show."""
        w, h = self.size
        return 2 * max(0, h), max(0, w)

    def set_field(self, classes, conf_levels, points, hollow=()):
        """classes, conf_levels: (2H, W) ints; points, hollow: lists of (pixel row, pixel col, class)
        (hollow: the test points, drawn as ○).

        Each cell gets one integer code (its two pixels and its glyph) with NumPy; a line whose
        codes are as before keeps its strip, a changed one is one Segment per run of equal
        codes, its Style from a table built once per code."""
        self.pixels = classes
        self.levels = conf_levels
        strips, keys = [], []
        old_keys, old_strips = self._keys, self._strips
        rows, cols = classes.shape if classes is not None else (0, 0)
        if rows >= 2 and cols:
            span = colours.LEVELS + 1
            codes = classes.astype(np.int64) * span + conf_levels  # >= 0: region; < 0: a data point
            glyph = np.zeros((rows // 2, cols), dtype=np.int64)   # 0: none; k + 1: a ● of class k; HOLLOW + k + 1: ○
            for pr, pc, k in hollow:
                if 0 <= pr < rows and 0 <= pc < cols:
                    glyph[min(pr // 2, rows // 2 - 1), pc] = HOLLOW + k % HOLLOW + 1
            if len(points) <= GLYPH_POINTS:
                for pr, pc, k in points:
                    if 0 <= pr < rows and 0 <= pc < cols:
                        glyph[min(pr // 2, rows // 2 - 1), pc] = k + 1
            else:
                pts = np.asarray(points, dtype=np.int64).reshape(-1, 3)
                ok = (pts[:, 0] >= 0) & (pts[:, 0] < rows) & (pts[:, 1] >= 0) & (pts[:, 1] < cols)
                pts = pts[ok]
                codes[pts[:, 0], pts[:, 1]] = -1 - pts[:, 2]
            half = rows // 2
            # One code per cell: its two pixels' codes and its glyph (STYLES makes the Style once).
            cell = (((codes[0:2 * half:2] + SHIFT) * (2 * SHIFT) + codes[1:2 * half:2] + SHIFT) * 64 + glyph)
            for y in range(half):
                line_key = cell[y].tobytes()
                keys.append(line_key)
                if y < len(old_keys) and old_keys[y] == line_key:
                    strips.append(old_strips[y])   # same colours: the strip (and the screen) stay
                    continue
                strips.append(SEGMENTS.strip(cell[y], cols))
        self._strips, self._keys = strips, keys
        changed_lines(self, old_keys, keys)


SHIFT = 1 << 15     # pixel codes run from -SHIFT (data points) to SHIFT (class * (LEVELS + 1) + level)


def _make_style(code: int):
    """The Style of a cell code: ((top pixel + SHIFT) * 2 SHIFT + bottom pixel + SHIFT) * 64 + glyph."""
    pair, g = divmod(code, 64)
    top, bottom = (v - SHIFT for v in divmod(pair, 2 * SHIFT))
    if g:
        k = (g - 1) % HOLLOW if g > HOLLOW else g - 1
        return colours.plain_style(fg=colours.point_rgb(k), bg=_rgb(top), bold=True)
    return colours.half_style(_rgb(top), _rgb(bottom))


STYLES = colours.StyleTable(_make_style)


def _make_segment(code: int, n: int) -> Segment:
    g = code % 64
    return Segment((HALF if not g else "○" if g > HOLLOW else "●") * n, STYLES[code])


SEGMENTS = SegmentTable(_make_segment)


def _rgb(code: int):
    """The colour of one pixel code: a region (class, confidence) or a data point."""
    if code < 0:
        return colours.point_rgb(-code - 1)
    return colours.region_rgb(*divmod(code, colours.LEVELS + 1))
