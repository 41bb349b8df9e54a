"""tui/run/plane.py: the plane in the snapshots, evaluated at a bounded rate off the panels."""

from __future__ import annotations

import numpy as np

import engine
import engine.plane
import tui.run.plane as run_plane
from tui.run import RunController


def _controller(preset="default", **changes):
    config = engine.presets[preset]
    return RunController(engine.build(config.replace(**changes) if changes else config))


def test_paused_every_step_gets_a_fresh_plane_of_its_weights():
    state = _controller()
    first = state.latest.plane
    state.step()
    snap = state.refresh()
    assert snap.plane is not first and snap.plane.step == 1
    grid = engine.plane.grid(snap.plane.lo, snap.plane.hi, snap.plane.rows, snap.plane.cols)
    np.testing.assert_array_equal(snap.plane.output.reshape(len(grid), -1), state.trainer.net.predict(grid))
    assert state.refresh().plane is snap.plane     # nothing moved: the same plane, not evaluated again


def test_while_playing_the_plane_is_evaluated_at_most_every_plane_interval(monkeypatch):
    state = _controller()
    clock = [run_plane.time.monotonic() + 1000.0]   # after the plane the controller took when built
    monkeypatch.setattr(run_plane.time, "monotonic", lambda: clock[0])
    state.playing = True
    state.step()
    a = state.refresh().plane
    assert a.step == 1
    for _ in range(3):                              # three steps within PLANE_INTERVAL: the same plane
        clock[0] += 0.05
        state.step()
        assert state.refresh().plane is a
    clock[0] += run_plane.PLANE_INTERVAL
    state.step()
    b = state.refresh().plane
    assert b is not a and b.step == state.trainer.step_count
    state.playing = False
    state.step()
    assert state.refresh().plane.step == state.trainer.step_count   # paused: at once


def test_in_op_mode_the_plane_is_of_the_weights_at_the_op_on_show():
    state = _controller("seed")
    state.op_mode = True
    while True:                                     # through the update of W1, the last op of the cycle
        op = state.next_op()
        if op.phase == "update" and op.name == "W1":
            break
    after = state.refresh()
    state.prev_op()                                 # back before W1's update: W1 as it was
    before = state.refresh()
    assert not np.array_equal(before.params["W1"], after.params["W1"])
    for snap in (before, after):
        net = snap.facts.network()
        net.theta[...] = snap.theta
        p = snap.plane
        grid = engine.plane.grid(p.lo, p.hi, p.rows, p.cols)
        np.testing.assert_array_equal(p.output.reshape(len(grid), -1), net.predict(grid))


def test_the_panels_ask_for_their_resolution_and_unit_within_bounds():
    maker = run_plane.PlaneMaker()
    maker.ask((400, 600), (1, 2))
    rows, cols = maker.shape
    assert rows * cols <= run_plane.MAX_CELLS and abs(rows / cols - 400 / 600) < 0.05
    assert maker.unit == (1, 2)
    state = _controller()
    state.planes.ask((10, 12), (1, 99))             # no such unit: the plane comes without it
    p = state.refresh().plane
    assert (p.rows, p.cols) == (10, 12) and p.unit is None and p.unit_map is None


def test_data_that_is_not_2d_gets_a_confusion_matrix_and_no_plane():
    state = _controller("spiral")
    snap = state.latest
    assert snap.plane is not None and snap.confusion[1] == "test"
    counts = snap.confusion[0]
    assert counts.shape == (3, 3) and counts.sum() == len(state.trainer.X_test)
