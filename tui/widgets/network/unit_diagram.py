"""The network as a diagram of unit maps (2-D inputs), drawn with the line API.

One column per layer (the inputs x1, x2 first, the output last); each unit is a small
half-block map of its activation over the input plane, coloured like the decision
boundary (blue below the layer's centre, orange above, paler near it). Between two
columns, braille lines join every shown unit to every shown unit of the next layer:
orange for a positive weight, blue for a negative one, brighter the larger |w| is
(weights under a fifth of the layer's largest are left out, but not the chosen unit's). The chosen unit has a ▸ and
its incoming lines drawn over the others. Layers taller than fit show their first
units and "+N"; more layers than fit show the first ones and "+N layers".

The arrays come from the snapshot (engine.plane via the run controller); this widget
only resamples and colours them. Each line is keyed by what it shows, so a redraw
rebuilds and repaints only the lines that changed.
"""

from __future__ import annotations

import numpy as np
from rich.segment import Segment
from textual.strip import Strip
from textual.widget import Widget

from tui.widgets import colours
from tui.widgets.repaint import CachedStrips, changed_lines

# (map width, map height in lines, gap between columns), largest first: the first that fits is used.
GEOMETRIES = ((8, 4, 5), (6, 3, 4), (4, 2, 4), (4, 2, 3), (3, 2, 2), (2, 1, 2), (2, 1, 1), (1, 1, 1))
MIN_UNITS = 4         # a geometry should show this many units of the widest layer (or all of them)
WEAK = 0.2            # weights below this share of the layer's largest |w| get no line (the chosen unit's all do)
HALF = "▀"
BRAILLE_BITS = ((0x01, 0x08), (0x02, 0x10), (0x04, 0x20), (0x40, 0x80))   # [dot row][dot col]
LABEL = colours.plain_style(fg=(170, 170, 185))
LABEL_SEL = colours.plain_style(fg=(245, 220, 90), bold=True)
MARK = colours.plain_style(fg=(245, 220, 90), bold=True)


