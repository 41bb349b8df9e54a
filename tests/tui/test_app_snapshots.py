"""Snapshots of the dashboard, paused on a fixed seed (nothing on screen depends on time).

Update after an intended visual change with: pytest tests/tui/test_app_snapshots.py --snapshot-update
"""

from __future__ import annotations

from tests.tui.app_helpers import make_app

STEPS = ["space"] * 5


def test_dashboard_120x40(snap_compare):
    assert snap_compare(make_app(), terminal_size=(120, 40), press=STEPS)


def test_dashboard_80x24(snap_compare):
    assert snap_compare(make_app(), terminal_size=(80, 24), press=STEPS)


def test_dashboard_spiral_120x40(snap_compare):
    """Three classes: the boundary in class colours and a confusion matrix; layer 2 shown."""
    assert snap_compare(make_app("spiral"), terminal_size=(120, 40), press=STEPS + ["right_square_bracket"])


def test_too_small_notice(snap_compare):
    assert snap_compare(make_app(), terminal_size=(70, 20))


def test_dashboard_unit_maps_moons_120x40(snap_compare):
    """Issue 16: the network as unit maps (two hidden layers, "+N"), unit A1[:, 1] chosen and shown
    large in the boundary panel, test points hollow."""
    assert snap_compare(make_app("moons"), terminal_size=(120, 40),
                        run_before=_quietly(*STEPS, "greater_than_sign", "greater_than_sign", "T"))


def test_data_controls_80x24(snap_compare):
    """Issue 16: D over the compact dashboard on circles, the noise raised once."""
    assert snap_compare(make_app("circles"), terminal_size=(80, 24), run_before=_quietly("D", "N"))


def _quietly(*keys):
    """Press keys, then clear the toasts they raised (they time out: the picture must not)."""
    async def run_before(pilot):
        await pilot.press(*keys)
        await pilot.pause()
        pilot.app.clear_notifications()
        await pilot.pause()
    return run_before
