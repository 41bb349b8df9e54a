"""Pilot tests: every key of the trainer app does what the help screen says."""

from __future__ import annotations

import csv

import numpy as np
import pytest

import engine
from tests.tui.app_helpers import make_app, status, text_of, wait_for
from tui.keys import KEYS
from tui.screens.config_form import ConfigForm
from tui.screens.gradcheck import GradcheckScreen
from tui.screens.help import HelpScreen
from tui.screens.main import MainScreen
from tui.screens.path_prompt import PathPrompt
from tui.widgets.panel import Panel

SIZE = (120, 40)


async def test_space_runs_one_cycle_and_every_panel_shows_it():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        expected = engine.build(engine.presets["default"])
        result = expected.step()
        await pilot.press("space")
        await pilot.pause()
        trainer = app.state.trainer
        assert trainer.step_count == 1
        np.testing.assert_array_equal(trainer.net.theta, expected.net.theta)
        snap = app.state.latest
        for panel in app.screen.query(Panel):
            assert panel._drawn == (snap.run_id, snap.version), f"{type(panel).__name__} did not draw the step"
        assert "step 1" in status(app)
        # The headline loss: the full-data training loss at the weights after the step (as
        # `netstep train --json` reports it), not the loss the step computed before its update.
        after = expected.evaluate(record=False)["loss"]
        assert f"{after:.4g}" != f"{result.loss:.4g}"
        assert f"train loss {after:.4g}" in status(app)
        assert f"{after:.4g}" in text_of(app.screen.query_one("#loss-key"))
        dW1 = expected.net.grad_views(expected.last.g)["dW1"]
        assert app.screen.query_one("#map-dW").shape == dW1.shape
        assert app.screen.query_one("#boundary-map").pixels is not None
        assert "L1" in text_of(app.screen.query_one("#diag-body"))


async def test_p_plays_in_the_background_and_pauses():
    app = make_app(epochs=10**9)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("p")
        await wait_for(pilot, lambda: app.state.trainer.step_count > 200, "training while playing")
        assert app.state.playing
        assert "PLAYING" in status(app)
        await pilot.press("p")
        await wait_for(pilot, lambda: not app.state.worker_active, "the worker stopping")
        steps = app.state.trainer.step_count
        await pilot.pause(0.2)
        assert app.state.trainer.step_count == steps
        assert "PAUSED" in status(app)
        assert f"step {steps:,}" in status(app)


async def test_play_stops_at_the_configured_epochs_then_runs_on():
    app = make_app(epochs=50)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("p")
        await wait_for(pilot, lambda: not app.state.playing and not app.state.worker_active, "play to stop")
        assert app.state.trainer.epoch_count == 50
        assert app.state.finished
        await pilot.press("p")
        await wait_for(pilot, lambda: app.state.trainer.epoch_count > 100, "playing past the epochs")
        await pilot.press("p")


async def test_r_resets_to_the_same_seed():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        fresh = engine.build(engine.presets["default"]).net.theta.copy()
        for _ in range(3):
            await pilot.press("space")
        assert not np.array_equal(app.state.trainer.net.theta, fresh)
        await pilot.press("r")
        await pilot.pause()
        assert app.state.trainer.step_count == 0
        np.testing.assert_array_equal(app.state.trainer.net.theta, fresh)
        assert "step 0" in status(app)


async def test_s_moves_to_the_next_seed():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("s")
        await pilot.pause()
        assert app.state.config.seed == 1
        other = engine.build(engine.presets["default"].replace(seed=1))
        np.testing.assert_array_equal(app.state.trainer.net.theta, other.net.theta)
        assert "seed 1" in status(app)


async def test_plus_and_minus_double_and_halve_the_learning_rate():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("plus")
        await pilot.pause()
        assert app.state.trainer.lr == 2.0
        assert "lr 2" in status(app)
        await pilot.press("minus", "minus")
        await pilot.pause()
        assert app.state.trainer.lr == 0.5
        await pilot.press("r")  # a reset keeps the chosen learning rate
        assert app.state.trainer.lr == 0.5


async def test_learning_rate_cannot_pass_the_engine_limit():
    app = make_app(lr=1e6)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("plus")
        await pilot.pause()
        assert app.state.trainer.lr == 1e6
        assert any("learning rate" in n.message for n in app._notifications)


