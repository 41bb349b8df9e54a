"""The learner's gradient check: per parameter the largest relative error, and for a
small network every entry with its analytic and numeric gradient."""

from __future__ import annotations

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.containers import VerticalScroll
from textual.widgets import Static

from tui.lessons.widgets.matrix import number
from tui.widgets.panel import Panel

MAX_ENTRIES = 40


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
        verdict = Text()
        verdict.append("PASSED" if report.passed else "FAILED", style="bold green" if report.passed else "bold red")
        verdict.append(f"  {which}; threshold {report.threshold:g}")
        summary = Table(box=None, padding=(0, 1, 0, 0), header_style="bold")
        for col in ("param", "max rel. error", "checked", "kinks", ""):
            summary.add_column(col, justify="right" if col not in ("param", "") else "left")
        for name, err in report.errors.items():
            checked, total = report.sampled[name]
            ok = err is None or err < report.threshold  # None: every entry on a kink, not checked
            summary.add_row(name, "not checked" if err is None else f"{err:.2e}", f"{checked}/{total}",
                            str(len(report.kinks.get(name, []))),
                            Text("skipped" if err is None else "ok" if ok else "WRONG",
                                 style="yellow" if err is None else "green" if ok else "bold red"))
        parts = [verdict, summary]
        if len(report.entries) <= MAX_ENTRIES:
            entries = Table(box=None, padding=(0, 1, 0, 0), header_style="bold")
            for col in ("entry", "analytic", "numeric", "rel. error"):
                entries.add_column(col, justify="right" if col != "entry" else "left")
            for e in report.entries:
                idx = ",".join(str(i) for i in e.index)
                err = Text("kink" if e.kink else f"{e.error:.1e}",
                           style="yellow" if e.kink else "green" if e.error < report.threshold else "red")
                entries.add_row(f"{e.param}[{idx}]", number(e.analytic, 6), number(e.numeric, 6), err)
            parts += [Text(""), entries]
        self.border_subtitle = "passed" if report.passed else "failed"
        self.body.update(Group(*parts))
