"""The dashboard's first frame, painted before the run exists.

`netstep` and `netstep --preset NAME` open the app on this screen: the dashboard's
layout (MainScreen's, with its stylesheet and its layout choice), each panel's border
and title, and "building the run" where the numbers will be. It imports neither the
engine nor NumPy, so it is on screen ~0.3 s before either is loaded; the app builds
the run in a worker meanwhile and then switches to the real dashboard (tui/app.py).
Keys pressed before then say so (only help and quit work).
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Container

from tui.notify import notify_once
from tui.screens.main import MainScreen
from tui.widgets.footer import FitFooter as Footer
from tui.widgets.panel_frame import PanelFrame
from tui.widgets.size_notice import SizeNotice

# The real panels' TITLEs (tests/tui/test_first_frame.py checks they agree): their
# modules import NumPy, which this screen must not wait for.
TITLES = {"network": "Network", "loss": "Loss", "weights": "Weights & gradients", "diagnostics": "Diagnostics",
          "predictions": "Decision boundary"}
# Where a preset's panel draws under another title from its first snapshot: data with
# no plane to draw (digits' 64 inputs) shows its predictions. The test builds every
# preset and compares.
PRESET_TITLES = {"digits": {"predictions": "Predictions"}}
BUILDING = "building the run…"


def titles_for(preset: str | None) -> dict:
    """Each panel's title in the frame of this preset's run."""
    return {**TITLES, **PRESET_TITLES.get(preset, {})}


class BuildingScreen(MainScreen):
    """MainScreen's frame with no run in it yet."""

    AUTO_FOCUS = None

    def compose(self) -> ComposeResult:
        preset = getattr(self.app, "preset", None)
        yield PanelFrame("", f" netstep · {BUILDING}" + (f" (preset {preset})" if preset else ""), id="status")
        with Container(id="panels"):
            for name, title in titles_for(preset).items():
                yield PanelFrame(title, BUILDING, id=name)
        yield SizeNotice(id="too-small")
        yield Footer()

    def on_key(self, event) -> None:
        if event.key not in ("q", "question_mark", "ctrl+q", "ctrl+p", "ctrl+c"):
            notify_once(self.app, "building", "building the run: keys work once the panels fill in", timeout=2)
