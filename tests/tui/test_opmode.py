"""Pilot tests for op mode (n / b), the trace log and editing a weight, on the `seed` preset.

The numbers on screen are read back and compared with the engine's own arrays from an
independent run of the same preset: exactly (the repr of every float64) with `f`,
and as the 4-digit rounding without it.
"""

from __future__ import annotations

import re

import numpy as np

import engine
import engine.plane
from engine.stepper import result_norm
from tests.tui.app_helpers import make_app, status, text_of, wait_for
from tui.opstate import update_parts
from tui.screens.edit_weight import EditWeightScreen
from tui.screens.op_detail import OpDetailScreen
from tui.screens.ops import OpScreen
from tui.widgets.opmode.numbers import number

SIZE = (120, 40)
OPS_PER_CYCLE = 17   # seed: forward 4, loss 1, backward 8, update 4


def seed_trainer():
    return engine.build(engine.presets["seed"])


def op_text(app) -> str:
    return text_of(app.screen.query_one("#op-body"))


def read_block(text, title, shape):
    """The entries of the block titled `title` as the strings shown, row by row."""
    lines = text.splitlines()
    pattern = re.compile(r"(?:^|\s)(" + re.escape(title) + r") (?:\(|scalar)")
    for y, line in enumerate(lines):
        m = pattern.search(line)
        if m:
            x = m.start(1)
            break
    else:
        raise AssertionError(f"no block {title!r} in:\n{text}")
    rows, cols = shape if len(shape) == 2 else (1, 1)
    return [lines[y + 1 + r][x:].split()[:cols] for r in range(rows)]


def expected_blocks(op):
    """Block title -> the engine array it must show, for one Op record."""
    if op.phase == "update":
        old, grad, change, new = update_parts(op)
        return {f"{op.name} (old)": old, "change": change, f"{op.name} (new)": new, f"d{op.name}": grad}
    blocks = dict(op.operands)
    blocks[f"→ {op.name}"] = op.result
    return blocks


def assert_shows(text, op, full):
    assert op.equation.partition("   ")[0] in text
    assert op.shapes in text
    for title, value in expected_blocks(op).items():
        value = np.asarray(value)
        shown = read_block(text, title, value.shape)
        want = [[number(v, full) for v in row] for row in np.atleast_2d(value)]
        assert shown == want, f"{op.name}: block {title}"


async def press_n(pilot, k):
    for _ in range(k):
        await pilot.press("n")
    await pilot.pause()


async def test_n_walks_one_cycle_and_every_number_shown_is_the_engines():
    reference = seed_trainer()
    ops = list(reference.ops())
    assert len(ops) == OPS_PER_CYCLE
    app = make_app("seed")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f")  # every digit: the repr of each float64
        for i, ref in enumerate(ops):
            await pilot.press("n")
            await pilot.pause()
            assert isinstance(app.screen, OpScreen)
            op = app.state.stepper.current
            assert op.index == i and op.phase == ref.phase and op.equation == ref.equation
            text = op_text(app)
            assert_shows(text, ref, full=True)
            assert app.screen.query_one("#op").border_title.endswith(f"· {ref.phase}")  # the phase on show
        assert app.state.trainer.step_count == 1
        np.testing.assert_array_equal(app.state.trainer.net.theta, reference.net.theta)
        plain = seed_trainer()
        plain.step()
        np.testing.assert_array_equal(app.state.trainer.net.theta, plain.net.theta)
        assert "step 1" in status(app)
        # Rounded: the same numbers to 4 significant digits.
        await pilot.press("f")
        await pilot.pause()
        assert_shows(op_text(app), ops[-1], full=False)


