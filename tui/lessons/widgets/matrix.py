"""Small matrices as aligned text: the numbers a lesson asks the learner to read."""

from __future__ import annotations

import numpy as np
from rich.text import Text

from tui import fmt

MAX_ROWS = 6
MAX_COLS = 6


def number(x, digits=4, width=None) -> str:
    """`digits` significant digits, within `width` when given (tui.fmt: rounded, never cut)."""
    return fmt.num(x, width, sig=digits)


def matrix(name, values, max_rows=MAX_ROWS, max_cols=MAX_COLS) -> Text:
    """`name (r, c)` then the rows, right-aligned, with ... where rows or columns are cut."""
    a = np.atleast_2d(np.asarray(values, dtype=float))
    r, c = a.shape
    shown = a[:max_rows, :max_cols]
    cells = [[number(v) for v in row] for row in shown]
    width = max((len(s) for row in cells for s in row), default=1)
    out = Text(no_wrap=True, overflow="ellipsis")
    out.append(f"{name} ", style="bold")
    out.append(f"({r}, {c})\n", style="dim")
    for i, row in enumerate(cells):
        out.append("  ")
        for j, s in enumerate(row):
            v = shown[i, j]
            style = "cyan" if v > 0 else "magenta" if v < 0 else "dim"
            out.append(s.rjust(width) + " ", style=style)
        if c > max_cols:
            out.append(f"… +{c - max_cols}", style="dim")
        out.append("\n")
    if r > max_rows:
        out.append(f"  … {r - max_rows} more rows\n", style="dim")
    return out
