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

from functools import lru_cache

import numpy as np
from rich.segment import Segment
from textual.strip import Strip
from textual.widget import Widget

from tui.widgets import colours
from tui.widgets.repaint import CachedStrips, SegmentTable, changed_lines

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
        self._wire_cache: dict = {}   # quantised weights of one gap -> the cells its braille lines fill
        self.geometry = None   # (map w, map h, gap, layers shown, units shown per layer) for tests

    def set_plane(self, plane, facts, weights, layer, unit):
        """plane: engine.plane.Plane; weights: [W1, ..., WL]; layer, unit: the chosen one (unit None: none).

        The picture is drawn into two arrays, a character and a style code per cell (NumPy
        at once per layer, not per cell); a line whose bytes are as before keeps its strip."""
        width, height = self.size
        old_keys = self._keys
        if plane is None or width < 3 or height < 2:
            self._strips, self._keys = [], []
            changed_lines(self, old_keys, [])
            return
        sizes = facts.sizes
        mw, mh, g, ncol, units, step = fit(width, height, sizes)
        self.geometry = (mw, mh, g, ncol, units)
        chars = np.full((height, width), ord(" "), dtype=np.uint32)
        codes = np.zeros((height, width), dtype=np.int16)
        col_x = [c * (mw + 1 + g) for c in range(ncol)]
        for l in range(ncol):
            x = col_x[l]
            name = "X" if l == 0 else ("Ŷ" if l == facts.L else f"A{l}")
            _put(chars, codes, 0, x, name[: mw + 1], LABEL_SEL_CODE if l == layer else LABEL_CODE)
            centre, scale = _scale(plane, facts, l)
            n = units[l]
            if n:
                pixels = _resample(plane.maps[l][:, :, :n], 2 * mh, mw)     # (2 mh, mw, n)
                c = np.asarray(centre, dtype=np.float64)[:n] if np.ndim(centre) else centre
                s = np.asarray(scale, dtype=np.float64)[:n] if np.ndim(scale) else scale
                side, lv = _levels(pixels, c, s)
                region = side * (colours.LEVELS + 1) + lv                   # 0 .. REGIONS - 1
                pair = 1 + region[0::2] * REGIONS + region[1::2]            # (mh, mw, n): a half-block's style
                for j in range(n):
                    top = 1 + j * step
                    y1, x1 = min(height, top + mh), min(width, x + 1 + mw)
                    if top < y1 and x + 1 < x1:
                        codes[top:y1, x + 1:x1] = pair[: y1 - top, : x1 - x - 1, j]
                        chars[top:y1, x + 1:x1] = HALF_ORD
            if l == layer and unit is not None and unit < n:
                _put(chars, codes, 1 + unit * step + (mh - 1) // 2, x, "▸", MARK_CODE)
            more = sizes[l] - n
            if more > 0:
                _put(chars, codes, 1 + n * step, x, f"+{more}"[: mw + 1], LABEL_CODE)
        for l in range(1, ncol):
            self._wires(chars, codes, weights[l - 1], col_x[l - 1] + mw + 1, g, units[l - 1], units[l], mh, step,
                        unit if l == layer else None)
        if ncol < len(sizes):
            _put(chars, codes, 0, col_x[-1] + mw + 2, f"+{len(sizes) - ncol} layers", LABEL_CODE)
        cells = (chars.astype(np.int64) << CHAR_SHIFT) | codes    # a cell's character and style in one code
        keys, strips = [], []
        old_strips = self._strips
        for y in range(height):
            key = cells[y].tobytes()
            keys.append(key)
            if y < len(old_keys) and old_keys[y] == key:
                strips.append(old_strips[y])
                continue
            strips.append(SEGMENTS.strip(cells[y], width))
        self._strips, self._keys = strips, keys
        changed_lines(self, old_keys, keys)

    def _wires(self, chars, codes, W, x0, g, n_in, n_out, mh, step, chosen):
        """Braille lines from the units of one column to the next (g cells between them).

        Weights move a little each step, so what is drawn (which lines, their colour levels,
        which line wins a shared cell) is the key of a cache: the braille is usually reused."""
        if g < 1 or not n_in or not n_out:
            return
        W = np.asarray(W)[:n_in, :n_out]
        peak = float(np.abs(W).max()) if W.size else 0.0
        if not peak or not np.isfinite(peak):
            return
        height, width = chars.shape
        w = W.astype(np.float64).ravel()                      # line i * n_out + j
        a = np.abs(w)
        is_chosen = np.zeros(n_in * n_out, dtype=bool)
        if chosen is not None and chosen < n_out:
            is_chosen[chosen::n_out] = True
        shown = (a >= WEAK * peak) | is_chosen
        lv = np.maximum(3, np.rint(a / peak * colours.LEVELS)).astype(np.int64)
        signed = np.where(w > 0, lv, -lv)
        # A cell two lines cross takes the colour of the chosen unit's line, else the larger |w|;
        # between equals, the first line (i, then j): ascending order, the winner last.
        order = np.lexsort((-np.arange(w.size), a, is_chosen))
        order = order[shown[order]]
        geo = (g, n_in, n_out, mh, step, height)
        key = (geo, order.tobytes(), signed[order].tobytes(), is_chosen[order].tobytes())
        drawn = self._wire_cache.get(key)
        if drawn is None:
            if len(self._wire_cache) > 64:
                self._wire_cache.clear()   # bounded: old weights are not coming back
            drawn = self._wire_cache[key] = _draw_wires(_paths(geo), order, signed, is_chosen, g, height)
        ys, xs, ch, code = drawn
        xs = xs + x0
        ok = xs < width
        chars[ys[ok], xs[ok]] = ch[ok]
        codes[ys[ok], xs[ok]] = code[ok]

    def on_resize(self) -> None:
        redraw = getattr(self.parent, "redraw", None)   # the panel draws the maps for the new size
        if redraw is not None:
            self.call_after_refresh(redraw)


@lru_cache(maxsize=64)
def _paths(geo):
    """The dots of every line of one gap: (line, cell, bit) arrays, line = i * n_out + j, cell = cy * g + cx."""
    g, n_in, n_out, mh, step, height = geo
    wide = 2 * g
    centre = lambda j: 4 * (1 + j * step) + 2 * mh - 1  # noqa: E731  dot row at a unit's middle
    line, cell, bit = [], [], []
    for i in range(n_in):
        for j in range(n_out):
            y0, y1 = centre(i), centre(j)
            lo_y, hi_y = min(y0, y1), max(y0, y1)
            slope = (y1 - y0) / max(1, wide - 1)
            for dx in range(wide):
                # every dot row the line crosses in this dot column, so steep lines stay solid
                a = int(round(min(hi_y, max(lo_y, y0 + slope * (dx - 0.5)))))
                b = int(round(min(hi_y, max(lo_y, y0 + slope * (dx + 0.5)))))
                for dy in range(min(a, b), max(a, b) + 1):
                    cy = dy // 4
                    if 0 <= cy < height:
                        line.append(i * n_out + j)
                        cell.append(cy * g + dx // 2)
                        bit.append(BRAILLE_BITS[dy % 4][dx % 2])
    return np.array(line, dtype=np.intp), np.array(cell, dtype=np.intp), np.array(bit, dtype=np.int64)


def _draw_wires(paths, order, signed, is_chosen, g, height):
    """(cell ys, cell xs from the gap's left, characters, style codes) of the lines `order` (winner last)."""
    line, cell, bit = paths
    rank = np.full(signed.size, -1, dtype=np.intp)
    rank[order] = np.arange(order.size)
    keep = rank[line] >= 0
    line, cell, bit = line[keep], cell[keep], bit[keep]
    bits = np.zeros(height * g, dtype=np.int64)
    np.bitwise_or.at(bits, cell, bit)
    win = np.full(height * g, -1, dtype=np.intp)
    np.maximum.at(win, cell, rank[line])
    cells = np.flatnonzero(win >= 0)
    winner = order[win[cells]]
    code = WIRE_CODE + (signed[winner] + colours.LEVELS) * 2 + is_chosen[winner]
    return cells // g, cells % g, (0x2800 + bits[cells]).astype(np.uint32), code.astype(np.int16)


def _put(chars, codes, y, x, text, code):
    """Write text at (y, x) in one style, clipped to the canvas."""
    height, width = chars.shape
    a, b = max(0, x), min(width, x + len(text))
    if 0 <= y < height and a < b:
        chars[y, a:b] = [ord(ch) for ch in text[a - x:b - x]]
        codes[y, a:b] = code


# Style codes: 0 blank; 1 + top * REGIONS + bottom a half block over two region colours;
# then the labels; then the wires by signed level and boldness (the chosen unit's lines).
REGIONS = 2 * (colours.LEVELS + 1)      # (side, level) of a map pixel
LABEL_CODE = 1 + REGIONS * REGIONS
LABEL_SEL_CODE = LABEL_CODE + 1
MARK_CODE = LABEL_CODE + 2
WIRE_CODE = LABEL_CODE + 3
HALF_ORD = ord(HALF)


def _make_style(code):
    if code == 0:
        return None
    if code < LABEL_CODE:
        top, bottom = divmod(code - 1, REGIONS)
        return colours.half_style(colours.region_rgb(*divmod(top, colours.LEVELS + 1)),
                                  colours.region_rgb(*divmod(bottom, colours.LEVELS + 1)))
    if code < WIRE_CODE:
        return (LABEL, LABEL_SEL, MARK)[code - LABEL_CODE]
    signed, bold = divmod(code - WIRE_CODE, 2)
    return colours.plain_style(fg=colours.level_rgb(signed - colours.LEVELS), bold=bool(bold))


STYLES = colours.StyleTable(_make_style)
CHAR_SHIFT = 10      # style codes stay under 1 << CHAR_SHIFT
SEGMENTS = SegmentTable(lambda cell, n: Segment(chr(cell >> CHAR_SHIFT) * n, STYLES[cell & ((1 << CHAR_SHIFT) - 1)]))


def _resample(a, rows, cols):
    """A map's grid (r, c, ...) to rows x cols by nearest point."""
    ri, ci = _picks(*a.shape[:2], rows, cols)
    return a[ri][:, ci]


@lru_cache(maxsize=64)
def _picks(r, c, rows, cols):
    return (np.rint(np.linspace(0, r - 1, rows)).astype(np.intp),
            np.rint(np.linspace(0, c - 1, cols)).astype(np.intp))


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
    """Side of centre (0, 1) and colour level (0..LEVELS) of every pixel; centre and scale are
    numbers or one per unit (the last axis of values); a zero or non-finite scale counts as 1."""
    d = np.asarray(values, dtype=np.float64) - centre
    d[np.isnan(d)] = 0.0     # +-inf stay: the far side at full colour
    side = (d > 0).astype(np.int64)
    scale = np.asarray(scale, dtype=np.float64)
    scale = np.where((scale != 0) & np.isfinite(scale), scale, 1.0)
    lv = np.clip(np.rint(np.abs(d) / scale * colours.LEVELS), 0, colours.LEVELS).astype(np.int64)
    return side, lv