async def test_the_update_shows_old_value_change_and_new_value():
    reference = seed_trainer()
    update_W1 = next(op for op in reference.ops() if op.phase == "update" and op.name == "W1")
    app = make_app("seed")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f")
        await press_n(pilot, update_W1.index + 1)
        text = op_text(app)
        assert "W1 <- W1 - lr dW1" in text
        old, grad, change, new = update_parts(update_W1)
        np.testing.assert_array_equal(new, old + change)  # what "= old + change" claims
        np.testing.assert_array_equal(change, -0.5 * grad)  # and "= −lr·dW1", lr 0.5
        assert_shows(text, update_W1, full=True)


async def test_network_and_heatmaps_mark_what_the_op_reads_and_writes():
    reference = seed_trainer()
    ops = list(reference.ops())
    app = make_app("seed")
    async with app.run_test(size=SIZE) as pilot:
        await press_n(pilot, 1)  # Z1 = X W1 + b1
        screen = app.screen
        titles = [text_of(t) for t in screen.query(".map-title")]
        assert "read" in titles[0] and "W1" in titles[0]
        assert "read" in titles[1] and "b1" in titles[1]
        assert "not yet this cycle" in titles[2]  # dW1 is computed later in the cycle
        dims = text_of(screen.query_one("#net-dims"))
        assert re.search(r"Z1 .*written by this op", dims)
        assert re.search(r"W1 .*read by this op", dims)
        assert app.view.layer == 1
        assert "▸ A1" in text_of(screen.query_one("#net-diagram"))

        update_W2 = next(op for op in ops if op.phase == "update" and op.name == "W2")
        await press_n(pilot, update_W2.index)  # on to W2 <- W2 - lr dW2
        assert app.view.layer == 2
        titles = [text_of(t) for t in screen.query(".map-title")]
        assert "written" in titles[0] and "W2" in titles[0]
        assert "read" in titles[2] and "dW2" in titles[2]
        np.testing.assert_array_equal(screen.query_one("#map-W")._M, update_W2.result)
        np.testing.assert_array_equal(screen.query_one("#map-dW")._M, update_W2.operands["dW2"])

        # Back before the update: the heatmap shows W2 as it was then (the record's old value).
        db2 = next(op for op in ops if op.name == "db2")
        for _ in range(update_W2.index - db2.index):
            await pilot.press("b")
        await pilot.pause()
        assert app.state.stepper.current.name == "db2" and app.view.layer == 2
        np.testing.assert_array_equal(screen.query_one("#map-W")._M, update_W2.operands["W2 (old)"])


async def test_back_and_forward_again_show_the_same_numbers():
    app = make_app("seed")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f")
        seen = {}
        for _ in range(OPS_PER_CYCLE + 3):  # into the second cycle
            await press_n(pilot, 1)
            k = app.state.stepper.cursor
            text = op_text(app)
            seen[k] = (text[text.index("\n\n"):], app.screen.query_one("#map-W")._M.copy())
        steps, kept = app.state.trainer.step_count, len(app.state.stepper.ops)
        for _ in range(12):
            await pilot.press("b")
            await pilot.pause()
            k = app.state.stepper.cursor
            text = op_text(app)
            assert text[text.index("\n\n"):] == seen[k][0]
            np.testing.assert_array_equal(app.screen.query_one("#map-W")._M, seen[k][1])
        for _ in range(12):
            await pilot.press("n")
            await pilot.pause()
            k = app.state.stepper.cursor
            text = op_text(app)
            assert text[text.index("\n\n"):] == seen[k][0]
        # Walking over kept operations computes nothing.
        assert app.state.trainer.step_count == steps and len(app.state.stepper.ops) == kept


