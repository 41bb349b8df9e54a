"""The trainer app: a live, keyboard-first dashboard over one engine run.

The app holds a RunController (tui/run: the trainer, its worker and its latest
Snapshot) and a View (what the user chose to look at), and is the PanelHost of the
dashboard's screens. Panels are plain widgets that draw snapshots, so any screen can
place them. While playing, a thread worker owns the trainer and steps it at full
speed; a timer samples the latest snapshot TICK_HZ times a second and hands it to the
panels of every screen on the stack. Nothing here does the math: actions call the
engine (step, evaluate, build, gradcheck, save, load) and panels draw its numbers.
Actions by area: training and looking here, op mode in tui/actions/ops.py, the
config and files in tui/actions/files.py.
"""

from __future__ import annotations

import asyncio
import sys
import time

from textual import work
from textual.app import App
from textual.message import Message
from textual.worker import get_current_worker

from tui import keys
from tui.actions.beyond import BeyondActions
from tui.actions.files import FileActions
from tui.actions.ops import OpActions
from tui.actions.shape import ShapeActions
from tui.actions.start import StartActions
from tui.classroom.link import open_sent
from tui.lazy import lazy
from tui.notify import notify_once
from tui.palette import TrainerCommands
from tui.run.view import View
from tui.screens.building import BuildingScreen
from tui.screens.main import MainScreen

# Nothing above imports NumPy: the engine, the run controller and the panels' modules are
# imported once the dashboard's frame is on screen (NetstepApp(build=...) builds the run
# in a worker after the first frame; a run given built imports them before).
engine = lazy("engine")

# While playing, the UI thread's CPU is training time lost: it holds the GIL the training
# thread needs (2 cores, pure-Python drawing). So a frame (TICK_HZ a second) always shows
# the status line, and the other panels draw only from a CPU credit: UI_BUDGET of a core,
# counted on the UI thread's own clock (time.thread_time: drawing, the compositor, events).
UI_BUDGET = 0.12     # share of a core the whole UI thread may take while playing
CREDIT_CAP = 0.03    # seconds of UI CPU the credit may save up (no burst of panels after a quiet spell)
MAX_WAIT = 1.0       # while playing, every panel moves at least this often whatever the credit


def cycle_values(field: str) -> tuple:
    """The values d, a, i and o step through (the engine's own name tuples)."""
    from engine.init import INITS

    return {"dataset": engine.datasets.NAMES, "hidden": engine.activations.HIDDEN, "init": INITS,
            "optimizer": engine.optim.OPTIMIZERS}[field]


