"""Issue 16: unit maps in the network panel, the boundary from the snapshot's plane, shape and
data from the keyboard (y Y j J < > ctrl+z D T k, and `a` per layer), a deep wide net at 80x24."""

from __future__ import annotations

import numpy as np

import engine
import engine.plane
from engine.network import MLP
from tests.tui.app_helpers import make_app, text_of
from tui.screens.data_controls import DataControls
from tui.widgets import colours
from tui.widgets.boundary.predictions_panel import PredictionsPanel


async def test_the_network_panel_draws_every_unit_as_a_map_for_2d_data():
    app = make_app()   # xor, 2-4-1
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("space")
        await pilot.pause()
        panel = app.screen.query_one("#network")
        assert panel.has_class("-maps")
        diagram = app.screen.query_one("#net-units")
        mw, mh, gap, ncol, units = diagram.geometry
        assert ncol == 3 and units == (2, 4, 1)   # every unit of every layer, inputs included
        text = text_of(diagram)
        assert text.splitlines()[0].split() == ["X", "A1", "Ŷ"]
        assert "▀" in text and any(0x2800 < ord(ch) <= 0x28FF for ch in text)   # maps and braille wires
        plane = app.state.latest.plane
        assert plane.step == 1 and len(plane.maps) == 3
        assert "A1 = tanh(Z1)" in text_of(app.screen.query_one("#net-diagram"))


async def test_the_boundary_panel_never_calls_the_network(monkeypatch):
    """The grid is evaluated by the run controller (engine.plane) into the snapshot; the panel
    only colours it. Before, draw() ran net.predict on a grid in the UI thread."""
    calls = []
    drawing = []
    forward = MLP.forward

    def watched(self, X):
        if drawing:
            calls.append(X.shape)
        return forward(self, X)

    draw = PredictionsPanel.draw

    def watched_draw(self, snap):
        drawing.append(1)
        try:
            draw(self, snap)
        finally:
            drawing.pop()

    monkeypatch.setattr(MLP, "forward", watched)
    monkeypatch.setattr(PredictionsPanel, "draw", watched_draw)
    for preset in ("default", "spiral"):   # spiral: the confusion matrix too
        app = make_app(preset)
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.press("space", "space")
            await pilot.pause()
            app.redraw()
            boundary = app.screen.query_one("#boundary-map")
            assert boundary.pixels is not None
            assert app.screen.query_one("#predictions").drew == "output"
    assert calls == []


async def test_the_boundary_shows_the_planes_decision():
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("space")
        await pilot.pause(0.2)
        boundary = app.screen.query_one("#boundary-map")
        plane = app.state.latest.plane
        rows, cols = boundary.grid_shape
        assert (plane.rows, plane.cols) == (rows, cols)   # the panel asked for its own resolution
        grid = engine.plane.grid(plane.lo, plane.hi, rows, cols)
        expected = (app.state.trainer.net.predict(grid)[:, 0] > 0.5).reshape(rows, cols)
        np.testing.assert_array_equal(boundary.pixels, expected)


async def test_keys_change_the_shape_and_ctrl_z_brings_the_run_back():
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("space", "space")
        before = app.state.trainer
        theta = before.net.theta.copy()
        await pilot.press("y")                      # a hidden layer after layer 1, as wide
        assert app.state.config.sizes == [2, 4, 4, 1] and app.view.layer == 2
        await pilot.press("j", "j")                 # two units more in the new layer
        assert app.state.config.sizes == [2, 4, 6, 1]
        await pilot.press("J")
        assert app.state.config.sizes == [2, 4, 5, 1]
        await pilot.press("Y")                      # remove the chosen hidden layer
        assert app.state.config.sizes == [2, 4, 1]
        await pilot.press("right_square_bracket")  # the output layer: its width is the data's
        await pilot.press("j", "Y")
        assert app.state.config.sizes == [2, 4, 1]
        for _ in range(5):                          # y j j J Y: five changes
            await pilot.press("ctrl+z")
        trainer = app.state.trainer
        assert trainer is before and trainer.step_count == 2
        np.testing.assert_array_equal(trainer.net.theta, theta)
        assert app.state.latest.config.sizes == [2, 4, 1]
        await pilot.press("ctrl+z")                 # nothing left: the run stays
        assert app.state.trainer is before


async def test_a_changes_only_the_chosen_layer_when_activations_are_per_layer():
    app = make_app(sizes=[2, 4, 4, 1], hidden=["tanh", "relu"])
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("right_square_bracket")   # layer 2
        await pilot.press("a")
        assert app.state.config.hidden == ["tanh", "leaky_relu"]
        await pilot.press("ctrl+z")
        assert app.state.config.hidden == ["tanh", "relu"]


async def test_choosing_a_unit_shows_its_map_large_and_its_incoming_weights():
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("space", "greater_than_sign", "greater_than_sign")   # layer 1, unit 1
        await pilot.pause(0.2)
        assert app.view.unit == 1
        panel = app.screen.query_one("#predictions")
        assert panel.drew == "unit" and "A1[:, 1]" in panel.border_title
        plane = app.state.latest.plane
        assert plane.unit == (1, 1)
        boundary = app.screen.query_one("#boundary-map")
        rows, cols = boundary.grid_shape
        grid = engine.plane.grid(plane.lo, plane.hi, rows, cols)
        _, cache = app.state.trainer.net.forward(grid)
        np.testing.assert_array_equal(boundary.pixels, (cache["A1"][:, 1] > 0).reshape(rows, cols))
        assert app.screen.query_one("#weights").cursor[1] == 1   # W1[:, 1]: the unit's incoming weights
        assert "▸" in text_of(app.screen.query_one("#net-units"))
        await pilot.press("less_than_sign", "less_than_sign")   # past the first unit: the boundary again
        await pilot.pause(0.2)
        assert app.view.unit is None and panel.drew == "output"