async def test_stepping_by_ops_and_by_cycles_gives_identical_parameters():
    plain = seed_trainer()
    app = make_app("seed")
    async with app.run_test(size=SIZE) as pilot:
        state = app.state
        await press_n(pilot, 5)
        await pilot.press("space")  # mid-cycle: finishes the open cycle, which is the step
        await pilot.pause()
        plain.step()
        assert state.trainer.step_count == 1 and not state.stepper.in_cycle
        np.testing.assert_array_equal(state.trainer.net.theta, plain.net.theta)
        assert any("finished the open cycle" in n.message for n in app._notifications)
        await pilot.press("space")  # in the op view: a whole cycle through the stepper
        await pilot.pause()
        plain.step()
        assert len(state.stepper.cycle_ops()) == OPS_PER_CYCLE
        await pilot.press("escape")  # the dashboard: the fast path
        await pilot.pause()
        assert not isinstance(app.screen, OpScreen)
        await pilot.press("space")
        plain.step()
        await press_n(pilot, OPS_PER_CYCLE)  # one whole cycle op by op
        plain.step()
        assert state.trainer.step_count == plain.step_count == 4
        np.testing.assert_array_equal(state.trainer.net.theta, plain.net.theta)
        assert state.trainer.history.to_dict() == plain.history.to_dict()


async def test_play_first_finishes_an_open_cycle():
    app = make_app("seed", epochs=10**9)
    async with app.run_test(size=SIZE) as pilot:
        await press_n(pilot, 3)
        assert app.state.stepper.in_cycle
        await pilot.press("p")
        await wait_for(pilot, lambda: app.state.trainer.step_count > 20, "training while playing")
        await pilot.press("p")
        await wait_for(pilot, lambda: not app.state.worker_active, "the worker stopping")
        await pilot.pause()
        trainer = app.state.trainer
        plain = seed_trainer()
        for _ in range(trainer.step_count):
            plain.step()
        np.testing.assert_array_equal(trainer.net.theta, plain.net.theta)
        assert app.state.stepper.current is None  # the kept ops are of cycles long past
        assert "Operation mode" in op_text(app)
        await press_n(pilot, 1)  # a fresh cycle from the current weights
        assert app.state.stepper.current.name == "Z1"


async def test_reset_seed_and_config_changes_reset_the_stepper():
    app = make_app("seed")
    async with app.run_test(size=SIZE) as pilot:
        await press_n(pilot, 4)
        await pilot.press("r")
        await pilot.pause()
        assert app.state.stepper.current is None and not app.state.stepper.in_cycle
        assert app.state.trainer.step_count == 0
        assert app.screen.query_one("#trace-table").row_count == 0
        await press_n(pilot, 2)
        await pilot.press("s")  # new seed
        await pilot.pause()
        assert app.state.stepper.current is None
        await press_n(pilot, 2)
        await pilot.press("a")  # another activation: a rebuilt run
        await pilot.pause()
        assert app.state.stepper.current is None
        await press_n(pilot, 2)
        hidden = app.state.config.hidden
        assert hidden != "relu" and f"A1 = {hidden}(Z1)" in app.state.stepper.current.equation


async def test_trace_log_lists_the_cycle_and_enter_opens_an_op_in_full():
    reference = seed_trainer()
    ops = list(reference.ops())
    app = make_app("seed")
    async with app.run_test(size=SIZE) as pilot:
        await press_n(pilot, OPS_PER_CYCLE)
        table = app.screen.query_one("#trace-table")
        assert table.row_count == OPS_PER_CYCLE
        for i, ref in enumerate(ops):
            row = table.get_row_at(i)
            assert str(row[2]) == ref.equation.partition("   ")[0]
            assert str(row[4]) == number(result_norm(ref))  # the engine's norm of the result
        assert table.cursor_row == OPS_PER_CYCLE - 1
        table.focus()
        await pilot.press("up", "up")
        await pilot.pause()
        assert app.state.stepper.cursor == OPS_PER_CYCLE - 3
        assert ops[-3].equation.partition("   ")[0] in op_text(app)
        # Choose the dW1 row and open it in full, with every digit.
        dW1 = next(op for op in ops if op.name == "dW1")
        for _ in range(table.cursor_row - dW1.index):
            await pilot.press("up")
        await pilot.press("enter")
        await pilot.pause()
        detail = app.screen
        assert isinstance(detail, OpDetailScreen)
        assert app.state.stepper.current.name == "dW1"
        await pilot.press("f")
        await pilot.pause()
        body = text_of(detail.query_one("#opd-body"))
        for name, value in list(dW1.operands.items()) + [("→ dW1", dW1.result)]:
            shown = read_block(body, name, np.shape(value))
            assert shown == [[repr(float(v)) for v in row] for row in np.atleast_2d(value)], name
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, OpScreen)


