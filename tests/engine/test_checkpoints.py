"""Checkpoints on a doubling schedule, and rewind to before the loss first rose sharply."""

import math

import numpy as np
import pytest

import engine
from engine.checkpoints import LR_KEPT, RECENT_EVERY, RECENT_KEPT, SHARP_RISE, first_sharp_rise, next_checkpoint_step
from engine.history import History

BLOWUP = dict(sizes=[2, 8, 1], hidden="relu", output="linear", loss="mse", lr=20, epochs=10**6)


def play_until_the_guard_stops(trainer, limit=10_000):
    with np.errstate(all="ignore"):
        for _ in range(limit):
            if not trainer.step().ok:
                return trainer.step_count
    raise AssertionError("the run was meant to blow up")


def full_loss(trainer):
    with np.errstate(all="ignore"):
        return trainer.evaluate(record=False)["loss"]


def test_the_schedule_doubles_and_keeps_a_few_recent():
    trainer = engine.build(engine.presets["default"].replace(epochs=10**6))
    for _ in range(3000):
        trainer.step()
    steps = trainer.checkpoints.steps
    doubling = [0] + [1 << k for k in range(12)]
    assert [s for s in steps if s in doubling] == doubling
    recent = [s for s in steps if s not in doubling]
    assert recent == [2304, 2560, 2816] and len(recent) == RECENT_KEPT
    assert trainer.history.marks == steps == trainer.history.curve().marks
    assert next_checkpoint_step(0) == 1 and next_checkpoint_step(300) == 2 * RECENT_EVERY


def test_lr_changes_checkpoint_and_are_bounded():
    trainer = engine.build(engine.presets["default"].replace(epochs=10**6))
    for i in range(20):
        for _ in range(3):
            trainer.step()
        trainer.checkpoint()  # what a change of lr does first
    lr_steps = [c["step"] for c in trainer.checkpoints if c["kind"] == "lr"]
    assert lr_steps == [3 * k for k in range(13, 21) if (3 * k) & (3 * k - 1)][-LR_KEPT:]


def test_first_sharp_rise():
    h = History()
    h.extend([1.0, 0.5, 0.4, 0.6, 0.45])
    assert first_sharp_rise(h.curve()) is None
    h.extend([0.4 * SHARP_RISE * 1.01])  # step 6
    assert first_sharp_rise(h.curve()) == 6
    small = History()
    small.extend([1.0, 1e-4, 5e-3, 1e-4])  # noise far below the start is not a blow-up
    assert first_sharp_rise(small.curve()) is None


def test_rewind_rescues_the_lr_20_run():
    """Issue 12 item 5: sizes 2,8,1, relu, linear, mse, lr 20 stops at step 121 (the guard);
    rewind went to step 50 where the loss was ~1e128. Step 2's loss is already 2e5 (measured
    at the weights of step 1), so the only checkpoint from before the blow-up is step 0."""
    trainer = engine.build(engine.presets["default"].replace(**BLOWUP))
    start = full_loss(trainer)
    assert play_until_the_guard_stops(trainer) == 120 and trainer.halted.step == 121
    assert trainer.checkpoints.steps == (0, 1, 2, 4, 8, 16, 32, 64)
    assert trainer.history.curve().rewind_to == 0
    step = trainer.rewind()
    assert step == 0 and trainer.halted is None
    loss = full_loss(trainer)
    assert math.isfinite(loss) and loss == start < 2
    assert trainer.history.n_steps == 0 and trainer.history.marks == (0,)
    # Nothing older: a second rewind stays at the start.
    assert trainer.rewind() == 0


def test_repeated_rewind_walks_further_back():
    """A run trained well, then blown up by a higher rate: rewind lands at the checkpoint
    of the lr change (before the rise), and each further rewind goes one checkpoint back."""
    trainer = engine.build(engine.presets["default"].replace(sizes=[2, 8, 1], hidden="relu", output="linear",
                                                             loss="mse", lr=0.05, epochs=10**6))
    for _ in range(300):
        trainer.step()
    good = trainer.net.theta.copy()
    trainer.checkpoint()
    trainer.lr = 20
    play_until_the_guard_stops(trainer)
    assert trainer.step_count > 300
    walked = []
    for _ in range(4):
        target = trainer.history.curve().rewind_to  # what the plot marks as u's destination
        walked.append(trainer.rewind())
        assert walked[-1] == target
        assert trainer.halted is None and full_loss(trainer) < 1
    assert walked == [300, 256, 128, 64]
    trainer.lr = 0.05
    assert trainer.checkpoints.steps == (0, 1, 2, 4, 8, 16, 32, 64)


def test_rewind_before_a_rise_inside_the_bucketed_past():
    """When the rise is older than the exact tail, rewind goes before its whole bucket."""
    trainer = engine.build(engine.presets["default"].replace(epochs=10**6))
    for _ in range(5000):
        trainer.step()
    h = History()
    losses = np.full(5000, 0.5)
    losses[2600:] = 100.0
    h.extend(losses)
    trainer.history = h
    trainer.checkpoints.take(trainer)  # marks on the replaced history
    c = h.curve()
    rise = first_sharp_rise(c)
    assert rise <= 2601 and c.hi[np.searchsorted(c.step_lo, rise)] == 100.0
    assert trainer.checkpoints.choose(trainer)["step"] < rise - 1


@pytest.mark.parametrize("batch_size", [None, 3])
def test_evaluations_continue_on_schedule_after_a_rewind(batch_size):
    trainer = engine.build(engine.presets["default"].replace(batch_size=batch_size, epochs=10**6))
    for _ in range(200):
        trainer.step()
    trainer.rewind()
    assert trainer.step_count == 128
    for _ in range(72):
        trainer.step()
    fresh = engine.build(engine.presets["default"].replace(batch_size=batch_size, epochs=10**6))
    for _ in range(200):
        fresh.step()
    assert trainer.history.to_dict() == fresh.history.to_dict()
