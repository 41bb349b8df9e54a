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
from tui.widgets.repaint import CachedStrips, changed_lines

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

        Cells are grouped into runs of equal colour with NumPy, so a frame costs a few
        Python operations per run of colour, not per pixel."""
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
            base = int(codes.max()) + 2
            low = int(codes.min())
            for y in range(rows // 2):
                top, bot, gl = codes[2 * y], codes[2 * y + 1], glyph[y]
                line_key = top.tobytes() + bot.tobytes() + gl.tobytes()
                keys.append(line_key)
                if y < len(old_keys) and old_keys[y] == line_key:
                    strips.append(old_strips[y])   # same colours: the strip (and the screen) stay
                    continue
                key = ((top - low) * base + (bot - low)) * 64 + gl
                cuts = np.flatnonzero(np.diff(key)) + 1
                starts = [0, *cuts.tolist()]
                ends = [*cuts.tolist(), cols]
                segments = []
                for a, b in zip(starts, ends):
                    t, u, g = int(top[a]), int(bot[a]), int(gl[a])
                    if g:
                        k, mark = ((g - 1) % HOLLOW, "○") if g > HOLLOW else (g - 1, "●")
                        style = colours.plain_style(fg=colours.point_rgb(k), bg=_rgb(t), bold=True)
                        segments.append(Segment(mark * (b - a), style))
                    else:
                        segments.append(Segment(HALF * (b - a), colours.half_style(_rgb(t), _rgb(u))))
                strips.append(Strip(segments, cols))
        self._strips, self._keys = strips, keys
        changed_lines(self, old_keys, keys)


def _rgb(code: int):
    """The colour of one pixel code: a region (class, confidence) or a data point."""
    if code < 0:
        return colours.point_rgb(-code - 1)
    return colours.region_rgb(*divmod(code, colours.LEVELS + 1))
