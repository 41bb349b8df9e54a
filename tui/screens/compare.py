"""The compare screen (C): two to four variants of the current run, differing in one field,
trained side by side on the same data and seed.

space steps every variant once, p plays them together (a worker thread owns the race
while playing, as the dashboard's worker owns its run); their step losses share one
plot, their decision boundaries sit side by side (2-D data), and the table holds
engine.race's rows: the same numbers `netstep race` prints after the same epochs.
f picks the field (its default values), e types the values, esc returns to the
dashboard, whose run is left as it was (paused).

The screen does no math: engine.race.Lockstep steps the variants and gives the table,
engine.layer_space.decision_field colours the boundaries; a CompareView is the frozen
copy the widgets draw, taken by whoever owns the race at that moment.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import numpy as np
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Input, Static
from textual.worker import get_current_worker

import engine
from engine import layer_space, race
from tui.widgets import colours
from tui.widgets.compare.race_plot import VARIANT_RGB, RacePlot
from tui.widgets.compare.race_table import RaceTable, value_text
from tui.widgets.compare.variant_map import VariantMap
from tui.widgets.footer import FitFooter as Footer

TICK_HZ = 5           # the screen samples the race this often while playing (plot, table: the GIL
                      # they hold is training time lost, as on the dashboard)
FIELD_INTERVAL = 1.0  # seconds between boundary fields while playing: four maps, each a forward pass
                      # over the plane and a repaint (about the dashboard's one map at 3 a second)
CHUNK_SECONDS = 0.02  # the worker steps this long between looks at its commands


@dataclass(frozen=True, eq=False)
class CompareView:
    """What the compare screen draws of one moment of the race (copies only)."""

    field: str
    rows: tuple           # engine.race rows
    curves: tuple         # each variant's history.curve() (frozen, bounded)
    fields: tuple         # per variant (classes, confidence) over the plane, or None
    extent: tuple | None
    playing: bool


def take_view(lockstep, field, grids, extent, playing, fields=None) -> CompareView:
    """Copy the race's numbers (call while owning it). grids: each variant's map size in pixels
    (rows, cols); fields: the boundaries to keep from an earlier view (None: compute them now)."""
    rows = tuple(lockstep.rows())
    curves = tuple(t.history.curve() for t in lockstep.trainers)
    if fields is not None and len(fields) == len(rows):
        return CompareView(field, rows, curves, fields, extent, playing)
    fields = [None] * len(rows)
    if extent is not None:
        for i, (t, grid) in enumerate(zip(lockstep.trainers, grids)):
            if grid[0] >= 2 and grid[1] >= 2:
                fields[i] = layer_space.decision_field(t.net, extent, *grid)
    fields = tuple(fields)
    return CompareView(field, rows, curves, fields, extent, playing)


class CompareScreen(Screen):
    """Variants of the run side by side."""

    CSS_PATH = "compare.tcss"
    AUTO_FOCUS = None   # the values box takes keys only after e
    BINDINGS = [
        Binding("space", "step", "step all"),
        Binding("p", "play", "play all"),
        Binding("f", "next_field", "field"),
        Binding("e", "edit_values", "values"),
        Binding("l", "toggle_log", "log", show=False),
        Binding("escape", "close", "back"),
    ]

    def __init__(self, config, field="optimizer", values=None, target=1.0, **kwargs):
        super().__init__(**kwargs)
        self.base = config
        self.target = target
        self.log_scale = False
        self.playing = False
        self.unlimited = False
        self.lockstep = None
        self.view = None
        self._lock = threading.Lock()
        self._want = False
        self._grids = ()
        self._points = {}   # map size -> the training points' pixels on it
        self._worker = None
        self._set_race(field, values or race.default_values(config, field))

    # ----- the race ---------------------------------------------------------------------

    def _set_race(self, field, values) -> None:
        """Build the variants (raises engine.ConfigError, leaving the race as it was)."""
        variants = race.variants(self.base, field, values)
        lockstep = race.Lockstep(variants, target=self.target)
        X = lockstep.trainers[0].X
        self.field = field
        self.values = [value_text(field, v.value) for v in variants]
        self.lockstep = lockstep
        self.unlimited = False
        self.extent = layer_space.extent(X) if X.shape[1] == 2 else None
        self.view = take_view(lockstep, field, self._grids, self.extent, False)

    def compose(self) -> ComposeResult:
        yield Static(id="cmp-head")
        yield Input(id="cmp-values", compact=True, placeholder="values, comma-separated (2 to 4)", disabled=True)
        yield Static(id="cmp-error")
        with Vertical(id="cmp-plot-box"):
            yield RacePlot(id="cmp-plot")
        with Horizontal(id="cmp-maps"):
            for i in range(race.MAX_VARIANTS):
                yield VariantMap(id=f"cmp-map-{i}")
        with Vertical(id="cmp-table-box"):
            yield RaceTable(id="cmp-table")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#cmp-values").display = False
        self.query_one("#cmp-error").display = False
        self.set_interval(1 / TICK_HZ, self._tick)
        self.call_after_refresh(self._refresh_view)

    def on_resize(self) -> None:
        self.call_after_refresh(self._refresh_view)

    def _maps(self):
        return [self.query_one(f"#cmp-map-{i}", VariantMap) for i in range(race.MAX_VARIANTS)]

    def _measure_grid(self) -> None:
        """Each map's size in pixels (maps side by side may differ by a column)."""
        self._grids = tuple(m.map.grid_shape for m in self._maps()) if self.extent is not None else ()

    def _refresh_view(self) -> None:
        """Paused: take a fresh view now and draw it."""
        self._measure_grid()
        if self.playing:
            self._want = True
            return
        with self._lock:
            self.view = take_view(self.lockstep, self.field, self._grids, self.extent, False)
        self.draw(self.view)
        self.call_after_refresh(self._check_grids)

    def _check_grids(self) -> None:
        """After a layout change (fewer or more variants, a resize): draw again at the maps' new sizes."""
        used = self._grids
        self._measure_grid()
        if self._grids != used:
            self._refresh_view()

    # ----- drawing (copies only) --------------------------------------------------------

    def draw(self, view: CompareView) -> None:
        n = len(view.rows)
        steps = max(r["steps"] for r in view.rows)
        state = "playing" if view.playing else "paused"
        names = " · ".join(f"[rgb{VARIANT_RGB[i]}]{value_text(r['field'], r['value'])}[/]"
                           for i, r in enumerate(view.rows))
        self.query_one("#cmp-head", Static).update(
            f"[b]Compare[/] step [b]{steps}[/] {state} · {view.field} = {names}   [dim]same data, same seed "
            f"({self.base.dataset}, seed {self.base.seed})[/]")
        plot = self.query_one(RacePlot)
        plot.plot_race(view.curves, self.log_scale, extra=[r["loss"] for r in view.rows])
        box = self.query_one("#cmp-plot-box")
        box.border_title = "Step loss of each variant" + (" · log scale" if plot.log_scale else "")
        box.border_subtitle = "lowest to highest per column: every spike shows · l log/linear"
        if self.target is None:
            target = "target at"
        elif self.base.task == "regression":  # engine.race: a regression run's target is its R²
            target = f"R² {self.target:g} at"
        else:
            target = f"{self.target:.0%} acc at"
        self.query_one(RaceTable).set_rows(view.rows, target)
        maps = self._maps()
        show_maps = view.extent is not None
        self.query_one("#cmp-maps").display = show_maps
        for i, vm in enumerate(maps):
            vm.display = show_maps and i < n
            if not vm.display:
                continue
            r = view.rows[i]
            acc = r["accuracy"]
            caption = (f"[b rgb{VARIANT_RGB[i]}]━ {value_text(r['field'], r['value'])}[/]  "
                       f"[dim]acc[/] {'—' if acc is None else f'{acc * 100:.0f}%'}")
            if caption != vm.caption_text:   # the same markup again would still re-render the line
                vm.caption_text = caption
                vm.set_caption(caption)
            field = view.fields[i]
            if field is not None and vm.shown is field:
                continue   # the same boundary (fields are refreshed less often than the numbers)
            vm.shown = field
            if field is None:
                vm.set_field(None, None, [])
            else:
                vm.set_field(field[0], field[1], self._points_for(field[0].shape))

    def _points_for(self, shape):
        """The training points' pixels on a map of this shape (layout only)."""
        if shape in self._points:
            return self._points[shape]
        t = self.lockstep.trainers[0]
        X = t.X
        (x0, y0), (x1, y1) = self.extent
        rows, cols = shape
        pc = np.rint((X[:, 0] - x0) / (x1 - x0) * (cols - 1)).astype(np.int64)
        pr = np.rint((y1 - X[:, 1]) / (y1 - y0) * (rows - 1)).astype(np.int64)
        true = engine.metrics.predicted_classes(t.Y)
        self._points[shape] = list(zip(pr.tolist(), pc.tolist(), true.tolist()))
        return self._points[shape]

    def _tick(self) -> None:
        if self.playing or (self._worker is not None and not self._worker.is_finished):
            self._want = True
        view = self.view
        if view is not None and view is not getattr(self, "_shown", None):
            self._shown = view
            self.draw(view)

    # ----- actions ----------------------------------------------------------------------

    async def _pause(self) -> None:
        self.playing = False
        worker = self._worker
        if worker is not None and not worker.is_finished:
            await worker.wait()

    async def action_step(self) -> None:
        await self._pause()
        with self._lock:
            self.lockstep.step()
        self._refresh_view()

    async def action_play(self) -> None:
        if self.playing or (self._worker is not None and not self._worker.is_finished):
            await self._pause()
            self._refresh_view()
            return
        self._measure_grid()
        self.playing = True
        self._worker = self._play()

    @work(thread=True, exclusive=True, group="compare", exit_on_error=False)
    def _play(self) -> None:
        worker = get_current_worker()
        lockstep = self.lockstep
        epochs = None if self.unlimited else self.base.epochs
        reason = "paused"
        fields_at = time.perf_counter()
        while self.playing and not worker.is_cancelled:
            with self._lock:
                moved = lockstep.advance(time.perf_counter() + CHUNK_SECONDS, time.perf_counter, epochs)
                if not moved:
                    reason = "finished" if lockstep.running() else "halted"
                    self.playing = False
                if self._want or not self.playing:
                    self._want = False
                    now = time.perf_counter()
                    keep = None
                    if self.playing and now - fields_at < FIELD_INTERVAL and self.view is not None:
                        keep = self.view.fields
                    else:
                        fields_at = now
                    self.view = take_view(lockstep, self.field, self._grids, self.extent, self.playing, keep)
            time.sleep(0.001)  # let the UI thread take the lock between chunks
        self.app.call_from_thread(self._stopped, reason)

    def _stopped(self, reason: str) -> None:
        if reason == "finished":
            self.unlimited = True
            self.notify(f"every variant trained the run's {self.base.epochs} epochs; p plays on", timeout=4)
        elif reason == "halted":
            self.notify("every variant has stopped (inf/NaN): see the table", severity="warning", timeout=6)
        self._refresh_view()

    async def action_next_field(self) -> None:
        await self._pause()
        i = race.FIELDS.index(self.field) if self.field in race.FIELDS else -1
        for k in range(1, len(race.FIELDS) + 1):
            field = race.FIELDS[(i + k) % len(race.FIELDS)]
            try:
                self._set_race(field, race.default_values(self.base, field))
            except engine.NetstepError:
                continue  # no default values fit this run (batch sizes on four examples): the next field
            break
        self._error("")
        self._refresh_view()

    async def action_edit_values(self) -> None:
        await self._pause()
        box = self.query_one("#cmp-values", Input)
        box.value = ",".join(self.values)
        box.disabled = False
        box.display = True
        box.focus()

    @on(Input.Submitted, "#cmp-values")
    def _values_typed(self, event: Input.Submitted) -> None:
        text = event.value.strip()
        try:
            self._set_race(self.field, race.split_values(text))
        except engine.NetstepError as e:
            self._error(str(e))
            return
        self._error("")
        self._close_values()
        self._refresh_view()

    def _close_values(self) -> None:
        box = self.query_one("#cmp-values", Input)
        box.display = False
        box.disabled = True
        self.set_focus(None)

    def _error(self, text: str) -> None:
        line = self.query_one("#cmp-error", Static)
        line.update(f"[red]{text}[/]" if text else "")
        line.display = bool(text)

    def action_toggle_log(self) -> None:
        self.log_scale = not self.log_scale
        self._refresh_view()

    async def action_close(self) -> None:
        box = self.query_one("#cmp-values", Input)
        if box.display:
            self._close_values()
            self._error("")
            return
        await self._pause()
        self.dismiss()
