"""Snapshots (pytest-textual-snapshot) of op mode, the trace log, the gradient check view
and a weight edit, on the `seed` preset (fixed weights, paused, no timing on screen).

Update them after an intended change of look with `pytest --snapshot-update` and
look at the SVGs under tests/tui/__snapshots__/ before committing. The dialogs are
opened over the operation view, not the dashboard, so that these snapshots do not
change with the dashboard's loss plot and boundary.
"""

from __future__ import annotations

import engine
from tests.tui.app_helpers import wait_for
from tui.app import NetstepApp


def seed_app():
    return NetstepApp(engine.build(engine.presets["seed"]))


async def quiet(pilot):
    """Settle, with no toast on screen and no blinking caret."""
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()
    pilot.app.clear_notifications()
    for field in pilot.app.screen.query("Input"):
        field.cursor_blink = False
    await pilot.pause()


def test_op_mode_forward(snap_compare):
    async def run(pilot):
        await pilot.press("n", "n", "n")   # Z2 = A1 W2 + b2
        await quiet(pilot)

    assert snap_compare(seed_app(), terminal_size=(120, 40), run_before=run)


def test_op_mode_update_exact_compact(snap_compare):
    async def run(pilot):
        await pilot.press("f", *["n"] * 14)  # W1 <- W1 - lr dW1, every digit, at 80x24
        await quiet(pilot)

    assert snap_compare(seed_app(), terminal_size=(80, 24), run_before=run)


def test_trace_log_after_a_whole_cycle(snap_compare):
    async def run(pilot):
        await pilot.press(*["n"] * 17)
        pilot.app.screen.query_one("#trace-table").focus()
        await pilot.press("up", "up", "up", "up", "up", "up")  # dZ1 = dA1 * relu'(Z1)
        await quiet(pilot)

    assert snap_compare(seed_app(), terminal_size=(120, 40), run_before=run)


def test_gradcheck_view_every_entry(snap_compare):
    async def run(pilot):
        await pilot.press("n", "g")
        await wait_for(pilot, lambda: getattr(pilot.app.screen, "report", None) is not None, "the check")
        await quiet(pilot)

    assert snap_compare(seed_app(), terminal_size=(120, 40), run_before=run)


def test_weight_edit_refuses_a_bad_value(snap_compare):
    async def run(pilot):
        await pilot.press("n")
        pilot.app.screen.query_one("#weights").focus()
        await pilot.press("down", "right", "enter")   # W1[1,1]
        await pilot.pause()
        pilot.app.screen.query_one("#ew-input").value = "1e400"
        await pilot.press("enter")
        await quiet(pilot)

    assert snap_compare(seed_app(), terminal_size=(120, 40), run_before=run)


def test_weight_edit_shows_the_forward_pass_before_and_after(snap_compare):
    async def run(pilot):
        await pilot.press("n", "n")
        await pilot.press("w")   # W1[0,0]: the op is in layer 1
        await pilot.pause()
        pilot.app.screen.query_one("#ew-input").value = "2.5"
        await pilot.press("enter")
        await quiet(pilot)

    assert snap_compare(seed_app(), terminal_size=(120, 40), run_before=run)
