"""A confusion matrix: rows are the true classes, columns the predicted ones.

The diagonal (right answers) is tinted green, mistakes orange, each in proportion to
its share of its row, so a class the model confuses stands out at a glance.
"""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.widgets import Static

from tui.widgets import colours

GOOD = (80, 200, 120)
BAD = colours.POS


class ConfusionMatrix(Static):
    """Counts per (true, predicted) class pair."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.counts = None
        self._K = None

    def set_counts(self, counts, caption: str) -> None:
        self.counts = counts
        K = counts.shape[0]
        width = max(3, len(str(int(counts.max()))) if counts.size else 1)
        table = Table(box=None, padding=(0, 0, 0, 1), show_header=True, header_style="dim",
                      caption=caption, caption_style="dim", caption_justify="left")
        table.add_column("true╲pred", justify="right", style="dim", no_wrap=True)
        for j in range(K):
            table.add_column(str(j), justify="right", min_width=width, no_wrap=True)
        for i in range(K):
            total = max(1, int(counts[i].sum()))
            row = []
            for j in range(K):
                n = int(counts[i, j])
                share = n / total
                base = GOOD if i == j else BAD
                bg = colours.mix(colours.MID, base, min(1.0, share * (1.0 if i == j else 2.0))) if n else None
                style = colours.plain_style(fg=(235, 235, 240) if n else (90, 90, 100), bg=bg, bold=i == j)
                row.append(Text(str(n), style=style))
            table.add_row(str(i), *row)
        self.update(table, layout=K != self._K)
        self._K = K