class NetstepApp(StartActions, ShapeActions, OpActions, FileActions, BeyondActions, App):
    """netstep: watch a neural network train, one cycle per keypress or at full speed."""

    TITLE = "netstep"
    CSS_PATH = ["app.tcss", "widgets/widgets.tcss", "screens/main.tcss"]
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

    def __init__(self, trainer=None, tick_hz: float | None = None, *, build=None, preset: str | None = None,
                 **kwargs):
        """trainer: a built run (engine.Trainer), on screen from the first frame. Or build:
        a function returning one, called in a worker thread once the dashboard's frame is
        painted (it says "building the run" and which preset's, until then; only help and
        quit work meanwhile). A UserError from build ends the app with return code 2 and
        the error in build_error."""
        if (trainer is None) == (build is None):
            raise TypeError("NetstepApp takes a trainer or build=, not both")
        if trainer is None:
            # Read by App.__init__: the first screen is get_default_screen()'s, the frame.
            # (Not a mode: a mode's first screen re-parses every stylesheet and restyles
            # every widget once more, which the first frame would wait for.)
            self.DEFAULT_MODE = "_default"
        super().__init__(**kwargs)
        self.state = None        # the RunController, once the run is built
        self.build_error = None  # what stopped building the run (a user error), shown after exit
        self._build = build
        self.preset = preset      # the preset being built (the frame's titles and status line)
        self.view = View()
        self.tick_hz = tick_hz
        self._worker = None
        self._shown = None
        self.frames = 0          # snapshots handed to the panels (the benchmark reads it)
        self.stagger = True      # while playing: the status line each frame, other panels from a credit
        self.panel_registry = set()  # every mounted Panel (see Panel.on_mount)
        self.slowdown = 1.0      # multiplies each panel's minimum interval while playing (classroom: busy)
        self.store = None        # the lessons' progress store, opened by the first L
        self.credit = 0.0        # seconds of UI-thread CPU the panels may still spend while playing
        self._cpu_mark = None    # (perf_counter, thread_time) of the UI thread at the last tick
        self._panel_frame = False  # the last frame drew a panel (not the status line)
        self._status_snap = None   # the snapshot the status line shows
        if trainer is not None:
            self._install(self._controller(trainer))   # tui/actions/start.py

    def on_mount(self) -> None:
        self.start_run()   # tui/actions/start.py: now, or once the frame is on screen

    # ----- the panels' host (tui.widgets.panel.PanelHost) ----------------------------

    def latest_snapshot(self):
        return self.state.latest if self.state is not None else None

    def register_panel(self, panel) -> None:
        self.panel_registry.add(panel)

    def unregister_panel(self, panel) -> None:
        self.panel_registry.discard(panel)

    # ----- drawing -----------------------------------------------------------------

    def panels(self):
        """Panels mounted on any screen of the stack (they register themselves on mount)."""
        stack = self.screen_stack
        for panel in list(self.panel_registry):
            if panel.is_attached and panel.screen in stack:
                yield panel

    def show_all(self, snap=None, force=False, panels_due=True) -> None:
        """Hand snap to every panel. While playing (unless force or stagger is off) a frame
        draws the status line, or, when panels_due (the UI thread has credit, see _tick), the
        one panel that has waited longest instead; a panel waiting MAX_WAIT draws regardless.
        One box per frame: Textual repaints the bounding box of everything changed in a
        frame, and the status line (top row) with a panel far below is the whole screen."""
        snap = snap or self.state.latest
        self._shown = snap
        self.frames += 1
        panels = list(self.panels())
        if force or not snap.playing or not self.stagger:
            for panel in panels:
                panel.show(snap, force)
            self._status_snap = snap
            return
        from tui.widgets.status.status_bar import StatusBar   # here: it imports NumPy (the first frame comes first)

        now = time.monotonic()
        # Never two panel frames in a row: the status line keeps half the frames or more.
        panel_frame, self._panel_frame = self._panel_frame, False
        # A panel draws the snapshot the status line shows (never a newer one: the step on the
        # status line is never behind a panel's), or this one if the status line has none yet.
        shown = self._status_snap
        psnap = shown if shown is not None and shown.playing and shown.run_id == snap.run_id else snap
        waiting = [] if panel_frame else sorted(
            (p for p in panels if not isinstance(p, StatusBar) and p._drawn != (psnap.run_id, psnap.version)),
            key=lambda p: p._drawn_at)
        for panel in waiting:
            if (panels_due or now - panel._drawn_at >= MAX_WAIT) and panel.show(psnap) and _repaints(panel):
                self._panel_frame = True
                return   # this frame's box; a panel whose draw changed nothing leaves it to the next
        for panel in panels:
            if isinstance(panel, StatusBar):
                panel.show(snap)
                self._status_snap = snap

    def redraw(self) -> None:
        """After a change of view (layer, scale, layout): draw the latest snapshot again."""
        self.show_all(force=True)

    def _tick(self) -> None:
        state = self.state
        due = True
        if state.worker_active:
            state.request_snapshot()
            due = self._credit()
        else:
            self._cpu_mark = None
        snap = state.latest
        if snap is not self._shown:
            self.show_all(snap, panels_due=due)

    def _credit(self) -> bool:
        """Add UI_BUDGET of the wall time since the last tick to the credit, less the UI
        thread's CPU since then (the last frame's drawing and compositing included).
        Whether a panel other than the status line may draw this frame."""
        mark = (time.perf_counter(), time.thread_time())
        last, self._cpu_mark = self._cpu_mark, mark
        if last is None:
            self.credit = 0.0
            return False
        earned = UI_BUDGET * (mark[0] - last[0]) - (mark[1] - last[1])
        self.credit = min(CREDIT_CAP, self.credit + earned)
        return self.credit > 0

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
        if self.state is None:   # the run is still being built
            return
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
        if self.state is None:   # building the run: the frame says so (BuildingScreen)
            return action in ("quit", "help", "command_palette")
        # Under a dialog, or in the lessons, the dashboard's keys belong to that screen.
        if action in keys.DASHBOARD_ACTIONS and not is_dashboard(self.screen):
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
            notify_once(self, "lr", str(e), title="Learning rate not changed", severity="warning")
            return
        notify_once(self, "lr", f"learning rate {self.state.trainer.lr:g}", timeout=2)

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
        if not self.state.worker_active:
            self.state.refresh()
        notify_once(self, "speed", "play speed: " + ("full" if speed is None else f"at most {speed} steps a second"),
                    timeout=2)

    async def action_cycle(self, field: str) -> None:
        """Next value of a run field (dataset, hidden, init, optimizer); rebuilds the run."""
        state = self.state
        config = state.config
        if field == "hidden" and not isinstance(config.hidden, str):
            return await self.cycle_layer_activation()  # per-layer activations: the chosen layer's
        options = cycle_values(field)
        current = config.hidden if field == "hidden" and isinstance(config.hidden, str) else getattr(config, field)
        start = options.index(current) if current in options else -1
        last_error = None
        for k in range(1, len(options) + 1):
            value = options[(start + k) % len(options)]
            changes = {field: value}
            if field == "dataset":
                changes["dataset_options"] = {}
            lr_note = ""
            if field == "optimizer":
                changes["lr"], lr_note = self._lr_for(config, value)
            try:
                new = config.replace(**changes)
                if field == "dataset":
                    new = _fit_output(new)
                await self.own(lambda new=new: state.rebuild(new))
            except engine.NetstepError as e:  # such as digits without scikit-learn: try the next one
                last_error = e
                continue
            self.notify(f"{field}: {value}{lr_note}", timeout=6 if lr_note else 2)
            return
        self.notify(str(last_error), title=f"{field} not changed", severity="error")

    def _lr_for(self, config, optimizer) -> tuple[float, str]:
        """The learning rate to switch optimizers with, and what to say about it.

        Adam and RMSProp take steps of about lr whatever the gradient, so a rate tuned for
        SGD (often 0.5 or 1) makes them jump: they start at their usual rate instead, and
        going back to SGD or momentum restores the rate the run had before."""
        usual = engine.optim.USUAL_LR.get(optimizer)
        if usual is not None and config.lr > usual:
            if config.optimizer not in engine.optim.USUAL_LR:
                self._sgd_lr = config.lr
            return usual, f" · lr {config.lr:g} → {usual:g}, {optimizer}'s usual rate (+ and - change it)"
        if usual is None and config.optimizer in engine.optim.USUAL_LR and getattr(self, "_sgd_lr", None):
            lr, self._sgd_lr = self._sgd_lr, None
            return lr, f" · lr back to {lr:g}, the rate the run had before {config.optimizer}"
        return config.lr, ""

    # ----- actions: looking --------------------------------------------------------

    def action_layer(self, delta: int) -> None:
        L = self.state.latest.facts.L
        self.view.layer = max(1, min(L, self.view.layer + delta))
        self.redraw()

    def action_toggle_log(self) -> None:
        self.view.log_scale = not self.view.log_scale
        self.redraw()

    def action_cycle_side(self) -> None:
        self.view.side = (self.view.side + 1) % 3
        screen = self.screen
        if is_dashboard(screen):
            screen.apply_layout(*screen.size)
            if screen.layout_mode != "compact":
                self.notify("every panel is already on screen; v picks one in the compact layout", timeout=3)
        self.call_after_refresh(self.redraw)

    async def action_gradcheck(self) -> None:
        from tui.screens.gradcheck import GradcheckScreen

        await self.pause()
        t = self.state.trainer
        self.push_screen(GradcheckScreen(t.net.copy(), t.X, t.Y, t.loss, t.l2, full=self.view.full_precision,
                                         l1=t.l1, dropout=t.dropout, seed=t.seed))

    async def action_open_sent(self) -> None:
        await open_sent(self)

    def action_help(self) -> None:
        from tui.screens.help import HelpScreen

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())

    async def action_quit(self) -> None:
        await self.pause()
        self.exit(0)

    async def action_lessons(self) -> None:
        """The lesson list over the dashboard: the run stays as it is (paused), and esc
        on the list comes back to it. Each lesson runs its own run controller."""
        from tui.lessons import load_all
        from tui.screens.lesson_list import LessonListScreen
        from tui.store import open_store

        await self.pause()
        if getattr(self, "store", None) is None:
            self.store, problem = open_store()
            if problem:
                self.notify(problem, title="Progress", severity="warning", timeout=10)
        lessons, errors = load_all()
        for message in errors:
            self.notify(message, title="Lesson skipped", severity="warning", timeout=10)
        self.push_screen(LessonListScreen(lessons, self.store, over_dashboard=True))

    def on_unmount(self) -> None:
        store = getattr(self, "store", None)
        if store is not None:
            store.close()


def _repaints(panel) -> bool:
    """Whether a draw left anything of the panel to repaint (Textual's own dirty marks)."""
    return any(getattr(w, "_dirty_regions", True) or getattr(w, "_layout_required", False)
               for w in panel.walk_children(with_self=True))


def is_dashboard(screen) -> bool:
    """The dashboard or the operation view (whose keys are the dashboard's).

    The operation view's module is imported when it is first opened (not at start, which
    the first frame waits for): until then no screen can be one."""
    if isinstance(screen, MainScreen):
        return not isinstance(screen, BuildingScreen)
    ops = sys.modules.get("tui.screens.ops")
    return ops is not None and isinstance(screen, ops.OpScreen)


def _fit_output(config):
    """After a dataset change, pair the output and loss with its number of classes."""
    data = engine.config.load_data(config)
    if data.n_outputs > 1 and config.output == "sigmoid" and config.loss in ("bce", "mse"):
        return config.replace(output="softmax", loss="cross_entropy")
    if data.n_outputs == 1 and config.output == "softmax":
        return config.replace(output="sigmoid", loss="bce")
    return config
