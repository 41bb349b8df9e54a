"""The trainer app: a live, keyboard-first dashboard over one engine run.

The app holds a RunState (the trainer and its latest Snapshot) and a View (what the
user chose to look at). Panels are plain widgets that draw snapshots, so any screen
can place them. While playing, a thread worker owns the trainer and steps it at full
speed; a timer samples the latest snapshot TICK_HZ times a second and hands it to the
panels of every screen on the stack. Nothing here does the math: actions call the
engine (step, evaluate, build, gradcheck, save, load) and panels draw its numbers.
"""

from __future__ import annotations

import asyncio
import csv
import io
import os
import time

from textual import work
from textual.app import App
from textual.message import Message
from textual.worker import get_current_worker

import engine
from engine.init import INITS
from tui import keys
from tui.palette import TrainerCommands
from tui.screens.config_form import ConfigForm
from tui.screens.edit_weight import EditWeightScreen
from tui.screens.gradcheck import GradcheckScreen
from tui.screens.help import HelpScreen
from tui.screens.main import MainScreen
from tui.screens.op_detail import OpDetailScreen
from tui.screens.ops import OpScreen
from tui.screens.path_prompt import PathPrompt
from tui.state import RunState, View

TICK_HZ = 16
OPEN_LESSONS = "lessons"  # the app's result when the user asked for the lessons (see tui/commands/app_cmd.py)
UI_BUDGET = 0.12    # share of a core the drawing may take while playing; above it, panels slow down
MAX_SLOWDOWN = 4.0   # even on a slow machine every panel moves at least every 2 s
CYCLES = {
    "dataset": engine.datasets.NAMES,
    "hidden": engine.activations.HIDDEN,
    "init": INITS,
    "optimizer": engine.optim.OPTIMIZERS,
}


