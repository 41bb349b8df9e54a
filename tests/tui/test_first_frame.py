"""The first frame comes before the engine (issue 14 item 5).

`netstep` and `netstep --preset NAME` paint the dashboard's frame (BuildingScreen:
the layout, the panels' borders and titles, "building the run") before the engine and
NumPy are imported; a worker builds the run and the dashboard replaces the frame. Any
other run flag is checked before any screen, as before. No timing here: what is
checked is the order (what was imported when the frame was written), and that keys
pressed before the run exists say so instead of failing.
"""

from __future__ import annotations

import json
import os
import sys
import threading

import pytest

import engine
from app_helpers import status, wait_for, wait_for_run
from test_app_pty import HANG_GUARD, Terminal
from tui.app import NetstepApp
from tui.commands import app_cmd
from tui.commands.common import UserError
from tui.screens.building import TITLES, BuildingScreen, titles_for
from tui.screens.main import panel_classes

# The real netstep (tui.cli.main), with the terminal driver's write wrapped: at the first
# write holding the frame, note which modules are loaded; at exit, again.
PROBE = r"""
import atexit, json, sys
from textual.drivers import linux_driver

out = {}
write = linux_driver.LinuxDriver.write

def probe(self, data):
    if "first" not in out and "building the run" in data:
        out["first"] = {m: m in sys.modules for m in ("engine", "numpy", "sklearn", "tui.run.controller")}
        out["first_titles"] = all(t in data for t in %(titles)r)
    return write(self, data)

def at_exit():
    out["exit"] = {m: m in sys.modules for m in ("engine", "numpy", "sklearn")}
    with open(%(path)r, "w") as f:
        json.dump(out, f)

linux_driver.LinuxDriver.write = probe
atexit.register(at_exit)
from tui.cli import main
sys.exit(main(%(argv)r))
"""


def _probe(tmp_path, argv):
    path = str(tmp_path / "probe.json")
    code = PROBE % {"path": path, "argv": argv, "titles": list(titles_for(argv[1]).values())}
    return [sys.executable, "-c", code], path


@pytest.mark.parametrize("preset", ["default", "digits"])
def test_the_frame_is_painted_before_the_engine_is_imported(tmp_path, preset):
    argv, path = _probe(tmp_path, ["--preset", preset])
    term = Terminal(argv)
    try:
        term.expect(r"building the run")
        term.expect(r"PAUSED\s+step 0")       # then the run is built and the dashboard shows it
        term.send(b" ")
        term.expect(r"step 1\b")
        term.send(b"q")
        assert term.wait() == 0
    finally:
        term.close()
    with open(path) as f:
        out = json.load(f)
    assert out["first"] == {"engine": False, "numpy": False, "sklearn": False, "tui.run.controller": False}
    assert out["first_titles"]                 # every panel's title was in that first frame
    assert out["exit"] == {"engine": True, "numpy": True, "sklearn": False}   # digits: no scikit-learn


def test_a_bad_preset_or_a_flag_is_still_checked_before_any_screen(tmp_path):
    import subprocess

    for extra in (["--preset", "nope"], ["--preset", "digits", "--lr", "-1"]):
        result = subprocess.run([sys.executable, "-m", "tui", *extra], capture_output=True, text=True,
                                timeout=HANG_GUARD)
        assert result.returncode == 2, extra
        assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
        assert "\x1b[" not in result.stdout   # no screen was drawn


def test_only_a_preset_alone_is_built_after_the_frame():
    assert app_cmd.quick_preset([]) == "default"
    assert app_cmd.quick_preset(["--preset", "digits"]) == "digits"
    assert app_cmd.quick_preset(["--preset=moons"]) == "moons"
    assert app_cmd.quick_preset(["--preset", "nope"]) is None          # checked first: exit 2
    assert app_cmd.quick_preset(["--preset", "digits", "--lr", "1"]) is None
    assert app_cmd.quick_preset(["--lr", "1"]) is None
    assert app_cmd.quick_preset(["--help"]) is None
    assert app_cmd.quick_preset(["train"]) is None


def test_the_frame_names_what_the_engine_has():
    assert app_cmd.PRESETS == tuple(engine.presets)
    assert {name: cls.TITLE for name, cls in panel_classes().items()} == TITLES


