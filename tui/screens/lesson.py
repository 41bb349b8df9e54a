"""One lesson: its text beside the panels the current step needs.

Right and left arrows move between steps; the learner's own keys (space, p, n, b, g,
r, + and -, and t for the play speed) are the lesson subset of the app's key table
(tui/keys.py) and drive the lesson's LessonSession, exactly as `netstep lessons
--check` does headless. A step whose check does not hold yet shows what the engine
sees and a hint; the right arrow waits for it. Progress (the step you are on, the
checks you have met) is saved as you go.

The session's run controller (tui/run) is the dashboard's: while playing, a thread
worker runs its play loop, which looks at the check at fixed steps and pauses by
itself once training has done what the step asks; this screen is the PanelHost of
its panels and samples the controller's snapshots TICK_HZ times a second.
"""

from __future__ import annotations

import math
import time

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Container, Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import Markdown, Static
from textual.worker import get_current_worker

from tui import keys
from tui.lessons.live import lesson_snapshot
from tui.lessons.loader import panels_named
from tui.widgets.footer import FitFooter as Footer
from tui.lessons.session import LessonSession, SessionError
from tui.lessons.widgets.check_panel import CheckPanel
from tui.lessons.widgets.compare_panel import ComparePanel
from tui.lessons.widgets.gradcheck_panel import GradcheckPanel
from tui.lessons.widgets.outputs_panel import OutputsPanel
from tui.lessons.widgets.trace_panel import TracePanel
from tui.notify import notify_once
from tui.run import TICK_HZ, LessonSnapshot, View
from tui.widgets.boundary.predictions_panel import PredictionsPanel
from tui.widgets.diagnostics.diagnostics_panel import DiagnosticsPanel
from tui.widgets.layerspace.space_panel import LayerSpacePanel
from tui.widgets.loss.loss_panel import LossPanel
from tui.widgets.network.network_panel import NetworkPanel
from tui.widgets.status.status_bar import StatusBar
from tui.widgets.weights.weights_panel import WeightsPanel

MAX_PANELS = 3
SHORT = 30              # rows: below this a step shows only the panels its text names (if any)
TEXT_INTERVAL = 0.5     # seconds between redraws of a step's live numbers while playing
# Lesson panel name -> the widget that draws it ("status" is the status line, always shown).
PANEL_TYPES = {
    "network": NetworkPanel, "loss": LossPanel, "heatmaps": WeightsPanel, "boundary": PredictionsPanel,
    "diagnostics": DiagnosticsPanel, "outputs": OutputsPanel, "trace": TracePanel,
    "gradcheck": GradcheckPanel, "compare": ComparePanel,
    "space": LayerSpacePanel,
}
# The table's actions this screen runs, and the session key each one presses.
SESSION_KEYS = {"step": "space", "next_op": "n", "prev_op": "b", "gradcheck": "g", "lr_up": "+", "lr_down": "-",
                "cycle_speed": "t"}