async def test_brackets_choose_the_layer_shown():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        weights = app.screen.query_one("#weights")
        await pilot.press("right_square_bracket")
        await pilot.pause()
        assert app.view.layer == 2
        assert "layer 2 of 2" in weights.border_title
        assert app.screen.query_one("#map-W").shape == (4, 1)
        await pilot.press("right_square_bracket")  # no layer 3: stays
        assert app.view.layer == 2
        await pilot.press("left_square_bracket", "left_square_bracket")
        await pilot.pause()
        assert app.view.layer == 1
        assert app.screen.query_one("#map-W").shape == (2, 4)


async def test_arrows_move_the_cursor_and_the_inspector_shows_the_engines_numbers():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("space")
        app.screen.query_one("#weights").focus()
        await pilot.press("down", "right", "right")
        await pilot.pause()
        trainer = app.state.trainer
        text = text_of(app.screen.query_one("#inspector"))
        assert "W1[1,2]" in text
        from tui.fmt import num  # the inspector's numbers: the UI's one formatter, 4 significant digits
        assert f"value {num(float(trainer.net.params['W1'][1, 2]), 10)} " in text
        grad = trainer.net.grad_views(trainer.last.g)["dW1"][1, 2]
        assert f" {num(float(grad), 10)}\n" in text
        await pilot.press("down")  # the bias row, under W
        await pilot.pause()
        assert "b1[0,2]" in text_of(app.screen.query_one("#inspector"))


async def test_clicking_a_heatmap_cell_selects_it():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("space")
        heatmap = app.screen.query_one("#map-W")
        await pilot.click("#map-W", offset=(8 * 3 + 2, 1))
        await pilot.pause()
        assert app.screen.query_one("#weights").cursor == (1, 3)
        assert heatmap.cursor == (1, 3)


async def test_l_toggles_log_scale():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("space", "space", "l")
        await pilot.pause()
        assert app.view.log_scale
        assert "log" in app.screen.query_one("#loss").border_title
        assert app.screen.query_one("#loss-plot").log_scale
        await pilot.press("l")
        assert not app.view.log_scale


async def test_t_cycles_the_play_speed():
    app = make_app(epochs=10**9)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("t", "t", "t")  # full -> 1000 -> 100 -> 10 steps a second
        assert app.state.speed == 10
        await pilot.press("p")
        await pilot.pause(0.5)
        await pilot.press("p")
        await wait_for(pilot, lambda: not app.state.worker_active, "the worker stopping")
        assert app.state.trainer.step_count <= 10  # paced, not full speed
        await pilot.press("t")
        assert app.state.speed is None


async def test_g_runs_a_gradient_check_with_a_results_table():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("space", "g")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, GradcheckScreen)
        await wait_for(pilot, lambda: screen.report is not None, "the gradient check")
        await pilot.pause()
        table = screen.query_one("#gc-table")
        assert table.row_count == 4  # W1 b1 W2 b2
        assert screen.report.passed
        assert "PASSED" in text_of(screen.query_one("#gc-summary"))
        await pilot.press("space")  # the dashboard's keys are off under a dialog
        assert app.state.trainer.step_count == 1
        await pilot.press("escape")
        assert not isinstance(app.screen, GradcheckScreen)


async def test_o_to_adam_starts_at_adams_usual_rate_and_says_so():
    """Issue 12 item 9: SGD's lr 1 would make Adam jump; switching offers Adam's usual
    rate with a note, and going back to SGD restores the run's own rate."""
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        lr = app.state.config.lr
        assert lr > engine.optim.USUAL_LR["adam"]
        await pilot.press("o")      # momentum: its rate depends on the problem, kept
        await pilot.pause()
        assert app.state.config.optimizer == "momentum" and app.state.trainer.lr == lr
        await pilot.press("o")      # adam
        await pilot.pause()
        assert app.state.config.optimizer == "adam"
        assert app.state.trainer.lr == app.state.config.lr == engine.optim.USUAL_LR["adam"]
        notes = [str(n.message) for n in app._notifications]
        assert any("adam's usual rate" in n and f"lr {lr:g} → 0.01" in n for n in notes), notes
        await pilot.press("o", "o")  # rmsprop (already at a usual rate), then sgd
        await pilot.pause()
        assert app.state.config.optimizer == "sgd" and app.state.trainer.lr == lr