@pytest.mark.parametrize("preset", app_cmd.PRESETS)
async def test_each_presets_frame_has_the_titles_its_dashboard_shows(preset):
    app = NetstepApp(engine.build(engine.presets[preset]))
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: app.screen.query("#status-line") and "PAUSED" in status(app), "the dashboard")
        await pilot.pause()
        for name, title in titles_for(preset).items():
            shown = app.screen.query_one(f"#{name}").border_title
            # The real title adds what the run shows (the network's shape, the layer...).
            assert shown == title or shown.startswith(title + " ") or shown.startswith(title + " ·"), (name, shown)


def _gated_app(gate: threading.Event, **changes):
    def build():
        gate.wait(HANG_GUARD)
        config = engine.presets["default"]
        return engine.build(config.replace(**changes) if changes else config)

    return NetstepApp(build=build, preset="default")


async def test_keys_before_the_run_say_so_then_work():
    gate = threading.Event()
    app = _gated_app(gate)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, BuildingScreen) and app.state is None
        frames = {w.id: w for w in app.screen.query("PanelFrame")}
        assert {k: frames[k].border_title for k in TITLES} == TITLES
        assert app.screen.layout_mode == "full"       # MainScreen's layout at this size
        await pilot.press("space", "p", "plus")        # nothing to step yet: said, not failed
        await pilot.pause()
        notes = [n.message for n in app._notifications]
        assert any("building the run" in m for m in notes)
        assert app.state is None
        gate.set()
        await wait_for_run(pilot, app)
        assert app.state.trainer.step_count == 0        # the keys pressed while building did nothing
        await pilot.press("space")
        await wait_for(pilot, lambda: app.state.trainer.step_count == 1, "one step")
        assert app.screen_stack == [app.screen]


async def test_the_dashboards_footer_has_its_keys_when_the_app_starts_blurred():
    """A browser session (Textual's web driver) starts without focus, before the run is
    built: Textual's Footer composes its keys only with focus, so the dashboard's footer
    stayed empty (the browser test caught it)."""
    from textual import events

    gate = threading.Event()
    app = _gated_app(gate)
    async with app.run_test(size=(120, 40)) as pilot:
        app.post_message(events.AppBlur())
        await pilot.pause()
        assert not app.app_focus
        gate.set()
        await wait_for_run(pilot, app)
        footer = app.screen.query_one("FitFooter")
        await wait_for(pilot, lambda: len(footer.children) > 0, "the footer's keys")
        assert "space" in {getattr(k, "key", None) for k in footer.children}


async def test_help_open_while_the_run_is_built():
    gate = threading.Event()
    app = _gated_app(gate)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        frame = app.screen
        await pilot.press("question_mark")
        await wait_for(pilot, lambda: app.screen is not frame, "the help screen")
        gate.set()
        await wait_for_run(pilot, app)
        assert not frame.query("PanelFrame")           # the frame's widgets are gone
        await pilot.press("space")
        await wait_for(pilot, lambda: app.state.trainer.step_count == 1, "one step")


async def test_quit_while_building():
    gate = threading.Event()
    app = _gated_app(gate)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, BuildingScreen)
        assert app.screen.layout_mode == "compact"
        await pilot.press("q")
        await pilot.pause()
    gate.set()
    assert app.return_code == 0


async def test_a_run_that_cannot_be_built_ends_the_app_with_its_one_line():
    def build():
        raise UserError("invalid run: the digits data cannot be read")

    app = NetstepApp(build=build)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: app.build_error is not None, "the build error")
    assert app.return_code == 2
    assert "digits" in str(app.build_error)


def test_a_trainer_or_a_build_not_both():
    with pytest.raises(TypeError):
        NetstepApp()
    with pytest.raises(TypeError):
        NetstepApp(engine.build(engine.presets["default"]), build=lambda: None)


@pytest.mark.parametrize("preset", ["default", "digits"])
def test_the_dashboard_drawn_over_the_frame_equals_a_full_repaint(preset):
    """Nothing of the frame stays on the terminal once the dashboard replaces it (after a
    step, as tests/tui/test_partial_repaint.py compares: the run's first draws have settled)."""
    from test_partial_repaint import Screen, _command as netstep

    term = Screen(netstep() + ["--preset", preset], 120, 40)
    try:
        term.settle("PAUSED")
        assert "building the run" not in term.text()
        os.write(term.master, b" ")
        term.settle("step 1 ")
        shown, shown_colours = term.text(), term.colours()
        term.resize(100, 40)
        term.settle()
        term.resize(120, 40)
        term.settle(lambda: (term.text(), term.colours()) == (shown, shown_colours))
        assert term.text() == shown and term.colours() == shown_colours
    finally:
        term.close()
