"""Snapshots of the compare screen and the layer-space view at 120x40 (paused, fixed seeds).

Update after an intended visual change with: pytest tests/tui/test_beyond_snapshots.py --snapshot-update
"""

from __future__ import annotations

from tests.tui.app_helpers import make_app, wait_for
from tui.screens.compare import CompareScreen
from tui.screens.layer_space import LayerSpaceScreen


def test_compare_optimizers_on_circles_120x40(snap_compare):
    async def run(pilot):
        await pilot.press("C")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, CompareScreen), "the compare screen")
        for _ in range(40):
            await pilot.press("space")
        await pilot.pause()

    assert snap_compare(make_app("circles"), terminal_size=(120, 40), run_before=run)


def test_layer_space_on_circles_120x40(snap_compare):
    async def run(pilot):
        for _ in range(30):
            await pilot.press("space")
        await pilot.press("x")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, LayerSpaceScreen)
                       and pilot.app.screen._key is not None
                       and pilot.app.screen._key[1] == pilot.app.state.latest.version, "the projection")
        await pilot.pause()

    assert snap_compare(make_app("circles", sizes=[2, 8, 2, 1]), terminal_size=(120, 40), run_before=run)
