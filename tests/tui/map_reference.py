"""The map panels drawn cell by cell, as they were before issue 14's vectorised drawing:
the reference the new drawing must equal, character for character and style for style."""

from __future__ import annotations

import numpy as np

from tui.widgets import colours
from tui.widgets.network import unit_diagram as ud


def unit_diagram_cells(plane, facts, weights, layer, unit, width, height):
    """[[(char, style), ...] per line] as the old UnitDiagram.set_plane drew them."""
    sizes = facts.sizes
    mw, mh, g, ncol, units, step = ud.fit(width, height, sizes)
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
        put(0, x, name[: mw + 1], ud.LABEL_SEL if l == layer else ud.LABEL)
        maps = plane.maps[l]
        centre, scale = ud._scale(plane, facts, l)
        for j in range(units[l]):
            top = 1 + j * step
            pixels = ud._resample(maps[:, :, j], 2 * mh, mw)
            c = centre[j] if np.ndim(centre) else centre
            s = scale[j] if np.ndim(scale) else scale
            d = np.nan_to_num(np.asarray(pixels, dtype=np.float64) - c)
            side = (d > 0).astype(np.int64)
            lv = np.clip(np.rint(np.abs(d) / (s or 1.0) * colours.LEVELS), 0, colours.LEVELS).astype(np.int64)
            for r in range(mh):
                for k in range(mw):
                    t = colours.region_rgb(int(side[2 * r, k]), int(lv[2 * r, k]))
                    b = colours.region_rgb(int(side[2 * r + 1, k]), int(lv[2 * r + 1, k]))
                    put(top + r, x + 1 + k, ud.HALF, colours.half_style(t, b))
            if l == layer and j == unit:
                put(top + (mh - 1) // 2, x, "▸", ud.MARK)
        more = sizes[l] - units[l]
        if more > 0:
            put(1 + units[l] * step, x, f"+{more}"[: mw + 1], ud.LABEL)
    for l in range(1, ncol):
        _wires(chars, styles, weights[l - 1], col_x[l - 1] + mw + 1, g, units[l - 1], units[l], mh, step,
               unit if l == layer else None)
    if ncol < len(sizes):
        put(0, col_x[-1] + mw + 2, f"+{len(sizes) - ncol} layers", ud.LABEL)
    return [list(zip(chars[y], styles[y])) for y in range(height)]


def _wires(chars, styles, W, x0, g, n_in, n_out, mh, step, chosen):
    if g < 1:
        return
    W = np.asarray(W)[:n_in, :n_out]
    peak = float(np.abs(W).max()) if W.size else 0.0
    if not peak or not np.isfinite(peak):
        return
    height = len(chars)
    best, bits = {}, {}
    wide = 2 * g
    centre = lambda j: 4 * (1 + j * step) + 2 * mh - 1  # noqa: E731
    for i in range(n_in):
        for j in range(n_out):
            w = float(W[i, j])
            if abs(w) < ud.WEAK * peak and j != chosen:
                continue
            prio = (j == chosen, abs(w))
            y0, y1 = centre(i), centre(j)
            lo_y, hi_y = min(y0, y1), max(y0, y1)
            slope = (y1 - y0) / max(1, wide - 1)
            for dx in range(wide):
                a = int(round(min(hi_y, max(lo_y, y0 + slope * (dx - 0.5)))))
                b = int(round(min(hi_y, max(lo_y, y0 + slope * (dx + 0.5)))))
                for dy in range(min(a, b), max(a, b) + 1):
                    cy, cx = dy // 4, dx // 2
                    if not 0 <= cy < height:
                        continue
                    cell = (cy, cx)
                    bits[cell] = bits.get(cell, 0) | ud.BRAILLE_BITS[dy % 4][dx % 2]
                    if cell not in best or prio > best[cell][0]:
                        best[cell] = (prio, w)
    for (cy, cx), (prio, w) in best.items():
        lv = max(3, int(round(abs(w) / peak * colours.LEVELS)))
        rgb = colours.level_rgb(lv if w > 0 else -lv)
        chars[cy][x0 + cx] = chr(0x2800 + bits[(cy, cx)])
        styles[cy][x0 + cx] = colours.plain_style(fg=rgb, bold=prio[0])


def strip_cells(strip):
    """[(char, style), ...] of a Strip, one per cell."""
    return [(ch, seg.style) for seg in strip for ch in seg.text]


def boundary_cells(classes, conf_levels, points, hollow=()):
    """[[(char, style), ...] per line] as the old BoundaryMap.set_field drew them, cell by cell."""
    from tui.widgets.boundary.boundary_map import GLYPH_POINTS, HALF, HOLLOW

    def rgb(code):
        return colours.point_rgb(-code - 1) if code < 0 else colours.region_rgb(*divmod(code, colours.LEVELS + 1))

    rows, cols = classes.shape
    codes = classes.astype(np.int64) * (colours.LEVELS + 1) + conf_levels
    glyph = np.zeros((rows // 2, cols), dtype=np.int64)
    for pr, pc, k in hollow:
        if 0 <= pr < rows and 0 <= pc < cols:
            glyph[min(pr // 2, rows // 2 - 1), pc] = HOLLOW + k % HOLLOW + 1
    if len(points) <= GLYPH_POINTS:
        for pr, pc, k in points:
            if 0 <= pr < rows and 0 <= pc < cols:
                glyph[min(pr // 2, rows // 2 - 1), pc] = k + 1
    else:
        for pr, pc, k in points:
            if 0 <= pr < rows and 0 <= pc < cols:
                codes[pr, pc] = -1 - k
    lines = []
    for y in range(rows // 2):
        line = []
        for x in range(cols):
            t, u, g = int(codes[2 * y, x]), int(codes[2 * y + 1, x]), int(glyph[y, x])
            if g:
                k, mark = ((g - 1) % HOLLOW, "○") if g > HOLLOW else (g - 1, "●")
                line.append((mark, colours.plain_style(fg=colours.point_rgb(k), bg=rgb(t), bold=True)))
            else:
                line.append((HALF, colours.half_style(rgb(t), rgb(u))))
        lines.append(line)
    return lines


def heatmap_colour_cells(L, view, cursor, cw, width):
    """[[(char, style), ...] per line] of a heatmap in colour mode, cell by cell, as before."""
    r0, c0, n_rows, n_cols = view
    rows = L.shape[0]
    lines = []
    for y in range((n_rows + 1) // 2):
        r_top = r0 + 2 * y
        r_bot = r_top + 1 if r_top + 1 < min(rows, r0 + n_rows) else None
        line = []
        for c in range(c0, c0 + n_cols):
            top = colours.CURSOR_RGB if cursor == (r_top, c) else colours.level_rgb(int(L[r_top, c]))
            if r_bot is None:
                style = colours.plain_style(fg=top)
            else:
                bot = colours.CURSOR_RGB if cursor == (r_bot, c) else colours.level_rgb(int(L[r_bot, c]))
                style = colours.half_style(top, bot)
            line += [("▀", style)] * cw
        lines.append(line[:width])
    return lines