async def test_quick_cycles_change_dataset_activation_init_and_optimizer():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("a")
        await pilot.pause()
        assert app.state.config.hidden == "sigmoid"  # tanh -> sigmoid
        assert app.state.trainer.net.hidden == ["sigmoid"]
        await pilot.press("i")
        await pilot.pause()
        assert app.state.config.init == "he"
        await pilot.press("o")
        await pilot.pause()
        assert app.state.config.optimizer == "momentum"
        assert app.state.trainer.opt.name == "momentum"
        await pilot.press("d")
        await pilot.pause()
        assert app.state.config.dataset == "circles"
        assert app.state.trainer.data.name == "circles"
        assert app.state.trainer.step_count == 0
        await pilot.press("d", "d")  # moons, spiral: three classes get softmax and cross-entropy
        await pilot.pause()
        assert app.state.config.dataset == "spiral"
        assert app.state.config.output == "softmax" and app.state.config.loss == "cross_entropy"
        await pilot.press("space")
        await pilot.pause()
        assert app.screen.query_one("#confusion").display
        assert app.screen.query_one("#boundary-map").display


async def test_help_lists_every_key():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        text = text_of(app.screen.query_one("#help-table"))
        for k in KEYS:
            assert k.help in text.replace("\n", " ") or k.help[:30] in text, k.help
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)


async def test_command_palette_runs_actions_by_name():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"Double the learning")
        await pilot.pause(0.5)
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.state.trainer.lr == 2.0, "the palette command")


async def test_save_then_load_restores_the_run(tmp_path):
    app = make_app()
    path = tmp_path / "run.npz"
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("space", "space", "space")
        saved_theta = app.state.trainer.net.theta.copy()
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert isinstance(app.screen, PathPrompt)
        prompt = app.screen.query_one("#prompt-input")
        prompt.value = str(path)
        await pilot.press("enter")
        await wait_for(pilot, path.exists, "the saved file")
        await pilot.press("space", "space")
        assert app.state.trainer.step_count == 5
        await pilot.press("ctrl+o")
        await pilot.pause()
        app.screen.query_one("#prompt-input").value = str(path)
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.state.trainer.step_count == 3, "the loaded run")
        np.testing.assert_array_equal(app.state.trainer.net.theta, saved_theta)
        assert "step 3" in status(app)
        assert f"loss {app.state.trainer.evaluate(record=False)['loss']:.4g}" in status(app)  # at the loaded weights


async def test_loading_a_bad_file_notifies_and_keeps_the_run(tmp_path):
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a zip file at all")
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("space")
        theta = app.state.trainer.net.theta.copy()
        await pilot.press("ctrl+o")
        await pilot.pause()
        app.screen.query_one("#prompt-input").value = str(bad)
        await pilot.press("enter")
        await wait_for(pilot, lambda: any(n.severity == "error" for n in app._notifications), "the notification")
        assert any("bad.npz" in n.message for n in app._notifications)
        np.testing.assert_array_equal(app.state.trainer.net.theta, theta)
        await pilot.press("space")  # still running
        assert app.state.trainer.step_count == 2


async def test_e_exports_the_history_as_csv(tmp_path):
    path = tmp_path / "history.csv"
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("space", "space", "space", "e")
        await pilot.pause()
        app.screen.query_one("#prompt-input").value = str(path)
        await pilot.press("enter")
        await wait_for(pilot, path.exists, "the CSV file")
        with open(path, newline="") as f:
            rows = list(csv.reader(f))
        assert rows == [[str(c) for c in r] for r in app.state.trainer.history.csv_rows()]
        assert len(rows) == 5  # header, the evaluation before step 1, 3 steps (each evaluated)
        assert [r[0] for r in rows[1:]] == ["0", "1", "2", "3"] and all(r[5] for r in rows[1:])


async def test_q_quits():
    app = make_app(epochs=10**9)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("p")
        await wait_for(pilot, lambda: app.state.trainer.step_count > 10, "training")
        await pilot.press("q")
        await pilot.pause()
    assert app.return_code == 0
    assert not app.state.worker_active


