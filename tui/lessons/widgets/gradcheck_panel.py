"""The learner's gradient check: per parameter the largest relative error, and for a
small network every entry with its analytic and numeric gradient."""

from __future__ import annotations

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.containers import VerticalScroll
from textual.widgets import Static

from tui import fmt
from tui.widgets import gradcheck_rows
from tui.widgets.panel import Panel

MAX_ENTRIES = 40
WIDE = 44   # room for every column of the summary


class GradcheckPanel(Panel):
    TITLE = "Gradient check"

    def compose(self):
        with VerticalScroll(id="gradcheck-scroll"):
            self.body = Static(id="gradcheck-body")
            yield self.body

    def draw(self, snap) -> None:
        report = snap.gradcheck
        which = ("the course's backward pass (dZ2 = A2 - Y)" if snap.backward == "course"
                 else "the engine's backward pass")
        if report is None:
            self.border_subtitle = "g: run it"
            self.body.update(Text(f"Press g to check {which} against centred differences.", style="dim"))
            return
        rows = gradcheck_rows.rows(report)
        word, style = gradcheck_rows.verdict(report, rows)
        verdict = Text()
        verdict.append(word, style=style)
        verdict.append(f"  {which}")
        # A narrow panel (80x24) drops the kinks column (the note under the table still counts
        # them) and says "not checked" in the error column, so no cell ever wraps or is cut.
        narrow = (self.body.size.width or 80) < WIDE
        summary = Table(box=None, padding=(0, 1, 0, 0), header_style="bold")
        cols = ("param", "max rel. error", "checked", "") if narrow else ("param", "max rel. error", "checked", "kinks", "")
        for col in cols:
            summary.add_column(col, justify="right" if col not in ("param", "") else "left", no_wrap=True)
        looks = {"ok": ("ok", "green"), "wrong": ("WRONG", "bold red"), "not checked": ("not checked", "yellow")}
        for row in rows:
            word, style = looks[row.status]
            if row.error is None:
                err = Text("not checked", style="yellow") if narrow else "—"
                if narrow:
                    word = ""
            else:
                err = fmt.num(row.error, 8, 3)
            cells = [row.name, err, f"{row.checked}/{row.total}"] + ([] if narrow else [str(row.kinks)])
            summary.add_row(*cells, Text(word, style=style))
        parts = [verdict, summary]
        skipped = gradcheck_rows.skipped_note(rows)
        if skipped:
            parts.append(Text(skipped, style="yellow"))
        parts.append(Text(gradcheck_rows.threshold_note(report.threshold), style="dim"))
        if len(report.entries) <= MAX_ENTRIES:
            # Each number gets an equal share of the width and is rounded to fit it (never cut).
            width = self.body.size.width or 80
            num_w = max(6, min(12, (width - 9 - 3) // 3))
            entries = Table(box=None, padding=(0, 1, 0, 0), header_style="bold")
            for col in ("entry", "analytic", "numeric", "rel. error"):
                entries.add_column(col, justify="right" if col != "entry" else "left", no_wrap=True)
            for e in report.entries:
                idx = ",".join(str(i) for i in e.index)
                err = Text("kink" if e.kink else fmt.num(e.error, num_w, 2),
                           style="yellow" if e.kink else "green" if e.error < report.threshold else "red")
                entries.add_row(f"{e.param}[{idx}]", fmt.num(e.analytic, num_w, 6), fmt.num(e.numeric, num_w, 6), err)
            parts += [Text(""), entries]
        self.border_subtitle = gradcheck_rows.verdict(report, rows)[0].lower()
        self.body.update(Group(*parts))
