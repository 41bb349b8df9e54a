"""engine.plane: every unit's activation over the input plane, from one batched forward pass."""

from __future__ import annotations

import numpy as np
import pytest

import engine
import engine.plane as plane


def _net(sizes=(2, 3, 2, 1), hidden="tanh", seed=3):
    return engine.MLP(list(sizes), hidden=hidden, output="sigmoid", init="xavier", seed=seed)


def test_grid_runs_left_to_right_in_x1_and_top_down_from_the_largest_x2():
    P = plane.grid((0.0, -1.0), (2.0, 1.0), rows=3, cols=5)
    assert P.shape == (15, 2)
    assert P[0].tolist() == [0.0, 1.0]            # top left: smallest x1, largest x2
    assert P[4].tolist() == [2.0, 1.0]            # top right
    assert P[-1].tolist() == [2.0, -1.0]          # bottom right


def test_extent_pads_the_data_on_every_side():
    lo, hi = plane.extent(np.array([[0.0, 0.0], [1.0, 2.0]]), pad=0.1)
    np.testing.assert_allclose(lo, (-0.1, -0.2))
    np.testing.assert_allclose(hi, (1.1, 2.2))


def test_every_map_is_the_forward_pass_on_its_grid():
    net = _net()
    lo, hi = (-1.0, -2.0), (1.5, 0.5)
    p = plane.evaluate(net, lo, hi, rows=7, cols=9, n=5, unit=(2, 1), step=4)
    big = plane.grid(lo, hi, 7, 9)
    small = plane.grid(lo, hi, 5, 5)
    np.testing.assert_allclose(p.output.reshape(63, 1), net.predict(big), rtol=0, atol=1e-15)
    _, cache = net.forward(small)
    np.testing.assert_array_equal(p.maps[0].reshape(25, 2), small)
    for l in range(1, net.L + 1):
        np.testing.assert_allclose(p.maps[l].reshape(25, -1), cache[f"A{l}"], rtol=0, atol=1e-15)
    _, cache_big = net.forward(big)
    np.testing.assert_allclose(p.unit_map.reshape(63), cache_big["A2"][:, 1], rtol=0, atol=1e-15)
    assert p.unit == (2, 1) and p.step == 4 and p.L == 3
    assert not p.output.flags.writeable and not p.maps[1].flags.writeable


def test_a_first_layer_linear_unit_draws_a_tilted_plane():
    """Z1 = X W1 + b1 is linear in (x1, x2): with a linear activation each first-layer map
    has constant steps along both axes, with slopes W1[0, j] and W1[1, j]."""
    net = _net(sizes=(2, 3, 1), hidden="linear")
    p = plane.evaluate(net, (0.0, 0.0), (1.0, 1.0), rows=4, cols=4, n=6)
    A1 = p.maps[1]
    step = 1.0 / 5
    W1 = net.params["W1"]
    np.testing.assert_allclose(np.diff(A1, axis=1), np.broadcast_to(W1[0] * step, (6, 5, 3)), atol=1e-12)
    np.testing.assert_allclose(np.diff(A1, axis=0), np.broadcast_to(-W1[1] * step, (5, 6, 3)), atol=1e-12)


def test_chunked_forward_gives_the_same_numbers(monkeypatch):
    net = _net(sizes=(2, 16, 16, 1), hidden="relu")
    whole = plane.evaluate(net, (-1, -1), (1, 1), rows=20, cols=30, n=8, unit=(1, 3))
    monkeypatch.setattr(plane, "MAX_FLOATS", 10)   # 256-row chunks
    parts = plane.evaluate(net, (-1, -1), (1, 1), rows=20, cols=30, n=8, unit=(1, 3))
    np.testing.assert_array_equal(whole.output, parts.output)
    np.testing.assert_array_equal(whole.unit_map, parts.unit_map)
    for a, b in zip(whole.maps, parts.maps):
        np.testing.assert_array_equal(a, b)


def test_refuses_what_it_cannot_draw():
    with pytest.raises(ValueError, match="2 raw inputs"):
        plane.evaluate(engine.MLP([3, 2, 1]), (0, 0), (1, 1), 4, 4)
    with pytest.raises(ValueError, match="no unit 5 in layer 1"):
        plane.evaluate(_net(), (0, 0), (1, 1), 4, 4, unit=(1, 5))
    with pytest.raises(ValueError, match=">= 1"):
        plane.evaluate(_net(), (0, 0), (1, 1), 0, 4)


def test_colour_scale_centres_sigmoid_on_the_threshold_and_others_on_zero():
    assert plane.centre_scale("sigmoid", [0.1, 0.9]) == (0.5, 0.5)
    assert plane.centre_scale("relu", [0.0, 3.0, -0.5]) == (0.0, 3.0)
    assert plane.centre_scale("softmax", np.full((4, 4, 4), 0.25)) == (0.25, 0.75)
    assert plane.centre_scale("tanh", [0.0, 0.0]) == (0.0, 1.0)          # all zero: no division by zero
    assert plane.centre_scale("tanh", [np.nan, -2.0]) == (0.0, 2.0)
