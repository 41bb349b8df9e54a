"""A regression run in the app, end to end: the loss panel's R² curve and key (issue 16 item 5)."""

from __future__ import annotations

from tests.tui.app_helpers import make_app, text_of, wait_for
from tui import fmt
from tui.widgets.loss.loss_plot import ACC_RGB

SIZE = (120, 40)


def _score_cells(plot):
    """(row, column) of every cell the plot draws in the score colour (accuracy or R²)."""
    width, height = plot.size
    cells = []
    for y in range(height):
        x = 0
        for seg in plot.render_line(y):
            colour = seg.style.color if seg.style else None
            if colour is not None and colour.triplet is not None and tuple(colour.triplet) == ACC_RGB:
                cells += [(y, x + i) for i, ch in enumerate(seg.text) if ch not in " ⠀"]
            x += len(seg.text)
    return cells


async def test_a_bumps_run_plays_and_its_r2_curve_rises_with_the_latest_r2_in_the_key():
    # Before: the history kept NaN accuracy for regression, so no curve and "━R²" with no value.
    app = make_app("default", dataset="bumps", sizes=[2, 8, 1], optimizer="adam", lr=0.02, epochs=300)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("p")
        await wait_for(pilot, lambda: app.state.trainer.step_count >= 300, "300 steps")
        await wait_for(pilot, lambda: not app.state.worker_active, "the stop at the run's epochs")
        await pilot.pause(0.3)
        plot = app.screen.query_one("#loss-plot")
        curve = app.state.trainer.history.curve()
        assert curve.regression and curve.r2[-1] > curve.r2[0] + 0.3
        assert plot.right_axis == "r2"
        cells = _score_cells(plot)
        assert cells, "no R² curve drawn"
        first_col, last_col = min(c for _, c in cells), max(c for _, c in cells)
        top_at = lambda col: min(y for y, c in cells if c == col)  # noqa: E731
        assert top_at(last_col) < top_at(first_col)  # rises: nearer the top (R² 1) at the end
        text = text_of(plot)
        assert "R² 1" in text and "100%" not in text
        key = text_of(app.screen.query_one("#loss-key"))
        metrics = app.state.trainer.evaluate(record=False)
        assert "test_r2" in metrics  # bumps has a test split: the key's short form
        assert f"R² {fmt.score(metrics, width=4)[1]}" in key and "R² —" not in key and "…" not in key


async def test_a_negative_r2_is_drawn_at_0_and_the_legend_says_so():
    app = make_app("default", dataset="bumps", sizes=[2, 8, 1], optimizer="adam", lr=0.02)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("space")
        await pilot.pause(0.3)
        assert app.state.trainer.history.r2[0] < 0  # every bumps run here starts worse than the mean
        panel = app.screen.query_one("#loss-plot").parent
        assert "R² < 0 drawn at 0" in str(panel.border_subtitle)
        assert "≤0" in text_of(app.screen.query_one("#loss-plot"))


async def test_compare_on_a_regression_run_steps_and_shows_r2_as_netstep_race_does():
    # Before: Lockstep.rows() read m["accuracy"] and the screen crashed with KeyError on space/p.
    from engine import race
    from tui.screens.compare import CompareScreen

    app = make_app("default", dataset="bumps", sizes=[2, 8, 1], epochs=5)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("C")
        await wait_for(pilot, lambda: isinstance(app.screen, CompareScreen), "the compare screen")
        screen = app.screen
        for _ in range(5):
            await pilot.press("space")
        await pilot.pause()
        expected = race.run(race.variants(app.state.config, "optimizer", screen.values), target=1.0)
        assert list(screen.view.rows) == expected
        table = text_of(screen.query_one("#cmp-table"))
        assert "R² 1 at" in table and "R²" in table and "acc" not in table
        for row in expected:
            assert row["accuracy"] is None and f"{row['r2']:.4f}" in table


async def test_layer_space_on_a_regression_run_says_separability_does_not_apply():
    # Before: the head said "one straight line separates the classes here" of the plane's targets.
    from tui.screens.layer_space import LayerSpaceScreen

    app = make_app("default", dataset="plane", sizes=[2, 4, 1])
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("x")
        await wait_for(pilot, lambda: isinstance(app.screen, LayerSpaceScreen) and app.screen.space is not None,
                       "the first projection")
        head = text_of(app.screen.query_one("#ls-head"))
        assert "does not apply" in head and "separates the classes" not in head
        assert "class colour" not in text_of(app.screen.query_one("#ls-key"))