class NetstepApp(App):
    """netstep: watch a neural network train, one cycle per keypress or at full speed."""

    TITLE = "netstep"
    CSS_PATH = ["app.tcss", "widgets/widgets.tcss"]
    BINDINGS = keys.bindings()
    COMMANDS = App.COMMANDS | {TrainerCommands}
    # A mode (not get_default_screen) so that the screen's own stylesheet is loaded.
    MODES = {"dashboard": MainScreen}
    DEFAULT_MODE = "dashboard"

    class PlayStopped(Message):
        """The training worker stopped: 'paused', 'halted' or 'finished'."""

        def __init__(self, reason: str):
            super().__init__()
            self.reason = reason

    def __init__(self, trainer, tick_hz: float = TICK_HZ, **kwargs):
        super().__init__(**kwargs)
        self.state = RunState(trainer)
        self.view = View()
        self.tick_hz = tick_hz
        self._worker = None
        self._shown = None
        self.frames = 0          # snapshots handed to the panels (the benchmark reads it)
        self.stagger = True      # while playing: one throttled panel per frame (see show_all)
        self.panel_registry = set()  # every mounted Panel (see Panel.on_mount)
        self.slowdown = 1.0      # multiplies each panel's minimum interval while playing
        self._cpu_mark = None

    def on_mount(self) -> None:
        self.set_interval(1 / self.tick_hz, self._tick)

    # ----- drawing -----------------------------------------------------------------

    def panels(self):
        """Panels mounted on any screen of the stack (they register themselves on mount)."""
        stack = self.screen_stack
        for panel in list(self.panel_registry):
            if panel.is_attached and panel.screen in stack:
                yield panel

    def show_all(self, snap=None, force=False) -> None:
        snap = snap or self.state.latest
        self._shown = snap
        self.frames += 1
        panels = list(self.panels())
        if force or not snap.playing or not self.stagger:
            for panel in panels:
                panel.show(snap, force)
            return
        # While playing, at most one throttled panel per frame (longest-waiting first), and
        # on every other frame at most, so the status line keeps half the frames or more.
        # Textual repaints the bounding box of everything changed in a frame: a status
        # line (top row) and a panel (far below) together would repaint the whole screen.
        if self.frames % 2:
            for panel in sorted((p for p in panels if p.MIN_INTERVAL > 0), key=lambda p: p._drawn_at):
                if panel.show(snap):
                    return
        for panel in panels:
            if panel.MIN_INTERVAL == 0:
                panel.show(snap)

    def redraw(self) -> None:
        """After a change of view (layer, scale, layout): draw the latest snapshot again."""
        self.show_all(force=True)

    def _tick(self) -> None:
        state = self.state
        if state.worker_active:
            state.request_snapshot()
            self._budget()
        else:
            self._cpu_mark = None
        snap = state.latest
        if snap is not self._shown:
            self.show_all(snap)

    def _budget(self) -> None:
        """Keep drawing to about UI_BUDGET of a core: the GIL it holds is training time lost.

        Once a second, take the process's CPU time less the training thread's (what
        drawing, the event loop and the terminal writer cost) over the wall time, and
        scale the panels' intervals by it (the status line keeps the tick rate)."""
        state = self.state
        mark = (time.perf_counter(), time.process_time(), state.worker_cpu, state.worker_runs)
        if self._cpu_mark is None or self._cpu_mark[3] != mark[3]:
            self._cpu_mark = mark
            return
        wall = mark[0] - self._cpu_mark[0]
        if wall < 1.0:
            return
        share = ((mark[1] - self._cpu_mark[1]) - (mark[2] - self._cpu_mark[2])) / wall
        self._cpu_mark = mark
        if share > UI_BUDGET:
            self.slowdown = min(MAX_SLOWDOWN, self.slowdown * share / UI_BUDGET)
        elif share < UI_BUDGET / 2:
            self.slowdown = max(1.0, self.slowdown * 0.7)

    # ----- owning the trainer ------------------------------------------------------

    async def own(self, fn):
        """Run fn() with the trainer to itself (queued to the worker while playing).

        Exceptions from fn propagate. When paused, the panels redraw at once."""
        result = await asyncio.wrap_future(self.state.submit(fn))
        if not self.state.worker_active:
            self.state.refresh()
            self.show_all(force=True)
        return result

    async def pause(self) -> None:
        """Stop the worker and wait until it has let go of the trainer."""
        self.state.playing = False
        worker = self._worker
        if worker is not None and not worker.is_finished:
            await worker.wait()

    @work(thread=True, exclusive=True, group="train", exit_on_error=False)
    def _train(self) -> None:
        worker = get_current_worker()
        reason = self.state.play_loop(lambda: worker.is_cancelled)
        self.post_message(self.PlayStopped(reason))

    def on_netstep_app_play_stopped(self, message: PlayStopped) -> None:
        self.show_all(self.state.latest, force=True)
        state = self.state
        if message.reason == "halted" and state.trainer.halted is not None:
            self.notify(state.trainer.halted.message + " Press u to rewind.", title="Training stopped",
                        severity="error", timeout=12)
        elif message.reason == "finished":
            self.notify(f"Trained the run's {state.config.epochs} epochs. p plays on; c changes epochs.",
                        title="Done", timeout=6)

    def check_action(self, action: str, parameters):
        # Under a dialog the dashboard's keys belong to the dialog.
        if action in keys.DASHBOARD_ACTIONS and self.screen.is_modal:
            return False
        return True

    # ----- actions: training -------------------------------------------------------

    async def action_step(self) -> None:
        await self.pause()
        state = self.state
        was_open = state.stepper.in_cycle
        # In op mode the cycle goes through the stepper, so the trace log lists it; a cycle
        # left open by n is finished (that is the step). Both are Trainer.step()'s arithmetic.
        result = state.step_ops() if state.op_mode or was_open else state.step()
        if was_open and result is not None and result.ok:
            self.notify(f"finished the open cycle: step {state.trainer.step_count}", timeout=2)
        self._follow_op()
        state.refresh()
        self.show_all(force=True)
        if not result.ok:
            self.notify(result.nonfinite.message + " Press u to rewind.", title="Step refused", severity="error",
                        timeout=12)

    async def action_toggle_play(self) -> None:
        if self.state.playing or self.state.worker_active:
            await self.pause()
            return
        if self.state.leave_ops():
            self.notify("finished the open cycle, then play", timeout=2)
        self.state.playing = True
        self.state.refresh()
        self.show_all(force=True)
        self._worker = self._train()

    async def action_reset(self) -> None:
        await self._rebuild(lambda: self.state.reset(), "reset: same seed, fresh weights")

    async def action_new_seed(self) -> None:
        await self._rebuild(lambda: self.state.new_seed(), None)
        self.notify(f"seed {self.state.config.seed}", timeout=2)

    async def _rebuild(self, fn, message) -> bool:
        try:
            await self.own(fn)
        except engine.NetstepError as e:
            self.notify(str(e), title="Run not changed", severity="error", timeout=8)
            return False
        if message:
            self.notify(message, timeout=2)
        return True

    async def _set_lr(self, factor: float) -> None:
        value = self.state.trainer.lr * factor
        try:
            await self.own(lambda: self.state.set_lr(value))
        except (ValueError, engine.NetstepError) as e:
            self.notify(str(e), title="Learning rate not changed", severity="warning")
            return
        self.notify(f"learning rate {self.state.trainer.lr:g}", timeout=2)

    async def action_rewind(self) -> None:
        halted = self.state.trainer.halted is not None
        before = self.state.trainer.step_count
        step = await self.own(lambda: self.state.rewind())
        if halted:
            self.notify(f"rewound from step {before} to step {step}: lower the learning rate (-) or turn on "
                        f"clipping (c), then carry on", title="Rewound", timeout=8)
        else:
            self.notify(f"rewound to the checkpoint at step {step}", timeout=3)

    async def action_lr_up(self) -> None:
        await self._set_lr(2.0)

    async def action_lr_down(self) -> None:
        await self._set_lr(0.5)

    def action_cycle_speed(self) -> None:
        speed = self.state.cycle_speed()
        self.state.version += 1
        if not self.state.worker_active:
            self.state.refresh()
        self.notify("play speed: " + ("full" if speed is None else f"at most {speed} steps a second"), timeout=2)

    async def action_cycle(self, field: str) -> None:
        """Next value of a run field (dataset, hidden, init, optimizer); rebuilds the run."""
        state = self.state
        config = state.config
        options = CYCLES[field]
        current = config.hidden if field == "hidden" and isinstance(config.hidden, str) else getattr(config, field)
        start = options.index(current) if current in options else -1
        last_error = None
        for k in range(1, len(options) + 1):
            value = options[(start + k) % len(options)]
            changes = {field: value}
            if field == "dataset":
                changes["dataset_options"] = {}
            try:
                new = config.replace(**changes)
                if field == "dataset":
                    new = _fit_output(new)
                await self.own(lambda new=new: state.rebuild(new))
            except engine.NetstepError as e:  # such as digits without scikit-learn: try the next one
                last_error = e
                continue
            self.notify(f"{field}: {value}", timeout=2)
            return
        self.notify(str(last_error), title=f"{field} not changed", severity="error")

    # ----- actions: looking --------------------------------------------------------

    def action_layer(self, delta: int) -> None:
        L = self.state.latest.trainer.net.L
        self.view.layer = max(1, min(L, self.view.layer + delta))
        self.redraw()

    def action_toggle_log(self) -> None:
        self.view.log_scale = not self.view.log_scale
        self.redraw()

    def action_cycle_side(self) -> None:
        self.view.side = (self.view.side + 1) % 3
        screen = self.screen
        if isinstance(screen, (MainScreen, OpScreen)):
            screen.apply_layout(*screen.size)
            if screen.layout_mode != "compact":
                self.notify("every panel is already on screen; v picks one in the compact layout", timeout=3)
        self.call_after_refresh(self.redraw)

    async def action_gradcheck(self) -> None:
        await self.pause()
        t = self.state.trainer
        self.push_screen(GradcheckScreen(t.net.copy(), t.X, t.Y, t.loss, t.l2, full=self.view.full_precision))

    # ----- actions: operation mode (n, b), precision, editing a weight ---------------

    def _follow_op(self) -> None:
        """Show the op's layer in the network and weights panels."""
        op = self.state.stepper.current
        if self.state.op_mode and op is not None and op.layer:
            self.view.layer = op.layer

    async def _enter_ops(self) -> None:
        await self.pause()
        if not isinstance(self.screen, OpScreen):
            if self.screen.is_modal:
                return
            self.state.op_mode = True  # before the screen mounts: the snapshots below are op snapshots
            await self.push_screen(OpScreen())

    def leave_op_view(self) -> None:
        """Back on the dashboard: snapshots of the run as it stands, not as at an op."""
        state = self.state
        state.op_mode = False
        if not state.worker_active:
            state.refresh()
        self.call_after_refresh(self.redraw)

    def _show_op(self) -> None:
        self._follow_op()
        self.state.refresh()
        self.show_all(force=True)

    async def action_next_op(self) -> None:
        """One matrix operation forward (computing it at the newest)."""
        await self._enter_ops()
        state = self.state
        op = state.next_op()
        self._show_op()
        if op is None and state.trainer.halted is not None:
            self.notify(state.trainer.halted.message, title="Step refused", severity="error", timeout=12)

    async def action_prev_op(self) -> None:
        """One operation back (computes nothing)."""
        await self._enter_ops()
        state = self.state
        if state.stepper.current is None:
            self.notify("no operation yet: n computes the first", timeout=2)
        elif state.stepper.cursor == 0:
            self.notify("this is the oldest operation kept", timeout=2)
        state.prev_op()
        self._show_op()

    async def show_op(self, position: int) -> None:
        """Show the op at `position` in the cycle on show (the trace log's highlight)."""
        opv = self.state.latest.op_view
        if opv is None or not 0 <= position < len(opv.ops):
            return
        self.state.goto_op(opv.ops[position])
        self._show_op()

    async def open_op(self, position: int) -> None:
        """The op at `position` of the cycle on show, every number of it."""
        await self.show_op(position)
        opv = self.state.latest.op_view
        if opv is not None:
            self.push_screen(OpDetailScreen(opv.op, opv.position, self.view.full_precision))

    def action_toggle_precision(self) -> None:
        self.view.full_precision = not self.view.full_precision
        self.notify("numbers: " + ("exact (every digit of the float64)" if self.view.full_precision
                                   else "rounded to 4 significant digits"), timeout=2)
        self.redraw()

    async def action_edit_weight(self) -> None:
        """Type a value for the weight under the weights panel's cursor."""
        from tui.widgets.weights.weights_panel import WeightsPanel

        panels = [p for p in self.screen.query(WeightsPanel) if p.display]
        if not panels:
            self.notify("show the weights panel (v) and choose an entry with the arrows first", timeout=4)
            return
        await self.pause()
        panel = panels[0]
        name, index, what = panel.entry()
        value = float(self.state.trainer.net.params[name][index])

        async def apply(new):
            if new is None:
                return
            try:
                edit = await self.own(lambda: self.state.edit_weight(name, index, new))
            except ValueError as e:
                self.notify(str(e), title="Weight not changed", severity="error")
                return
            mb, ma = edit.metrics_before, edit.metrics_after
            self.notify(f"{edit.label} = {edit.new!r}: loss {mb['loss']:.6g} → {ma['loss']:.6g}, "
                        f"accuracy {mb['accuracy'] * 100:.1f}% → {ma['accuracy'] * 100:.1f}% (no training step)",
                        timeout=6)

        self.push_screen(EditWeightScreen(name, index, value, what), apply)

    # ----- actions: the run's config and files -------------------------------------

    def action_config(self) -> None:
        async def apply(config):
            await self.own(lambda: self.state.rebuild(config))

        def done(config):
            if config is not None:
                self.notify("run rebuilt: " + config.describe(), timeout=3)

        self.push_screen(ConfigForm(self.state.config, apply), done)

    def action_save(self) -> None:
        async def save(path):
            if not path:
                return
            try:
                saved = await self.own(lambda: engine.io.save(self.state.trainer, path))
            except (OSError, engine.NetstepError) as e:  # NetstepError: a name or place engine.safefile refuses
                self.notify(f"cannot save to {path}: {getattr(e, 'strerror', None) or e}", title="Not saved",
                            severity="error")
                return
            self.notify(f"saved to {saved}", timeout=4)

        self.push_screen(PathPrompt("Save the run (weights, config, history) to:", "netstep-run.npz", "Save"),
                         save)

    def action_load(self) -> None:
        async def load(path):
            if not path:
                return
            try:
                await self.own(lambda: self.state.load(path))
            except engine.NetstepError as e:
                self.notify(str(e), title="Not loaded", severity="error", timeout=10)
                return
            except OSError as e:
                self.notify(f"cannot read {path}: {e.strerror or e}", title="Not loaded", severity="error")
                return
            self.view.clamp_layer(self.state.trainer.net.L)
            self.notify(f"loaded {path}: step {self.state.trainer.step_count}", timeout=4)

        self.push_screen(PathPrompt("Load a run saved with ctrl+s from:", "netstep-run.npz", "Load"), load)

    def action_export(self) -> None:
        async def export(path):
            if not path:
                return
            try:
                rows = await self.own(lambda: list(self.state.trainer.history.csv_rows()))
                text = io.StringIO()
                csv.writer(text, lineterminator="\n").writerows(rows)
                data = text.getvalue().encode("utf-8")
                engine.io.atomic_write(path, lambda f: f.write(data))
            except (OSError, engine.NetstepError) as e:
                self.notify(f"cannot write {path}: {getattr(e, 'strerror', None) or e}", title="Not exported",
                            severity="error")
                return
            self.notify(f"history ({len(rows) - 1} rows) written to {os.path.abspath(path)}", timeout=4)

        self.push_screen(PathPrompt("Export the training history (CSV) to:", "netstep-history.csv", "Export"),
                         export)

    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())

    async def action_quit(self) -> None:
        await self.pause()
        self.exit(0)

    async def action_lessons(self) -> None:
        # The lessons are their own app (their keys drive a lesson's session): the
        # command that started this one opens it once this one has closed.
        await self.pause()
        self.exit(OPEN_LESSONS)


def _fit_output(config):
    """After a dataset change, pair the output and loss with its number of classes."""
    data = engine.config.load_data(config)
    if data.n_outputs > 1 and config.output == "sigmoid" and config.loss in ("bce", "mse"):
        return config.replace(output="softmax", loss="cross_entropy")
    if data.n_outputs == 1 and config.output == "softmax":
        return config.replace(output="sigmoid", loss="bce")
    return config
