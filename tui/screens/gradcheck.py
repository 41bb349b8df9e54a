"""The `g` dialog: the run's backward pass against centred differences (engine.gradcheck).

The check runs in a thread on the engine's own float64 copy of the network, so the
dialog opens at once and the run is never touched. One row per parameter tensor,
then the entries: for a small network every entry of every parameter (the engine
checks them all), for a large one the entries the engine sampled from the tensor
highlighted above. Each entry shows the analytic and numeric gradient, the relative
error and pass / FAIL / kink in colour; `f` shows every digit.
"""

from __future__ import annotations

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual import on
from textual.widgets import DataTable, LoadingIndicator, Static

import engine
from tui import fmt
from tui.widgets import gradcheck_rows

MAX_EXAMPLES = 256   # the check costs four forward passes per checked entry
ALL_ENTRIES = 400    # list every entry of every parameter when the engine checked them all and there are this few


class GradcheckScreen(ModalScreen[None]):
    """Gradient check results."""

    CSS_PATH = "gradcheck.tcss"
    BINDINGS = [Binding("escape,g,q", "close", "close"), Binding("f", "precision", "precision")]

    def __init__(self, net, X, Y, loss, l2, full=False, l1=0.0, dropout=0.0, seed=0):
        super().__init__()
        self.net, self.X, self.Y, self.loss, self.l2 = net, X[:MAX_EXAMPLES], Y[:MAX_EXAMPLES], loss, l2
        self.l1 = l1
        # Dropout: one set of masks, fixed for every pass of the check (drawn from the run's seed).
        self.dropout = engine.gradcheck_masks(net, len(self.X), dropout, seed)
        self.report = None
        self.full = full        # every digit (repr) instead of rounded numbers
        self.every_entry = None  # True: the entries table lists every entry of every parameter
        self.param = None       # the parameter whose sampled entries are listed (large networks)
        self.rows = []          # gradcheck_rows.ParamRow per parameter

    def compose(self) -> ComposeResult:
        with Vertical(id="gc-box"):
            yield Static(f"Gradient check on {len(self.X)} examples: analytic (backward pass) "
                         f"against numeric (centred differences){self._terms()}", id="gc-title")
            yield LoadingIndicator(id="gc-loading")
            yield DataTable(id="gc-table", cursor_type="row", zebra_stripes=True)
            yield Static("", id="gc-summary")
            yield DataTable(id="gc-entries", cursor_type="row")
            yield Static("[dim]↑↓ choose a parameter · f every digit · esc closes[/]", id="gc-foot")

    def _terms(self) -> str:
        terms = [f"L2 {self.l2:g}"] if self.l2 else []
        if self.l1:
            terms.append(f"L1 {self.l1:g}")
        if self.dropout is not None:
            terms.append(f"dropout {self.dropout[0]:g}, masks fixed")
        return f" [{'; '.join(terms)}]" if terms else ""

    def on_mount(self) -> None:
        self.query_one("#gc-table").display = False
        self.query_one("#gc-entries").display = False
        self._check()

    @work(thread=True, exclusive=True, group="gradcheck")
    def _check(self):
        report = engine.gradcheck(self.net, self.X, self.Y, self.loss, l2=self.l2, l1=self.l1, dropout=self.dropout)
        self.app.call_from_thread(self._show, report)

    def _show(self, report) -> None:
        self.report = report
        self.query_one("#gc-loading").display = False
        table = self.query_one("#gc-table", DataTable)
        table.display = True
        table.add_columns("param", "shape", "checked", "max rel error", "kinks", "result")
        self.rows = gradcheck_rows.rows(report)
        for row in self.rows:
            shape = "×".join(map(str, self.net.params[row.name].shape))
            result = {"ok": Text("pass", style="bold green"), "wrong": Text("FAIL", style="bold red"),
                      "not checked": Text("not checked", style="bold yellow")}[row.status]
            err = "—" if row.error is None else fmt.num(row.error, 9, 3)
            table.add_row(row.name, shape, f"{row.checked}/{row.total}", err, str(row.kinks), result, key=row.name)
        checked = sum(c for c, _ in report.sampled.values())
        self.every_entry = checked <= ALL_ENTRIES and all(c == t for c, t in report.sampled.values())
        et = self.query_one("#gc-entries", DataTable)
        et.display = True
        et.add_columns("entry", "analytic", "numeric", "rel error", "result")
        self.param = next(iter(report.errors), None)
        self._entries()
        table.focus()

    def _summary(self) -> None:
        report = self.report
        kinks = sum(r.kinks for r in self.rows)
        word, style = gradcheck_rows.verdict(report, self.rows)
        verdict = f"[{style}]{word}[/]"
        note = (f"  {kinks} probe(s) crossed a ReLU kink (Z = 0) where the slope jumps: listed, not counted."
                if kinks else "")
        skipped = gradcheck_rows.skipped_note(self.rows)
        if skipped:
            note += f"\n[yellow]{skipped[0].upper() + skipped[1:]}.[/]"
        note += f"\n[dim]{gradcheck_rows.threshold_note(report.threshold)}.[/]"
        if self.every_entry:
            which = f"Every entry of every parameter ({len(report.entries)}):"
        else:
            checked, total = report.sampled[self.param]
            which = (f"{self.param}: {checked} of {total} entries" + (" (a seeded sample)" if checked < total else "")
                     + ", worst first; ↑↓ above chooses the parameter:")
        self.query_one("#gc-summary", Static).update(
            f"{verdict}: every checked relative error must be below {fmt.num(report.threshold)}.{note}\n{which}")
        choose = "tab: the entries" if self.every_entry else "↑↓ choose a parameter · tab: its entries"
        self.query_one("#gc-foot", Static).update(f"[dim]{choose} · f every digit · esc closes[/]")

    def _entries(self) -> None:
        """Fill the entries table: all of them, or the highlighted parameter's (worst first)."""
        report = self.report
        if self.every_entry:
            entries = report.entries
        else:
            entries = sorted((e for e in report.entries if e.param == self.param),
                             key=lambda e: (not e.kink, -e.error if e.error == e.error else 0.0))
        et = self.query_one("#gc-entries", DataTable)
        et.clear()
        full = self.full
        for e in entries:
            idx = ",".join(map(str, e.index))
            flag = Text("kink", style="bold yellow") if e.kink else (
                Text("pass", style="bold green") if e.error < report.threshold else Text("FAIL", style="bold red"))
            colour = "yellow" if e.kink else ("green" if e.error < report.threshold else "red")
            et.add_row(f"{e.param}[{idx}]", _num(e.analytic, full), _num(e.numeric, full),
                       Text(_num(e.error, full, 3), style=colour), flag)
        self._summary()

    @on(DataTable.RowHighlighted, "#gc-table")
    def _param_chosen(self, event: DataTable.RowHighlighted) -> None:
        if self.report is None or self.every_entry or event.row_key is None:
            return
        name = event.row_key.value
        if name != self.param:
            self.param = name
            self._entries()

    def action_precision(self) -> None:
        self.full = not self.full
        if self.report is not None:
            self._entries()

    def action_close(self) -> None:
        self.dismiss(None)


def _num(v, full, sig=7):
    return fmt.full(v) if full else fmt.num(v, sig=sig)
