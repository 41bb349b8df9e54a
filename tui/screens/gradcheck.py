"""The `g` dialog: the run's backward pass against centred differences (engine.gradcheck).

The check runs in a thread on the engine's own float64 copy of the network, so the
dialog opens at once and the run is never touched. One row per parameter tensor,
then the worst entries with their analytic and numeric gradients.
"""

from __future__ import annotations

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, LoadingIndicator, Static

import engine

MAX_EXAMPLES = 256   # the check costs four forward passes per checked entry
WORST = 8


class GradcheckScreen(ModalScreen[None]):
    """Gradient check results."""

    CSS_PATH = "gradcheck.tcss"
    BINDINGS = [Binding("escape,g,q", "close", "close")]

    def __init__(self, net, X, Y, loss, l2):
        super().__init__()
        self.net, self.X, self.Y, self.loss, self.l2 = net, X[:MAX_EXAMPLES], Y[:MAX_EXAMPLES], loss, l2
        self.report = None

    def compose(self) -> ComposeResult:
        with Vertical(id="gc-box"):
            yield Static(f"Gradient check on {len(self.X)} examples: analytic (backward pass) "
                         f"against numeric (centred differences)", id="gc-title")
            yield LoadingIndicator(id="gc-loading")
            yield DataTable(id="gc-table", cursor_type="row", zebra_stripes=True)
            yield Static("", id="gc-summary")
            yield DataTable(id="gc-entries", cursor_type="row")
            yield Static("[dim]esc closes[/]", id="gc-foot")

    def on_mount(self) -> None:
        self.query_one("#gc-table").display = False
        self.query_one("#gc-entries").display = False
        self._check()

    @work(thread=True, exclusive=True, group="gradcheck")
    def _check(self):
        report = engine.gradcheck(self.net, self.X, self.Y, self.loss, l2=self.l2)
        self.app.call_from_thread(self._show, report)

    def _show(self, report) -> None:
        self.report = report
        self.query_one("#gc-loading").display = False
        table = self.query_one("#gc-table", DataTable)
        table.display = True
        table.add_columns("param", "shape", "checked", "max rel error", "kinks", "result")
        for name, err in report.errors.items():
            checked, total = report.sampled[name]
            shape = "×".join(map(str, self.net.params[name].shape))
            ok = err < report.threshold
            table.add_row(name, shape, f"{checked}/{total}", f"{err:.3e}", str(len(report.kinks[name])),
                          Text("pass", style="bold green") if ok else Text("FAIL", style="bold red"), key=name)
        kinks = sum(len(v) for v in report.kinks.values())
        verdict = ("[b green]PASSED[/]" if report.passed else "[b red]FAILED[/]")
        note = (f"  {kinks} probe(s) crossed a ReLU kink (Z = 0) where the slope jumps: listed, not counted"
                if kinks else "")
        self.query_one("#gc-summary", Static).update(
            f"{verdict}: every relative error must be below {report.threshold:g}.{note}\nWorst entries:")
        entries = sorted(report.entries, key=lambda e: (not e.kink, e.error), reverse=True)
        entries = [e for e in entries if not e.kink][:WORST] + [e for e in report.entries if e.kink][:2]
        et = self.query_one("#gc-entries", DataTable)
        et.display = True
        et.add_columns("entry", "analytic", "numeric", "rel error", "")
        for e in entries:
            idx = ",".join(map(str, e.index))
            flag = Text("kink", style="yellow") if e.kink else (
                Text("ok", style="green") if e.error < report.threshold else Text("bad", style="bold red"))
            et.add_row(f"{e.param}[{idx}]", f"{e.analytic:.6e}", f"{e.numeric:.6e}", f"{e.error:.2e}", flag)

    def action_close(self) -> None:
        self.dismiss(None)
