"""Issue 16 in the app: the config form's new fields, R² for regression runs, the dropout
mask and features as operations, and the gradient-check view with L1 and dropout."""

from __future__ import annotations

import engine
from tests.tui.app_helpers import make_app, status, text_of, wait_for
from tui import fmt
from tui.screens.config_form import ConfigForm, validate
from tui.screens.gradcheck import GradcheckScreen

SIZE = (120, 40)


def test_form_validates_the_new_fields_on_their_own_rows():
    base = engine.presets["default"]
    errors, _ = validate({"l1": "-1", "dropout": "1.5", "task": "sorting"}, base)
    assert set(errors) == {"l1", "dropout", "task"}
    errors, _ = validate({"features": "x1,x2,x1*x2"}, base.replace(sizes=[2, 4, 1]))
    assert errors == {}  # sizes not on the form's change list: its first width follows the features
    errors, _ = validate({"features": "x1,x2,x1*x2", "sizes": "2,4,1"}, base)
    assert "give 3 inputs" in errors["sizes"]


async def test_form_applies_features_l1_and_dropout():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("c")
        await pilot.pause()
        form = app.screen
        assert isinstance(form, ConfigForm)
        form.query_one("#field-features").value = "x1,x2,x1*x2"
        form.query_one("#field-sizes").value = "3,1"
        form.query_one("#field-l1").value = "0.01"
        form.query_one("#field-dropout").value = "0.5"  # no hidden layer: nothing to drop, still valid
        await pilot.pause()
        assert form.errors == {}
        await form.action_apply()
        await wait_for(pilot, lambda: not isinstance(app.screen, ConfigForm), "the form closing")
        t = app.state.trainer
        assert t.net.features == ("x1", "x2", "x1*x2") and t.l1 == 0.01 and t.dropout == 0.5


def test_score_text_branches_on_the_task():
    assert fmt.score({"accuracy": 0.75}) == ("acc", "75.0%")
    assert fmt.score({"r2": 0.91234}) == ("R²", "0.9123")
    assert fmt.score({"test_r2": 0.5}, "test_") == ("R²", "0.5000")


async def test_a_regression_run_shows_r2_where_accuracy_was():
    app = make_app("default", dataset="bumps", sizes=[2, 8, 1])
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("space")
        await wait_for(pilot, lambda: "R²" in status(app), "R² in the status line")
        line = status(app)
        assert "acc" not in line
        r2 = app.state.trainer.evaluate(record=False)["r2"]
        assert f"R² {r2:.4f}" in line
        assert "R²" in text_of(app.screen.query_one("#loss-key")) and "acc" not in text_of(app.screen.query_one("#loss-key"))


async def test_op_view_shows_features_and_the_dropout_mask_as_operations():
    app = make_app("default", dataset="moons", features="x1,x2,x1*x2", sizes=[3, 5, 1], dropout=0.4)
    async with app.run_test(size=SIZE) as pilot:
        equations = []
        for _ in range(4):
            await pilot.press("n")
            await pilot.pause()
            equations.append(app.state.stepper.current.equation)
        assert equations[0].startswith("X = [x1, x2, x1*x2]")
        assert equations[3].startswith("A1 <- A1 * M1 / (1 - p)")
        from tui.opstate import op_view

        view = op_view(app.state.stepper, app.state.trainer)
        M = view.dropout_mask
        assert M is not None and M.shape == (len(app.state.trainer.X), 5) and set(M.ravel()) <= {0.0, 1.0}


async def test_gradient_check_view_passes_with_l1_and_fixed_dropout_masks():
    app = make_app("default", dataset="moons", sizes=[2, 6, 1], l1=0.05, dropout=0.5)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("g")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, GradcheckScreen)
        await wait_for(pilot, lambda: screen.report is not None, "the gradient check")
        assert screen.report.passed
        title = text_of(screen.query_one("#gc-title"))
        assert "L1 0.05" in title and "dropout 0.5, masks fixed" in title


async def test_next_dataset_key_reaches_the_regression_sets_and_comes_back():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        seen = []
        for _ in range(len(engine.datasets.NAMES)):
            await pilot.press("d")
            await wait_for(pilot, lambda: not app.state.worker_active, "the rebuild")
            await pilot.pause()
            c = app.state.trainer.config
            seen.append((c.dataset, c.task, c.output, c.loss))
        assert ("plane", "regression", "linear", "mse") in seen and ("bumps", "regression", "linear", "mse") in seen
        assert seen[-1][:2] == ("xor", "classification") and seen[-1][2:] == ("sigmoid", "bce")
