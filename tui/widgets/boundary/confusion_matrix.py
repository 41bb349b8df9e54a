"""A confusion matrix: rows are the true classes, columns the predicted ones.

The diagonal (right answers) is tinted green, mistakes orange, each in proportion to
its share of its row, so a class the model confuses stands out at a glance. Columns
are as narrow as the largest count allows, so ten classes fit a 36-column panel.
"""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from tui.widgets import colours

GOOD = (80, 200, 120)
BAD = colours.POS
EMPTY = (90, 90, 100)
INK = (235, 235, 240)


class ConfusionMatrix(Static):
    """Counts per (true, predicted) class pair."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.counts = None
        self._K = None

    def set_counts(self, counts, caption: str) -> None:
        self.counts = counts
        K = counts.shape[0]
        cell = max(len(str(int(counts.max()))) if counts.size else 1, len(str(K - 1)))
        label = max(3, len(str(K - 1)))
        t = Text(no_wrap=True, overflow="ellipsis")
        t.append("t╲p".rjust(label), style="dim")
        for j in range(K):
            t.append(" " + str(j).rjust(cell), style="dim")
        for i in range(K):
            t.append("\n" + str(i).rjust(label), style="dim")
            total = max(1, int(counts[i].sum()))
            for j in range(K):
                n = int(counts[i, j])
                t.append(" ")
                if n:
                    share = min(1.0, n / total * (1.0 if i == j else 2.0))
                    bg = colours.mix(colours.MID, GOOD if i == j else BAD, 0.25 + 0.75 * share)
                    t.append(str(n).rjust(cell), style=colours.plain_style(fg=INK, bg=bg, bold=i == j))
                else:
                    t.append("·".rjust(cell), style=colours.plain_style(fg=EMPTY))
        t.append("\n" + caption, style="dim")
        self.update(t, layout=K != self._K)
        self._K = K