def fit(width, height, sizes):
    """(map w, map h, gap, layers shown, units shown per layer) for a width x height area."""
    ncol = len(sizes)
    widest = max(sizes)
    for mw, mh, g in GEOMETRIES:
        step = mh + (1 if mh > 1 else 0)
        slots = max(1, (height - 1 + (step - mh)) // step)
        if ncol * (mw + 1) + (ncol - 1) * g <= width and slots >= min(widest, MIN_UNITS):
            break
    step = mh + (1 if mh > 1 else 0)
    slots = max(1, (height - 1 + (step - mh)) // step)
    need = lambda n: n * (mw + 1) + (n - 1) * g  # noqa: E731
    shown_layers = ncol
    if need(ncol) > width:   # leave room for "+N layers"
        shown_layers = max(1, max((n for n in range(1, ncol) if need(n) + 10 <= width), default=1))
    units = tuple(n if n <= slots else max(1, slots - 1) for n in sizes[:shown_layers])
    return mw, mh, g, shown_layers, units, step


class UnitDiagram(CachedStrips, Widget):
    """Unit maps per layer, the weights between them as braille lines, the chosen unit marked."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._strips: list[Strip] = []
        self._keys: list = []
        self.geometry = None   # (map w, map h, gap, layers shown, units shown per layer) for tests

    def set_plane(self, plane, facts, weights, layer, unit):
        """plane: engine.plane.Plane; weights: [W1, ..., WL]; layer, unit: the chosen one (unit None: none)."""
        width, height = self.size
        old_keys = self._keys
        if plane is None or width < 3 or height < 2:
            self._strips, self._keys = [], []
            changed_lines(self, old_keys, [])
            return
        sizes = facts.sizes
        mw, mh, g, ncol, units, step = fit(width, height, sizes)
        self.geometry = (mw, mh, g, ncol, units)
        chars = [[" "] * width for _ in range(height)]
        styles = [[None] * width for _ in range(height)]

        def put(y, x, text, style):
            for i, ch in enumerate(text):
                if 0 <= y < height and 0 <= x + i < width:
                    chars[y][x + i], styles[y][x + i] = ch, style

        col_x = [c * (mw + 1 + g) for c in range(ncol)]
        for l in range(ncol):
            x = col_x[l]
            name = "X" if l == 0 else ("Ŷ" if l == facts.L else f"A{l}")
            put(0, x, name[: mw + 1], LABEL_SEL if l == layer else LABEL)
            maps = plane.maps[l]
            centre, scale = _scale(plane, facts, l)
            for j in range(units[l]):
                top = 1 + j * step
                pixels = _resample(maps[:, :, j], 2 * mh, mw)
                c = centre[j] if np.ndim(centre) else centre
                s = scale[j] if np.ndim(scale) else scale
                side, lv = _levels(pixels, c, s)
                for r in range(mh):
                    for k in range(mw):
                        t = colours.region_rgb(int(side[2 * r, k]), int(lv[2 * r, k]))
                        b = colours.region_rgb(int(side[2 * r + 1, k]), int(lv[2 * r + 1, k]))
                        put(top + r, x + 1 + k, HALF, colours.half_style(t, b))
                if l == layer and j == unit:
                    put(top + (mh - 1) // 2, x, "▸", MARK)
            more = sizes[l] - units[l]
            if more > 0:
                put(1 + units[l] * step, x, f"+{more}"[: mw + 1], LABEL)
        for l in range(1, ncol):
            self._wires(chars, styles, weights[l - 1], col_x[l - 1] + mw + 1, g, units[l - 1], units[l], mh, step,
                        unit if l == layer else None)
        if ncol < len(sizes):
            put(0, col_x[-1] + mw + 2, f"+{len(sizes) - ncol} layers", LABEL)
        keys, strips = [], []
        for y in range(height):
            key = (tuple(chars[y]), tuple(id(s) for s in styles[y]))
            keys.append(key)
            if y < len(old_keys) and old_keys[y] == key:
                strips.append(self._strips[y])
                continue
            strips.append(_strip(chars[y], styles[y], width))
        self._strips, self._keys = strips, keys
        changed_lines(self, old_keys, keys)

    @staticmethod
    def _wires(chars, styles, W, x0, g, n_in, n_out, mh, step, chosen):
        """Braille lines from the units of one column to the next (g cells between them)."""
        if g < 1:
            return
        W = np.asarray(W)[:n_in, :n_out]
        peak = float(np.abs(W).max()) if W.size else 0.0
        if not peak or not np.isfinite(peak):
            return
        height = len(chars)
        best = {}   # (cell y, cell x) -> (priority, weight, bits)
        bits = {}
        wide = 2 * g
        centre = lambda j: 4 * (1 + j * step) + 2 * mh - 1  # noqa: E731  dot row at a unit's middle
        for i in range(n_in):
            for j in range(n_out):
                w = float(W[i, j])
                if abs(w) < WEAK * peak and j != chosen:
                    continue
                prio = (j == chosen, abs(w))
                y0, y1 = centre(i), centre(j)
                lo_y, hi_y = min(y0, y1), max(y0, y1)
                slope = (y1 - y0) / max(1, wide - 1)
                for dx in range(wide):
                    # every dot row the line crosses in this dot column, so steep lines stay solid
                    a = int(round(min(hi_y, max(lo_y, y0 + slope * (dx - 0.5)))))
                    b = int(round(min(hi_y, max(lo_y, y0 + slope * (dx + 0.5)))))
                    for dy in range(min(a, b), max(a, b) + 1):
                        cy, cx = dy // 4, dx // 2
                        if not 0 <= cy < height:
                            continue
                        cell = (cy, cx)
                        bits[cell] = bits.get(cell, 0) | BRAILLE_BITS[dy % 4][dx % 2]
                        if cell not in best or prio > best[cell][0]:
                            best[cell] = (prio, w)
        for (cy, cx), (prio, w) in best.items():
            lv = max(3, int(round(abs(w) / peak * colours.LEVELS)))
            rgb = colours.level_rgb(lv if w > 0 else -lv)
            chars[cy][x0 + cx] = chr(0x2800 + bits[(cy, cx)])
            styles[cy][x0 + cx] = colours.plain_style(fg=rgb, bold=prio[0])

    def on_resize(self) -> None:
        redraw = getattr(self.parent, "redraw", None)   # the panel draws the maps for the new size
        if redraw is not None:
            self.call_after_refresh(redraw)


def _strip(chars, styles, width):
    segments, run, style = [], [], styles[0]
    for ch, st in zip(chars, styles):
        if st is not style:
            segments.append(Segment("".join(run), style))
            run, style = [], st
        run.append(ch)
    segments.append(Segment("".join(run), style))
    return Strip(segments, width)


def _resample(a, rows, cols):
    r, c = a.shape
    ri = np.rint(np.linspace(0, r - 1, rows)).astype(np.intp)
    ci = np.rint(np.linspace(0, c - 1, cols)).astype(np.intp)
    return a[ri][:, ci]


def _scale(plane, facts, l):
    """Centre and scale of layer l's colours: each input (feature) about the middle of its range,
    the others as engine.plane.centre_scale says (one scale for the whole layer)."""
    from engine.plane import centre_scale

    if l == 0:   # x1, x2 or the input features computed from them: each about the middle of its range
        m = np.asarray(plane.maps[0], dtype=np.float64).reshape(-1, facts.sizes[0])
        lo, hi = m.min(axis=0), m.max(axis=0)
        return (lo + hi) / 2, np.where(hi > lo, (hi - lo) / 2, 1.0)
    return centre_scale(facts.layers[l - 1].activation, plane.maps[l])


def _levels(values, centre, scale):
    d = np.nan_to_num(np.asarray(values, dtype=np.float64) - centre)
    side = (d > 0).astype(np.int64)
    lv = np.clip(np.rint(np.abs(d) / (scale or 1.0) * colours.LEVELS), 0, colours.LEVELS).astype(np.int64)
    return side, lv
