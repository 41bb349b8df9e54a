"""Helpers for the trainer app's Pilot tests: build the app, read what a widget shows."""

from __future__ import annotations

import io
import time

from rich.console import Console

import engine
from tui.app import NetstepApp

HANG_GUARD = 120.0  # seconds: only so that a broken build fails instead of hanging; never a speed check


def make_app(preset="default", **changes) -> NetstepApp:
    config = engine.presets[preset]
    if changes:
        config = config.replace(**changes)
    return NetstepApp(engine.build(config))


def text_of(widget) -> str:
    """The plain text a widget shows on screen, line by line (cropped as the screen crops it)."""
    width, height = widget.size
    if width and height:
        return "\n".join(widget.render_line(y).text.rstrip() for y in range(height))
    content = getattr(widget, "content", "")  # not laid out (hidden): its content as text
    if isinstance(content, str):
        from rich.text import Text
        content = Text.from_markup(content)
    console = Console(width=200, file=io.StringIO(), record=True, color_system=None, legacy_windows=False)
    console.print(content)
    return console.export_text()


async def wait_for(pilot, condition, what="condition"):
    """Let the app run until condition() holds."""
    deadline = time.monotonic() + HANG_GUARD
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} never held")
        await pilot.pause(0.02)


async def wait_for_run(pilot, app):
    """An app made with build= (the run built after its first frame): until the dashboard
    shows the run. make_app's apps have theirs from the start and need no wait."""
    from tui.screens.building import BuildingScreen
    from tui.screens.main import MainScreen

    def shown():
        screen = app.screen
        return (app.state is not None and isinstance(screen, MainScreen) and not isinstance(screen, BuildingScreen)
                and bool(screen.query("#status-line")) and "PAUSED" in status(app))

    await wait_for(pilot, shown, "the dashboard with the run")


def status(app) -> str:
    return text_of(app.screen.query_one("#status-line"))