class LessonScreen(Screen):
    """A lesson, one step at a time."""

    CSS_PATH = "lesson.tcss"
    # Moving between steps and leaving are the lesson's own; every other key is the
    # app's table's (space wins over the scrolling text, as on the dashboard).
    BINDINGS = [
        Binding("right", "next_step", "next step", key_display="→", priority=True),
        Binding("left", "prev_step", "back", key_display="←", priority=True),
    ] + keys.bindings(keys.LESSON_ACTIONS, priority=("step",), first=keys.LESSON_STEP_ACTIONS,
                      hidden=("layer(-1)", "layer(1)")) + [
        Binding("escape", "leave", "lessons"),
    ]

    def __init__(self, lesson, store, start_index=None, **kwargs):
        super().__init__(**kwargs)
        self.lesson = lesson
        self.store = store
        self.session = LessonSession(lesson)
        self.session.headless = False
        self.view = View()        # the PanelHost's: layer and scale, for this lesson's panels
        self.slowdown = 1.0
        self._panels = set()
        progress = store.get(lesson.id)
        self.reached = progress.reached
        self.recorded = set(progress.checks)
        if start_index is None:
            start_index = progress.step   # where the learner left off (a done lesson opens at its end)
        self.start_index = max(0, min(int(start_index), len(lesson.steps) - 1))
        self.busy = True
        self._shown = None
        self._text = None
        self._text_at = -math.inf
        self._worker = None
        self._panel_names = None

    # ----- layout ------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield StatusBar(id="status")
        with Horizontal(id="lesson-body"):
            with Vertical(id="lesson-side"):
                yield Static(id="step-header")
                with VerticalScroll(id="lesson-scroll"):
                    yield Markdown(id="lesson-text")
                yield CheckPanel(self.lesson, id="check")
            with Container(id="lesson-panels"):
                for name, cls in PANEL_TYPES.items():
                    yield cls(id=f"panel-{name}", classes="lesson-panel")
        yield Footer()

    # ----- the panels' host (tui.widgets.panel.PanelHost) ------------------------

    def latest_snapshot(self):
        c = self.session.controller
        snap = c.latest if c is not None else None
        return snap if isinstance(snap, LessonSnapshot) else None   # one taken before this screen's extras: not yet

    def register_panel(self, panel) -> None:
        self._panels.add(panel)

    def unregister_panel(self, panel) -> None:
        self._panels.discard(panel)

    @property
    def controller(self):
        return self.session.controller

    @property
    def playing(self) -> bool:
        c = self.session.controller
        return c is not None and (c.playing or c.worker_active)

    def on_mount(self) -> None:
        self.query_one("#lesson-scroll").can_focus = False
        for panel in self.query(".lesson-panel"):
            panel.display = False
        self.query_one("#step-header", Static).update(f"[b]{self.lesson.title}[/b]\npreparing…")
        self.set_interval(1 / TICK_HZ, self._tick)
        self._go(self.start_index)

    # ----- entering steps ----------------------------------------------------------

    def _go(self, index: int) -> None:
        """Enter step `index` from scratch; keys wait (busy) until it is ready."""
        self.busy = True
        self._enter(index)

    @work(thread=True, exclusive=True, group="lesson-enter", exit_on_error=False)
    def _enter(self, index: int) -> None:
        """Rebuild step `index` (replaying the steps before it) off the UI thread."""
        try:
            self.session.start(index)
            c = self.session.controller
            c.extras = lambda fields: lesson_snapshot(self.session, fields)
            error = None
        except Exception as e:  # a step that cannot be built is reported, never a crash
            error = str(e) if isinstance(e, SessionError) else f"{type(e).__name__}: {e}"
        self.app.call_from_thread(self._entered, error)

    def _entered(self, error=None) -> None:
        self.busy = False
        if error:
            self.notify(error, title="This step cannot run", severity="error", timeout=10)
        self._show_step()

    def _show_step(self) -> None:
        s = self.session
        step = s.step
        n = len(self.lesson.steps)
        self.reached = max(self.reached, s.index)
        self._save()
        dots = "".join("●" if i < s.index else "◉" if i == s.index else "○" for i in range(n))
        self.query_one("#step-header", Static).update(
            f"[b]{self.lesson.title}[/b]\n[dim]step {s.index + 1} of {n}[/dim]  {dots}\n[b]{step.title}[/b]")
        self._text = None   # the step's text is drawn from its snapshot, placeholders filled
        self._text_at = -math.inf
        self.query_one("#lesson-scroll").scroll_home(animate=False)
        names = self._panels_for(step)
        if names != self._panel_names:
            self._panel_names = names
            container = self.query_one("#lesson-panels")
            for panel in self.query(".lesson-panel"):
                panel.display = False
            previous = None
            for name in names:
                panel = self.query_one(f"#panel-{name}")
                panel.display = True
                if previous is not None:
                    container.move_child(panel, after=previous)
                else:
                    container.move_child(panel, before=0)
                previous = panel
            self.set_class(len(names) == 1, "-one-panel")
            named = set(panels_named(step.text))
            for panel in self.query(".lesson-panel"):
                # A panel the text points at gets the larger share: its rows must be in sight.
                panel.set_class(len(names) > 1 and panel.id.removeprefix("panel-") in named, "-named")
        self._refresh()

    def _panels_for(self, step) -> list[str]:
        """The panels to show: the step's (at most MAX_PANELS). On a short terminal (80x24)
        only the ones its text points at, when it points at any, so they have the room."""
        names = [p for p in step.panels if p in PANEL_TYPES][:MAX_PANELS] or ["loss"]
        named = [p for p in names if p in panels_named(step.text)]
        if named and self.size.height < SHORT and len(names) > len(named):
            return named
        return names

    def on_resize(self) -> None:
        if not self.busy and self._panel_names is not None and self._panels_for(self.session.step) != self._panel_names:
            self._show_step()

    # ----- drawing -----------------------------------------------------------------

    def _refresh(self) -> None:
        """After a key (paused): take a snapshot (it holds the verdicts), draw, save progress."""
        s = self.session
        with s.lock:
            snap = s.controller.refresh()
        self._draw(snap, force=True)
        self._note_met(snap.verdicts)

    def _draw(self, snap, force=False) -> None:
        self._shown = snap
        # The numbers a step's text states come from the run ({{loss}} ...): redrawn when they
        # change, at most twice a second while playing (the text is Markdown: costly to lay out).
        now = time.monotonic()
        if snap.text != self._text and (force or not snap.playing or now - self._text_at >= TEXT_INTERVAL):
            self._text, self._text_at = snap.text, now
            self.query_one("#lesson-text", Markdown).update(snap.text)
        for panel in list(self._panels):
            panel.show(snap, force)

    def _tick(self) -> None:
        c = self.session.controller
        if c is None or c.extras is None:
            return
        if c.worker_active:
            c.request_snapshot()
        snap = c.latest
        if snap is not self._shown and isinstance(snap, LessonSnapshot):
            self._draw(snap)

    def _note_met(self, verdicts) -> None:
        s = self.session
        if all(v.ok for _, v in verdicts) and s.index not in self.recorded:
            self.recorded.add(s.index)
            self._save(met=[s.index], done=s.is_last)
            if s.step.check:
                self.notify("Check met: press → for the next step." if not s.is_last else "Lesson complete!",
                            timeout=3)

    def _save(self, met=None, done=False) -> None:
        try:
            self.store.record(self.lesson.id, self.session.index, met=met, done=done)
        except Exception as e:  # the lesson goes on even if the disk does not
            self.notify(f"progress not saved: {e}", severity="warning", timeout=6)

    # ----- keys: the app's table's actions, on this lesson's run ----------------------

    async def _pause(self) -> None:
        c = self.session.controller
        if c is not None:
            c.playing = False
        worker = self._worker
        if worker is not None and not worker.is_finished:
            await worker.wait()

    async def _press(self, key: str) -> None:
        if self.busy:
            return
        if key == "t":   # the speed: not a reason to pause (the play loop paces itself afresh)
            note = self.session.press(key)
            notify_once(self.app, "speed", note, timeout=2)
            if not self.playing:
                self._refresh()
            return
        await self._pause()
        try:
            note = self.session.press(key)
        except SessionError as e:
            self.notify(str(e), severity="error", timeout=8)
            return
        op = self.session.stepper.current if key in ("n", "b") else None
        if op is not None and op.layer:
            self.view.layer = op.layer   # the heatmaps follow the operation's layer
        if key in ("+", "-") and note:
            notify_once(self.app, "lr", note, timeout=3)
        elif key == "g" and note:
            self.notify(note, timeout=3)
        elif key == "space" and self.session.trainer.halted is not None:
            self.notify(self.session.trainer.halted.message, title="Step refused", severity="error", timeout=10)
        self._refresh()

    async def action_step(self) -> None:
        await self._press("space")

    async def action_next_op(self) -> None:
        await self._press("n")

    async def action_prev_op(self) -> None:
        await self._press("b")

    async def action_gradcheck(self) -> None:
        await self._press("g")

    async def action_lr_up(self) -> None:
        await self._press("+")

    async def action_lr_down(self) -> None:
        await self._press("-")

    async def action_cycle_speed(self) -> None:
        await self._press("t")

    async def action_toggle_play(self) -> None:
        if self.busy:
            return
        if self.playing:
            await self._pause()
            return
        self.session.controller.playing = True
        self._refresh()
        self._worker = self._play()

    @work(thread=True, exclusive=True, group="lesson-play", exit_on_error=False)
    def _play(self) -> None:
        worker = get_current_worker()
        reason = self.session.play(lambda: worker.is_cancelled)
        self.app.call_from_thread(self._play_stopped, reason)

    def _play_stopped(self, reason: str) -> None:
        s = self.session
        if reason == "halted" and s.trainer.halted is not None:
            self.notify(s.trainer.halted.message, title="Training stopped", severity="error", timeout=12)
        elif reason == "budget":
            self.notify(f"This step's {s.step.max_steps} training steps are used up. r starts the step over.",
                        timeout=6)
        self._refresh()

    async def action_next_step(self) -> None:
        if self.busy:
            return
        await self._pause()
        s = self.session
        if s.is_last:
            self._refresh()
            if s.met():
                self.notify("This is the last step. Press escape for the lesson list.", timeout=4)
            else:
                self._explain_unmet()
            return
        try:
            advanced = s.advance()
        except SessionError as e:   # the next step does not fit this run: say so, rebuild this one
            self.notify(str(e), title="The next step cannot run", severity="error", timeout=10)
            self._go(s.index)
            return
        if advanced:
            self._show_step()
        elif s.index + 1 <= self.reached:
            self._go(s.index + 1)   # a step you have already reached: rebuilt as it starts
        else:
            self._explain_unmet()

    def _explain_unmet(self) -> None:
        s = self.session
        unmet = [v.detail for _, v in s.verdicts() if not v.ok]
        hint = s.step.hint or "Press the keys shown beside the text."
        self.notify(f"Not yet: {'; '.join(unmet)}. {hint}", title="Check not met", severity="warning", timeout=6)
        self._refresh()

    async def action_prev_step(self) -> None:
        if self.busy or self.session.index == 0:
            return
        await self._pause()
        self._go(self.session.index - 1)

    async def action_reset(self) -> None:
        if self.busy:
            return
        await self._pause()
        self.notify("This step starts over.", timeout=2)
        self._go(self.session.index)

    def action_layer(self, delta: int) -> None:
        if self.busy:
            return
        self.view.layer = max(1, min(self.session.trainer.net.L, self.view.layer + delta))
        self._refresh()

    def action_toggle_log(self) -> None:
        if self.busy:
            return
        self.view.log_scale = not self.view.log_scale
        self._refresh()

    async def action_leave(self) -> None:
        await self._pause()
        if len(self.app.screen_stack) > 2:
            self.app.pop_screen()
        else:
            self.app.exit(0)

    async def action_quit(self) -> None:
        await self._pause()
        self.app.exit(0)

    def action_help(self) -> None:
        from tui.screens.help import HelpScreen

        extra = (("Lesson", "→ ←", "Next step (once its check holds) and the step before"),
                 ("Lesson", "esc", "Back to the lesson list"))
        self.app.push_screen(HelpScreen(keys.LESSON_ACTIONS, extra))

    @on(Markdown.LinkClicked)
    def _no_links(self, event) -> None:
        event.prevent_default()
