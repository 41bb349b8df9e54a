"""Starting the trainer app: on a run given built, or on one built after the first frame.

NetstepApp(build=...) shows the dashboard's frame (tui/screens/building.py) as its
first screen, then builds in a worker: the engine and NumPy import there (~0.35 s),
with the run, its first snapshot and the panels' modules, while the UI thread is
idle. The dashboard then replaces the frame. Until then `state` is None and the app's
check_action lets only help, quit and the palette through.
"""

from __future__ import annotations

from textual import work

from tui.classroom.link import attach as attach_classroom
from tui.screens.building import BuildingScreen
from tui.screens.main import panel_classes


class StartActions:
    """The app's start, mixed into NetstepApp (which sets state, tick_hz and _build)."""

    @staticmethod
    def _controller(trainer):
        from tui.run import RunController

        return RunController(trainer)

    def _install(self, state) -> None:
        from tui.run import TICK_HZ

        self.state = state
        self.tick_hz = self.tick_hz or TICK_HZ

    def start_run(self) -> None:
        """On mount: draw the run now, or build it once the frame is on screen."""
        if self.state is None:
            # After the first frame is written: the worker then has the GIL to itself.
            self.call_after_refresh(self._build_run)
            return
        self._start()

    def _start(self) -> None:
        self.set_interval(1 / self.tick_hz, self._tick)
        attach_classroom(self)   # served: publish where we are, show what the teacher sends

    @work(thread=True, exclusive=True, group="build")
    def _build_run(self) -> None:
        """Import the engine, build the run and its first snapshot, off the UI thread."""
        from tui.commands.common import UserError

        try:
            state = self._controller(self._build())
        except UserError as e:
            self.call_from_thread(self._build_failed, e)
            return
        panel_classes()   # the dashboard's panels' modules: imported here, not in the UI thread
        self.call_from_thread(self._built, state)

    def get_default_screen(self):
        return BuildingScreen()   # only while building: otherwise the first screen is MODES'

    def _built(self, state) -> None:
        self._install(state)
        frame = self.screen_stack[0]    # help or the palette may be open over it: they go too
        self.switch_mode("dashboard")   # MainScreen: its panels draw the run as they mount
        self._start()
        # The frame stays as the "_default" mode's screen (Textual cannot remove that mode),
        # never shown again: drop its widgets.
        frame.query("*").remove()

    def _build_failed(self, error) -> None:
        self.build_error = error
        self.exit(return_code=2)
