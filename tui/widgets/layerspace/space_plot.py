"""The input plane's grid and the training points in a layer's space (line API).

Two pixels a cell (the upper-half block, foreground on top, background below). The
engine (engine.layer_space.project) gives every point's and every grid sample's two
coordinates; this widget only scales them to pixels, joins each grid line's samples
and colours: lines of constant x2 in one dim colour, of constant x1 in another, points
in their class colour on top. Lines are cached by their pixel codes and repainted only
where they changed.
"""

from __future__ import annotations

import numpy as np
from rich.segment import Segment
from textual.strip import Strip
from textual.widget import Widget

from tui.widgets import colours
from tui.widgets.repaint import CachedStrips, changed_lines

HALF = "▀"
BG = colours.MID
ROW_LINE = (95, 105, 135)      # grid lines of constant x2 (horizontal in the input plane)
COL_LINE = (120, 95, 130)      # grid lines of constant x1 (vertical in the input plane)
MARGIN = 0.06                  # of the drawn range, around the points


def _rgb(code: int):
    if code == 0:
        return BG
    if code == 1:
        return ROW_LINE
    if code == 2:
        return COL_LINE
    return colours.point_rgb(code - 3)


def view_box(points, grid):
    """(lo, hi) of the picture: every point, and the grid as far as 50% beyond the points."""
    P = points[np.all(np.isfinite(points), axis=1)]
    if not len(P):
        return np.array([-1.0, -1.0]), np.array([1.0, 1.0])
    lo, hi = P.min(axis=0), P.max(axis=0)
    span = np.where(hi > lo, hi - lo, 1.0)
    G = grid.reshape(-1, 2)
    G = G[np.all(np.isfinite(G), axis=1)]
    if len(G):
        lo = np.maximum(np.minimum(lo, G.min(axis=0)), lo - 0.5 * span)
        hi = np.minimum(np.maximum(hi, G.max(axis=0)), hi + 0.5 * span)
    span = np.where(hi > lo, hi - lo, 1.0)
    return lo - MARGIN * span, hi + MARGIN * span


def _segment_pixels(line, rows, cols):
    """Every pixel on the polyline through `line`'s pixel positions (consecutive samples joined)."""
    a, b = line[:-1], line[1:]
    n = np.maximum(np.abs(b - a).max(axis=1), 1).astype(np.int64) + 1
    n = np.minimum(n, 4 * (rows + cols))  # a sample flung far away: no runaway line
    idx = np.repeat(np.arange(len(a)), n)
    t = (np.arange(n.sum()) - np.repeat(np.cumsum(n) - n, n)) / np.repeat(np.maximum(n - 1, 1), n)
    p = a[idx] + (b[idx] - a[idx]) * t[:, None]
    return np.rint(p).astype(np.int64)


class SpacePlot(CachedStrips, Widget):
    """Points and grid lines of one LayerSpace."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._strips: list[Strip] = []
        self._keys: list[bytes] = []
        self.codes = None     # (2H, W) pixel codes, for tests: 0 empty, 1-2 grid, 3 + k a point of class k
        self._space = None

    def set_space(self, space) -> None:
        self._space = space
        self._draw()

    def on_resize(self) -> None:
        self._draw()

    def _draw(self) -> None:
        space = self._space
        w, h = self.size
        rows, cols = 2 * h, w
        old_keys = self._keys
        if space is None or rows < 2 or cols < 2:
            self._strips, self._keys, self.codes = [], [], None
            changed_lines(self, old_keys, [])
            return
        lo, hi = view_box(space.points, space.grid)

        def pixels(P):
            P = np.where(np.isfinite(P), P, np.nan)
            c = (P[..., 0] - lo[0]) / (hi[0] - lo[0]) * (cols - 1)
            r = (hi[1] - P[..., 1]) / (hi[1] - lo[1]) * (rows - 1)
            return np.stack([r, c], axis=-1)

        codes = np.zeros((rows, cols), dtype=np.int64)
        G = pixels(space.grid)
        half = len(G) // 2
        for k, line in enumerate(G):
            line = line[np.all(np.isfinite(line), axis=1)]
            if len(line) < 2:
                continue
            p = _segment_pixels(line, rows, cols)
            ok = (p[:, 0] >= 0) & (p[:, 0] < rows) & (p[:, 1] >= 0) & (p[:, 1] < cols)
            codes[p[ok, 0], p[ok, 1]] = 1 if k < half else 2
        P = pixels(space.points)
        okp = np.all(np.isfinite(P), axis=1)
        pr = np.rint(P[okp, 0]).astype(np.int64).clip(0, rows - 1)
        pc = np.rint(P[okp, 1]).astype(np.int64).clip(0, cols - 1)
        k = 3 + np.asarray(space.labels)[okp]
        codes[pr ^ 1, pc] = k   # a point fills its whole cell (both pixels): it reads over the grid
        codes[pr, pc] = k
        self.codes = codes
        strips, keys = [], []
        for y in range(rows // 2):
            top, bot = codes[2 * y], codes[2 * y + 1]
            key = top.tobytes() + bot.tobytes()
            keys.append(key)
            if y < len(old_keys) and old_keys[y] == key:
                strips.append(self._strips[y])
                continue
            pair = top * 1024 + bot
            cuts = np.flatnonzero(np.diff(pair)) + 1
            starts, ends = [0, *cuts.tolist()], [*cuts.tolist(), cols]
            segs = [Segment(HALF * (b - a), colours.half_style(_rgb(int(top[a])), _rgb(int(bot[a]))))
                    for a, b in zip(starts, ends)]
            strips.append(Strip(segs, cols))
        self._strips, self._keys = strips, keys
        changed_lines(self, old_keys, keys)
