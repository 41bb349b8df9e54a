"""The race table: per variant its loss, accuracy, steps and the step it first reached the target.

The numbers are engine.race's rows (Lockstep.rows(): the same as `netstep race` after
the same epochs); this widget only lays them out, each value in its variant's colour.
"""

from __future__ import annotations

import math

from rich.table import Table
from rich.text import Text
from textual.widgets import Static

from tui.widgets import colours
from tui.widgets.compare.race_plot import VARIANT_RGB


def _num(v, spec=".4g") -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "—"
    return format(v, spec)


def _pct(v) -> str:
    return "—" if v is None else f"{v * 100:.1f}%"


def value_text(field, value) -> str:
    """A variant's value as the table and the legend show it (None: full batch, or off)."""
    if value is None:
        return "full" if field == "batch_size" else "off"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, (list, tuple)):
        return ",".join(str(v) for v in value)
    return str(value)


class RaceTable(Static):
    """One row per variant."""

    def set_rows(self, rows, target_text: str) -> None:
        t = Table(box=None, expand=False, pad_edge=False, padding=(0, 2), show_edge=False)
        field = rows[0]["field"] if rows else "value"
        # A regression run's rows hold r2 (accuracy None): its score columns are R².
        r2 = any("r2" in row for row in rows)
        score, test_score = ("r2", "test_r2") if r2 else ("accuracy", "test_accuracy")
        for name, justify in ((field, "left"), ("loss", "right"), ("R²" if r2 else "acc", "right"),
                              ("test R²" if r2 else "test acc", "right"),
                              ("steps", "right"), ("epochs", "right"), (target_text, "right")):
            t.add_column(name, justify=justify, no_wrap=True, header_style="bold")
        for i, row in enumerate(rows):
            rgb = VARIANT_RGB[i % len(VARIANT_RGB)]
            name = Text("━ " + value_text(row["field"], row["value"]), style=colours.plain_style(fg=rgb, bold=True))
            hit = row["steps_to_target"]
            reached = Text("not yet" if hit is None else f"step {hit}", style="dim" if hit is None else "bold")
            if "stopped" in row:
                reached = Text("stopped: inf/NaN", style="red")
            show = (lambda v: _num(v, ".4f")) if r2 else _pct
            t.add_row(name, _num(row["loss"]), show(row.get(score)), show(row.get(test_score)),
                      str(row["steps"]), str(row["epochs"]), reached)
        self.update(t)