async def test_data_controls_regenerate_the_data_from_the_same_seed():
    app = make_app("circles")
    async with app.run_test(size=(120, 40)) as pilot:
        X0 = app.state.trainer.X.copy()
        await pilot.press("D")
        assert isinstance(app.screen, DataControls)
        await pilot.press("N")                      # noise 0.1 -> 0.15
        config = app.state.config
        assert config.dataset_options["noise"] == 0.15 and config.seed == engine.presets["circles"].seed
        X1 = app.state.trainer.X
        assert X1.shape == X0.shape and not np.array_equal(X1, X0)
        again = engine.build(config)
        np.testing.assert_array_equal(again.X, X1)  # the same seed: the same data
        await pilot.press("t")                      # test split 0.25 -> 0.2
        assert app.state.config.dataset_options["test_fraction"] == 0.2
        await pilot.press("B")                      # full batch is the largest: no change
        assert app.state.config.batch_size is None
        await pilot.press("b")
        assert app.state.config.batch_size == 128
        await pilot.press("M")                      # 200 -> 300 samples
        assert app.state.config.dataset_options["n_samples"] == 300
        assert len(app.state.trainer.X) + len(app.state.trainer.X_test) == 300
        assert "300" in text_of(app.screen.query_one("#data-rows"))
        await pilot.press("escape")
        assert not isinstance(app.screen, DataControls)
        await pilot.press("ctrl+z")
        assert app.state.config.dataset_options.get("n_samples", 200) == 200 and app.state.config.batch_size == 128


async def test_t_draws_the_test_points_hollow_and_k_two_solid_colours():
    app = make_app("circles")
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("space")
        await pilot.pause()
        boundary = app.screen.query_one("#boundary-map")
        assert "○" not in text_of(boundary)
        await pilot.press("T")
        assert "○" in text_of(boundary)
        assert len(set(boundary.levels.ravel().tolist())) > 1
        await pilot.press("k")
        assert set(boundary.levels.ravel().tolist()) == {colours.LEVELS}
        await pilot.press("k", "T")
        assert "○" not in text_of(boundary)


async def test_a_deep_wide_net_degrades_gracefully_at_80x24():
    app = make_app(sizes=[2] + [64] * 10 + [1], hidden="relu", init="he")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("v")                      # the network in the compact layout's right column
        await pilot.press("space")
        await pilot.pause()
        diagram = app.screen.query_one("#net-units")
        assert diagram.display and diagram.size.width <= 40
        mw, mh, gap, ncol, units = diagram.geometry
        text = text_of(diagram)
        assert "+" in text                         # "+N" units (and layers, if they do not fit)
        assert all(u < 64 for u in units[1:])
        lines = text.splitlines()
        assert lines[0].startswith("X") and all(len(line) <= diagram.size.width for line in lines)


async def test_regression_draws_the_predicted_surface():
    """A real regression run (the bumps dataset: linear output, MSE): the boundary panel shows
    the network's predicted surface, read from the snapshot's plane."""
    app = make_app(dataset="bumps", sizes=[2, 8, 1], task="regression", output="linear", loss="mse")
    async with app.run_test(size=(120, 40)) as pilot:
        for _ in range(3):
            await pilot.press("space")
        await pilot.pause()
        panel = app.screen.query_one("#predictions")
        assert panel.drew == "surface" and panel.border_title == "Predicted surface"
        out = app.state.latest.plane.output[:, :, 0]
        boundary = app.screen.query_one("#boundary-map")
        rows, cols = boundary.grid_shape
        assert boundary.pixels.shape == (rows, cols)
        assert (out > 0).any() and (out < 0).any() == (~boundary.pixels.astype(bool)).any()


async def test_input_features_each_get_a_map_in_the_diagram():
    """With --features the network's inputs are computed from (x1, x2): the diagram's first
    column shows each feature over the plane (x1*x2 is the saddle that makes XOR separable)."""
    app = make_app(features="x1,x2,x1*x2", sizes=[3, 1])
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("space")
        await pilot.pause()
        diagram = app.screen.query_one("#net-units")
        mw, mh, gap, ncol, units = diagram.geometry
        assert ncol == 2 and units == (3, 1)
        plane = app.state.latest.plane
        x1x2 = plane.maps[0][:, :, 2]
        n = x1x2.shape[0]
        corners = x1x2[0, 0], x1x2[0, n - 1], x1x2[n - 1, 0], x1x2[n - 1, n - 1]
        assert np.sign(corners[0]) == np.sign(corners[3]) != np.sign(corners[1]) == np.sign(corners[2])


async def test_two_boundary_panels_on_the_stack_do_not_take_turns_asking(monkeypatch):
    """The operation view's boundary panel sits over the dashboard's (another size): only the
    panel in front asks for its resolution, and once it has its plane nothing is evaluated
    again until something changes."""
    calls = []
    evaluate = engine.plane.evaluate

    def counted(*args, **kwargs):
        calls.append(1)
        return evaluate(*args, **kwargs)

    monkeypatch.setattr(engine.plane, "evaluate", counted)
    app = make_app("seed")
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("b")                      # the operation view, over the dashboard
        await pilot.pause(0.5)
        calls.clear()
        await pilot.pause(0.5)
        assert calls == []