async def test_non_finite_step_pauses_and_explains_where():
    app = make_app(sizes=[2, 16, 16, 1], hidden="relu", output="linear", loss="mse", init="he", lr=1e6,
                   epochs=10**9)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("p")
        await wait_for(pilot, lambda: not app.state.worker_active, "the guard stopping play")
        await pilot.pause()
        trainer = app.state.trainer
        assert trainer.halted is not None
        assert np.all(np.isfinite(trainer.net.theta))
        assert "STOPPED" in status(app)
        assert any(trainer.halted.message in n.message for n in app._notifications)
        assert "stopped" in text_of(app.screen.query_one("#diag-body"))
        plot = app.screen.query_one("#loss-plot")  # a loss of 1e33 still draws: on a log axis, by itself
        assert plot.auto_log
        assert any("\u2800" < ch <= "\u28ff" for ch in text_of(plot))
        await pilot.press("space")  # refused again, explained again, still running
        await pilot.pause()
        assert app.state.trainer.halted is not None


async def test_u_rewinds_a_blown_up_run_and_a_lower_lr_trains_on():
    """The guard keeps the last finite weights, but they are huge by then; u goes back to a
    checkpoint from before the blow-up, and - (lower lr) lets training carry on."""
    app = make_app(sizes=[2, 16, 16, 1], hidden="relu", output="linear", loss="mse", init="he", lr=0.01,
                   epochs=10**9)
    async with app.run_test(size=SIZE) as pilot:
        for _ in range(60):
            await pilot.press("space")
        good_theta = app.state.trainer.net.theta.copy()
        for _ in range(20):  # lr 0.01 -> 1e4: the run blows up
            await pilot.press("plus")
        await pilot.press("p")
        await wait_for(pilot, lambda: not app.state.worker_active, "the guard stopping play")
        trainer = app.state.trainer
        assert trainer.halted is not None
        assert any("Press u to rewind" in n.message for n in app._notifications)
        await pilot.press("u")
        await pilot.pause()
        assert trainer.halted is None
        assert trainer.step_count == 60  # the checkpoint taken when the lr was first changed
        assert np.array_equal(trainer.net.theta, good_theta)
        for _ in range(20):
            await pilot.press("minus")
        for _ in range(5):
            await pilot.press("space")
        await pilot.pause()
        assert trainer.halted is None and trainer.step_count == 65
        assert np.all(np.isfinite(trainer.net.theta))


@pytest.mark.parametrize("size", [(120, 40), (80, 24), (60, 20), (200, 60), (80, 24), (30, 8), (120, 40)])
async def test_resizing_never_crashes(size):
    app = make_app(dataset="spiral", sizes=[2, 32, 32, 3], output="softmax", loss="cross_entropy")
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("space")
        await pilot.resize_terminal(*size)
        await pilot.pause()
        await pilot.press("space", "right_square_bracket")
        await pilot.pause()
        notice = app.screen.query_one("#too-small")
        if size[0] < 80 or size[1] < 24:
            assert notice.display
            assert "Make the terminal larger" in text_of(notice)
        else:
            assert not notice.display
        await pilot.resize_terminal(120, 40)
        await pilot.pause()
        assert not notice.display


async def test_v_cycles_the_right_panel_in_the_compact_layout():
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        screen = app.screen
        assert screen.layout_mode == "compact"
        assert screen.query_one("#weights").display and not screen.query_one("#network").display
        await pilot.press("v")
        await pilot.pause()
        assert screen.query_one("#network").display and not screen.query_one("#weights").display
        await pilot.press("v")
        await pilot.pause()
        assert screen.query_one("#diagnostics").display
        assert screen.query_one("#diagnostics").region.x > screen.query_one("#loss").region.x


async def test_every_key_has_an_action():
    app = make_app()
    for k in KEYS:
        name = k.action.split("(")[0]
        assert hasattr(app, f"action_{name}"), k


async def test_the_mouse_drives_the_footer():
    from textual.widgets._footer import FooterKey

    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        # The footer is composed again as the screen settles: click a key that has stayed put.
        def laid_out():
            return next((k for k in app.screen.query(FooterKey) if k.action == "step" and k.region.width), None)

        step_key = None
        while step_key is None or laid_out() is not step_key:
            step_key = laid_out()
            await pilot.pause(0.3)
        await pilot.click(step_key)
        await pilot.pause()
        assert app.state.trainer.step_count == 1
        help_key = next(k for k in app.screen.query(FooterKey) if k.action == "help")
        await pilot.click(help_key)
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)


