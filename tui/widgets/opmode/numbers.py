"""Numbers and matrices as text for op mode: rounded for reading, or exactly as the engine holds them.

`number(v, full)` gives four significant digits (tui.fmt, the UI's one formatter), or
with full=True Python's repr of the float: the shortest text that reads back as the
very same float64, so a learner (or a test) can compare it with the engine bit for
bit. `matrix_block` lays out one named array with its shape, cut to a window with ⋮
and … when large, its numbers rounded to fewer digits (never cut) when a width is
given; `pack` puts blocks side by side while they fit the width.
"""

from __future__ import annotations

import numpy as np
from rich.text import Text

from tui import fmt
from tui.widgets import colours

GAP = 3
INDENT = 2      # matrix rows are indented under their title
CELL_GAP = 2

POS_STYLE = colours.plain_style(fg=colours.mix(colours.POS, (255, 255, 255), 0.25))
NEG_STYLE = colours.plain_style(fg=colours.mix(colours.NEG, (255, 255, 255), 0.25))
ZERO_STYLE = colours.plain_style(dim=True)


def number(v, full: bool = False, sig: int = 4) -> str:
    """One entry: `sig` significant digits (1.5e-8 style exponents), or repr(float) when full."""
    return fmt.full(v) if full else fmt.num(v, sig=sig)


def _style(v: float):
    if v > 0:
        return POS_STYLE
    if v < 0:
        return NEG_STYLE
    return ZERO_STYLE


def shape_text(a) -> str:
    a = np.asarray(a)
    if a.ndim == 0:
        return "scalar"
    if a.ndim == 1:
        return f"({a.shape[0]},)"
    return f"({a.shape[0]}, {a.shape[1]})"


def _window(n: int, most: int):
    """Indices to show out of n (None marks the cut): the first most-1 and the last."""
    if most is None or n <= most:
        return list(range(n))
    return list(range(max(1, most - 2))) + [None, n - 1]


def _cells(a, rows, cols, full, sig):
    cells = [[None if (i is None or j is None) else number(a[i, j], full, sig) for j in cols] for i in rows]
    widths = [1 if j is None else max(len(row[k]) for row in cells if row[k] is not None)
              for k, j in enumerate(cols)]
    return cells, widths


def _fit(a, rows, cols, full, width):
    """Cells rounded to the most digits (4 down to 2) whose rows fit `width`; then fewer
    columns (the window's … marks the rest). Rounded, never cut; full precision scrolls."""
    if full or width is None:
        return (cols, *_cells(a, rows, cols, full, 4))
    most = len(cols)
    while True:
        for sig in (4, 3, 2):
            cells, widths = _cells(a, rows, cols, full, sig)
            if INDENT + sum(widths) + CELL_GAP * (len(widths) - 1) <= width:
                return cols, cells, widths
        if most <= 2:
            return cols, cells, widths
        most -= 1
        cols = _window(a.shape[1], most)


def matrix_block(title, values, full=False, max_rows=8, max_cols=6, title_style="bold", note="",
                 width=None) -> list[Text]:
    """Lines of one titled matrix: 'title (r, c) note', then right-aligned rows (within
    `width` when given, by rounding to fewer digits and then showing fewer columns)."""
    a = np.asarray(values, dtype=np.float64)
    head = Text(no_wrap=True)
    head.append(str(title), style=title_style)
    head.append(" " + shape_text(a), style="dim")
    if note:
        head.append("  " + note, style="dim italic")
    if a.ndim == 0:
        line = Text(no_wrap=True)
        line.append("  ")
        line.append(number(a, full), style=_style(float(a)))
        return [head, line]
    a = np.atleast_2d(a)
    rows, cols = _window(a.shape[0], max_rows), _window(a.shape[1], max_cols)
    cols, cells, widths = _fit(a, rows, cols, full, width)
    lines = [head]
    for r, i in enumerate(rows):
        line = Text(no_wrap=True)
        line.append(" " * INDENT)
        for k, j in enumerate(cols):
            if k:
                line.append(" " * CELL_GAP)
            if i is None:
                line.append(("⋮" if j is not None else " ").rjust(widths[k]), style="dim")
            elif j is None:
                line.append("…", style="dim")
            else:
                v = float(a[i, j])
                line.append(cells[r][k].rjust(widths[k]), style=_style(v))
        lines.append(line)
    return lines


def block_width(lines) -> int:
    return max((line.cell_len for line in lines), default=0)


def pack(blocks, width: int, gap: int = GAP) -> Text:
    """Blocks side by side, wrapping to a new band of rows when the next one does not fit."""
    out = Text(no_wrap=True, overflow="crop")
    band, band_w = [], 0
    bands = []
    for b in blocks:
        w = block_width(b)
        if band and band_w + gap + w > width:
            bands.append(band)
            band, band_w = [], 0
        band_w += (gap if band else 0) + w
        band.append((b, w))
    if band:
        bands.append(band)
    for n, band in enumerate(bands):
        if n:
            out.append("\n")
        height = max(len(b) for b, _ in band)
        for y in range(height):
            if y:
                out.append("\n")
            for k, (b, w) in enumerate(band):
                if k:
                    out.append(" " * gap)
                line = b[y] if y < len(b) else Text("")
                out.append_text(line)
                if k < len(band) - 1:
                    out.append(" " * (w - line.cell_len))
    return out