async def test_b_before_any_op_says_so_and_computes_nothing():
    app = make_app("seed")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("b")
        await pilot.pause()
        assert isinstance(app.screen, OpScreen)
        assert app.state.stepper.current is None and app.state.trainer.step_count == 0
        assert any("no operation yet" in n.message for n in app._notifications)


async def test_op_view_fits_the_compact_layout():
    app = make_app("seed")
    async with app.run_test(size=(80, 24)) as pilot:
        await press_n(pilot, 3)
        screen = app.screen
        assert screen.layout_mode == "compact"
        assert screen.query_one("#op").display and screen.query_one("#weights").display
        assert not screen.query_one("#trace").display
        await pilot.press("v", "v")  # weights -> network -> trace
        await pilot.pause()
        assert screen.query_one("#trace").display and not screen.query_one("#weights").display
        assert screen.query_one("#trace-table").row_count == 3
        await pilot.resize_terminal(60, 20)
        await pilot.pause()
        assert screen.query_one("#too-small").display
        await pilot.resize_terminal(*SIZE)
        await pilot.pause()
        assert screen.layout_mode == "full" and screen.query_one("#trace").display


# ----- editing a weight ---------------------------------------------------------------

async def type_value(pilot, app, text):
    field = app.screen.query_one("#ew-input")
    field.value = text
    await pilot.press("enter")
    await pilot.pause()


async def test_editing_a_weight_is_validated_and_recomputes_without_a_step():
    app = make_app("seed")
    async with app.run_test(size=SIZE) as pilot:
        app.screen.query_one("#weights").focus()
        await pilot.press("down", "right", "right", "enter")  # W1[1,2]
        await pilot.pause()
        dialog = app.screen
        assert isinstance(dialog, EditWeightScreen) and dialog.label == "W1[1,2]"
        for bad, says in (("abc", "not a number"), ("nan", "not finite"), ("inf", "not finite"),
                          ("1e7", "too large"), ("", "type a number")):
            await type_value(pilot, app, bad)
            assert app.screen is dialog
            message = text_of(dialog.query_one("#ew-error"))
            assert says in message and len(message.strip().splitlines()) == 1, (bad, message)
        before = app.state.trainer.net.theta.copy()
        await type_value(pilot, app, "0.75")
        assert not isinstance(app.screen, EditWeightScreen)
        trainer = app.state.trainer
        assert trainer.net.params["W1"][1, 2] == 0.75
        changed = np.flatnonzero(trainer.net.theta != before)
        assert len(changed) == 1 and trainer.step_count == 0
        # The engine's evaluation of the edited network, with no step in between.
        reference = seed_trainer()
        reference.net.params["W1"][1, 2] = 0.75
        expected = reference.evaluate()
        assert app.state.metrics["loss"] == expected["loss"]
        assert app.state.metrics["accuracy"] == expected["accuracy"]
        assert f"loss {expected['loss']:.4g}" in status(app)
        snap = app.state.latest
        predictions = app.screen.query_one("#predictions")
        assert predictions._drawn == (snap.run_id, snap.version)  # the boundary redrew
        # ... from the edited weights: the snapshot's plane is the network's output over the plane now.
        plane = snap.plane
        grid = engine.plane.grid(plane.lo, plane.hi, plane.rows, plane.cols)
        np.testing.assert_array_equal(plane.output.reshape(len(grid), -1), trainer.net.predict(grid))
        assert any("W1[1,2] = 0.75" in n.message for n in app._notifications)


