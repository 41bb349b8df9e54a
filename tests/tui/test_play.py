"""Playing: the loss falls, and what the panels show is exactly what the engine holds."""

from __future__ import annotations

import numpy as np

from tests.tui.app_helpers import make_app, status, text_of, wait_for
from tui.widgets.weights.heatmap import fmt


async def test_play_for_a_while_then_every_number_shown_is_the_engines():
    app = make_app(epochs=10**9)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("p")
        await wait_for(pilot, lambda: app.state.trainer.step_count >= 3000, "3000 steps of play")
        assert app.frames >= 2  # the panels were fed while training ran
        await pilot.press("p")
        await wait_for(pilot, lambda: not app.state.worker_active, "pause")
        await pilot.pause()
        trainer = app.state.trainer
        curve = trainer.history.curve()
        assert curve.last[-1] < 0.1 * curve.lo[0], "the loss fell"
        metrics = trainer.evaluate(record=False)
        assert metrics["accuracy"] == 1.0

        line = status(app)
        assert f"step {trainer.step_count:,}" in line
        assert f"epoch {trainer.epoch_count:,}" in line
        from tui.fmt import num  # the status line's numbers: the UI's one formatter (1e-5, not 1e-05)
        assert f"loss {num(metrics['loss'], 9, 4)}" in line   # full data, at the weights on show
        assert f"acc {metrics['accuracy'] * 100:.1f}%" in line
        assert f"lr {num(trainer.lr, 9, 3)}" in line
        key = text_of(app.screen.query_one("#loss-key"))
        # The panel's headline loss is the full-data loss at the current weights (issue 12 item 8).
        assert f"loss {metrics['loss']:.4g}" in key.replace("━", " ") and "acc 100.0%" in key.replace("━", " ")

        # the heatmaps show W1 and dW1 as the engine has them, cell for cell
        W1 = trainer.net.params["W1"]
        dW1 = trainer.net.grad_views(trainer.last.g)["dW1"]
        w_lines = text_of(app.screen.query_one("#map-W")).splitlines()
        g_lines = text_of(app.screen.query_one("#map-dW")).splitlines()
        for r in range(W1.shape[0]):
            assert w_lines[r].split() == [fmt(float(v)).strip() for v in W1[r]]
            assert g_lines[r].split() == [fmt(float(v)).strip() for v in dW1[r]]
        inspector = text_of(app.screen.query_one("#inspector"))
        assert f"value {num(float(W1[0, 0]), 10)} " in inspector

        # the boundary classifies each XOR corner as its label (the map draws the engine's predictions)
        pred = app.screen.query_one("#boundary-map").pixels
        assert pred[0, 0] == 1 and pred[-1, -1] == 1 and pred[0, -1] == 0 and pred[-1, 0] == 0


async def test_the_plot_draws_a_bounded_curve_at_its_width():
    app = make_app(epochs=10**9)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("p")
        await wait_for(pilot, lambda: app.state.trainer.step_count >= 5000, "5000 steps")
        await pilot.press("p")
        await wait_for(pilot, lambda: not app.state.worker_active, "pause")
        await pilot.pause()
        plot = app.screen.query_one("#loss-plot")
        curve = app.state.latest.curve
        assert curve is app.state.trainer.history.curve() and curve.n_steps == app.state.trainer.step_count
        assert len(curve.lo) <= 1024 + 2048
        lines = text_of(plot).splitlines()
        assert len(lines) == plot.size.height and all(len(line) <= plot.size.width for line in lines)
