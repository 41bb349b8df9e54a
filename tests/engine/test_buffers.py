"""The hot path reuses memory (layer buffers, optimizer scratch, epoch shuffles) for speed.

Reuse must never change what a caller already holds: a StepResult's batch, an op
record's operands, the numbers a backward pass gives with or without an out= buffer.
"""

import numpy as np
import pytest

import engine
from engine import activations

MINIBATCH = dict(dataset="moons", sizes=[2, 8, 1], hidden="relu", init="he", optimizer="adam", lr=0.01,
                 batch_size=16, seed=1)


def build(**changes):
    return engine.build(engine.RunConfig.from_dict(dict(MINIBATCH, **changes)))


def run_epochs(trainer, epochs):
    for _ in range(epochs * trainer.steps_per_epoch):
        assert trainer.step().ok


def test_a_held_step_result_keeps_its_batch_across_later_epochs():
    early, twin = build(), build()
    kept = early.step()
    fresh = twin.step()
    labels = kept._Y.copy()
    run_epochs(early, 4)
    assert np.array_equal(kept._Y, labels)
    assert kept.batch_size == 16
    # Accuracy is computed lazily: asking only now gives what asking at once gave.
    assert kept.accuracy == fresh.accuracy


def test_op_records_keep_their_operands_and_results_after_later_steps():
    trainer = build()
    ops = list(trainer.ops())
    saved = [({k: v.copy() for k, v in op.operands.items()}, op.result.copy()) for op in ops]
    run_epochs(trainer, 3)
    for op, (operands, result) in zip(ops, saved):
        for name, value in operands.items():
            np.testing.assert_array_equal(op.operands[name], value, err_msg=f"{op.name}: {name}")
        np.testing.assert_array_equal(op.result, result, err_msg=op.name)


def test_epoch_shuffles_are_recycled_when_nothing_holds_them():
    trainer = build()
    pointers = []
    for _ in range(5):
        run_epochs(trainer, 1)
        pointers.append(trainer._Xs.__array_interface__["data"][0])
    # Two buffers take turns (one is still in use by the latest batch when the next epoch starts).
    assert pointers[2] == pointers[0] and pointers[3] == pointers[1] and pointers[4] == pointers[0]
    # Each epoch is still a permutation of the whole training set.
    assert sorted(trainer._Ys.ravel()) == sorted(trainer.Y.ravel())
    assert sorted(map(tuple, trainer._Xs[:, :-1])) == sorted(map(tuple, trainer.X))


def test_recycled_shuffles_train_exactly_like_fresh_ones():
    recycled, fresh = build(), build()
    held = []
    for _ in range(4 * fresh.steps_per_epoch):
        recycled.step()
        held.append(fresh.step())  # holding every result keeps every epoch's arrays alive: no reuse
    assert np.array_equal(recycled.net.theta, fresh.net.theta)
    assert recycled.history.loss == fresh.history.loss


@pytest.mark.parametrize("name", list(activations.ACTIVATIONS))
@pytest.mark.parametrize("shape", [(4, 3), (20, 30)])  # below and above ReLU's small-array threshold
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_backward_gives_the_same_numbers_with_or_without_out(name, shape, dtype):
    act = activations.get(name)
    rng = np.random.default_rng(0)
    Z = rng.standard_normal(shape).astype(dtype)
    Z[0, :2] = 0.0  # exact zeros sit on ReLU's kink: both masks must send them to 0
    A = act.forward(Z)
    dA = rng.standard_normal(shape).astype(dtype)
    plain = act.backward(Z, A, dA.copy())
    buf = dA.copy()
    into = act.backward(Z, A, buf, buf)
    assert plain.dtype == into.dtype == dtype
    np.testing.assert_array_equal(plain, into)


@pytest.mark.parametrize("size", [3, 256, 257, 5000])
def test_relu_backward_is_da_times_the_active_mask_at_every_size(size):
    rng = np.random.default_rng(size)
    Z = rng.standard_normal((1, size))
    Z[0, ::7] = 0.0
    dA = rng.standard_normal((1, size))
    np.testing.assert_array_equal(activations.get("relu").backward(Z, np.maximum(Z, 0), dA), dA * (Z > 0))


@pytest.mark.parametrize("shape", [(5, 3), (100, 10), (64, 32), (64, 33), (300, 2)])
def test_row_max_is_the_row_max(shape):
    Z = np.random.default_rng(1).standard_normal(shape)
    Z[1, 0] = np.nan
    np.testing.assert_array_equal(activations.row_max(Z), Z.max(axis=1, keepdims=True))


@pytest.mark.parametrize("opt", ["sgd", "momentum", "adam", "rmsprop"])
def test_optimizers_reuse_their_step_buffer_but_the_trainer_keeps_the_latest_update(opt):
    trainer = build(optimizer=opt)
    before = trainer.net.theta.copy()
    trainer.step()
    np.testing.assert_array_equal(before - trainer.last.delta, trainer.net.theta)
    # The scratch arrays are not optimizer state (not shown, not saved).
    assert set(trainer.opt.state) <= {"v", "m", "s"}


def test_float32_runs_stay_float32_in_every_buffer():
    trainer = build(dtype="float32", sizes=[2, 16, 16, 1])
    run_epochs(trainer, 2)
    last = trainer.last
    assert all(a.dtype == np.float32 for a in last.cache.values())
    assert last.g.dtype == last.delta.dtype == np.float32
    assert all(s.dtype == np.float32 for s in trainer.opt.state.values())