async def test_shift_l_opens_the_lessons_over_the_run_and_esc_comes_back_to_it(tmp_path, monkeypatch):
    """Issue 12 item 7: L no longer throws the run away; esc on the lesson list returns to it."""
    from tui.screens.lesson import LessonScreen
    from tui.screens.lesson_list import LessonListScreen

    monkeypatch.setenv("NETSTEP_DATA_DIR", str(tmp_path))
    app = make_app(epochs=10**9)
    async with app.run_test(size=SIZE) as pilot:
        before = app.view.log_scale
        await pilot.press("l")
        await pilot.pause()
        assert app.view.log_scale == (not before) and app.is_running
        await pilot.press("p")
        await wait_for(pilot, lambda: app.state.trainer.step_count > 50, "training while playing")
        await pilot.press("L")
        await wait_for(pilot, lambda: isinstance(app.screen, LessonListScreen), "the lesson list")
        assert app.is_running and not app.state.worker_active   # paused, not thrown away
        step, theta = app.state.trainer.step_count, app.state.trainer.net.theta.copy()
        await pilot.press("space")                               # the dashboard's keys sleep here
        await pilot.press("enter")                               # a lesson, over its own run
        await wait_for(pilot, lambda: isinstance(app.screen, LessonScreen) and not app.screen.busy, "a lesson")
        await pilot.press("space")
        await pilot.pause()
        assert app.screen.session.trainer is not app.state.trainer
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, LessonListScreen), "back to the list")
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, MainScreen), "back to the dashboard")
        assert app.state.trainer.step_count == step
        np.testing.assert_array_equal(app.state.trainer.net.theta, theta)
        await pilot.pause()
        assert f"step {step:,}" in status(app)
        await pilot.press("space")
        await pilot.pause()
        assert app.state.trainer.step_count == step + 1


async def test_help_scrolls_to_its_last_line_at_80x24():
    """Issue 12 item 6: the help box cut its scroll area at the screen's edge, so the last
    keys could not be reached. Now end (and pagedown) brings the last line into view."""
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        scroll = app.screen.query_one("#help-scroll")
        box = app.screen.query_one("#help-box")
        table = app.screen.query_one("#help-table")
        assert app.screen.focused is scroll
        assert scroll.region.bottom <= box.region.bottom - 1 <= 24   # the scroll area is inside the box
        last = table.virtual_region.height - 1                       # the last help line, in the table

        def last_on_screen():
            top = scroll.scroll_offset.y
            return top <= last < top + scroll.scrollable_content_region.height

        assert not last_on_screen()
        await pilot.press("end")
        await pilot.pause()
        assert last_on_screen()
        await pilot.press("home")
        await pilot.pause()
        for _ in range(10):
            await pilot.press("pagedown")
        await pilot.pause()
        assert last_on_screen()


async def test_lr_up_past_the_cap_shows_one_notification():
    """Issue 12 item 10: + past the cap stacked a toast per press; now one, updated."""
    app = make_app(lr=2.0 ** 18)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        for _ in range(5):
            await pilot.press("plus")
        await pilot.pause()
        await pilot.pause()
        messages = [n.message for n in app._notifications]
        assert len([m for m in messages if "learning rate" in m]) == 1, messages
        assert app.state.trainer.lr == 2.0 ** 19   # the one doubling that fitted under the cap


async def test_status_line_and_diagnostics_show_one_step_and_one_loss():
    """Issue 12 item 8: the status line's loss is the full-data training loss at the
    current weights (what `netstep train --json` reports), labelled so, at the step the
    diagnostics panel's footer names."""
    app = make_app(epochs=10**9)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("p")
        await wait_for(pilot, lambda: app.state.trainer.step_count > 500, "play")
        await pilot.press("p")
        await wait_for(pilot, lambda: not app.state.worker_active, "pause")
        await pilot.pause()
        trainer = app.state.trainer
        n = trainer.step_count
        loss = trainer.evaluate(record=False)["loss"]
        from tui.fmt import num  # the status line's one formatter
        assert f"step {n:,}" in status(app) and f"train loss {num(loss, 9, 4)}" in status(app)
        diagnostics = app.screen.query_one("#diagnostics")
        assert diagnostics.border_subtitle.startswith(f"step {n} ")
        assert app.state.latest.diagnostics["step"] == n == app.state.latest.step