async def test_editing_mid_cycle_drops_the_open_cycle_and_shows_the_forward_pass():
    app = make_app("seed")
    async with app.run_test(size=SIZE) as pilot:
        await press_n(pilot, 6)  # into the backward pass (dA2, layer 2): nothing written yet
        await pilot.press("w")
        await pilot.pause()
        assert isinstance(app.screen, EditWeightScreen) and app.screen.label == "W2[0,0]"
        await type_value(pilot, app, "0.3")
        state = app.state
        assert not state.stepper.in_cycle and state.stepper.current is None
        assert state.trainer.step_count == 0
        reference = seed_trainer()
        reference.net.params["W2"][0, 0] = 0.3
        np.testing.assert_array_equal(state.trainer.net.theta, reference.net.theta)
        assert isinstance(app.screen, OpScreen)
        assert "Edited W2[0,0]" in app.screen.query_one("#op").border_title
        await pilot.press("f")
        await pilot.pause()
        text = op_text(app)
        after = reference.net.predict(reference.X)
        assert read_block(text, "Ŷ after", after.shape) == [[repr(float(v))] for v in after[:, 0]]
        assert "were cleared" in text
        # The next cycle starts from the edited weights: its forward pass is the reference's.
        await press_n(pilot, 4)
        for op, ref in zip(state.stepper.cycle_ops(), reference.ops()):
            np.testing.assert_array_equal(op.result, ref.result)


async def test_editing_during_the_update_finishes_the_cycle_first():
    plain = seed_trainer()
    app = make_app("seed")
    async with app.run_test(size=SIZE) as pilot:
        await press_n(pilot, 15)  # the update was applied when its first op was shown
        assert app.state.trainer.step_count == 1
        await pilot.press("w")
        await pilot.pause()
        await type_value(pilot, app, "-0.25")
        plain.step()
        plain.net.params["W1"][0, 0] = -0.25
        np.testing.assert_array_equal(app.state.trainer.net.theta, plain.net.theta)
        assert app.state.trainer.step_count == 1 and not app.state.stepper.in_cycle


async def test_a_refused_step_in_op_mode_is_explained_and_keeps_the_weights():
    app = make_app(sizes=[2, 16, 16, 1], hidden="relu", output="linear", loss="mse", init="he", lr=1e6)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("space", "space")  # the second step already blows the weights up
        await pilot.pause()
        trainer = app.state.trainer
        assert trainer.halted is None and trainer.step_count == 2
        theta = trainer.net.theta.copy()
        for _ in range(40):
            await pilot.press("n")
            if trainer.halted is not None:
                break
        await pilot.pause()
        assert trainer.halted is not None and trainer.step_count == 2
        np.testing.assert_array_equal(trainer.net.theta, theta)
        assert not app.state.stepper.in_cycle
        assert any(trainer.halted.message in n.message for n in app._notifications)
        assert "STOPPED" in status(app)
        last = app.state.stepper.current
        assert last is not None and last.phase == "backward"  # the ops up to the refusal stay readable
        await pilot.press("b")
        await pilot.pause()
        assert app.state.stepper.cursor == len(app.state.stepper.ops) - 2


async def test_leaving_the_op_view_shows_the_run_as_it_stands():
    app = make_app("seed")
    async with app.run_test(size=SIZE) as pilot:
        await press_n(pilot, 1)  # Z1 = X W1 + b1 reads W1
        assert "read" in text_of(app.screen.query(".map-title").first())
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, OpScreen) and not app.state.op_mode
        assert app.state.latest.op_view is None
        titles = [text_of(t) for t in app.screen.query(".map-title")]
        assert not any("read" in t or "written" in t for t in titles)
        assert app.state.stepper.in_cycle  # the cycle stays open until space (or n) goes on


async def test_enter_opens_the_op_on_show_in_the_compact_layout():
    app = make_app("seed")
    async with app.run_test(size=(80, 24)) as pilot:
        await press_n(pilot, 2)
        assert not app.screen.query_one("#trace").display
        app.screen.set_focus(None)
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, OpDetailScreen) and app.screen.op.name == "A1"
