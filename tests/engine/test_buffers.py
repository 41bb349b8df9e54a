"""The hot path reuses memory (layer buffers, optimizer scratch, the batch gather buffer) for speed.

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


def test_each_epoch_feeds_every_training_row_exactly_once():
    trainer = build()
    for _ in range(3):
        rows, labels = [], []
        for _ in range(trainer.steps_per_epoch):
            ops = list(trainer.ops())
            rows.append(ops[0].operands["X"])
            labels.append(trainer.result._Y)
        assert sorted(map(tuple, np.concatenate(rows))) == sorted(map(tuple, trainer.X))
        assert sorted(np.concatenate(labels).ravel()) == sorted(trainer.Y.ravel())


def test_step_gathers_each_batch_into_one_reused_buffer_without_touching_held_batches():
    trainer = build()
    run_epochs(trainer, 1)
    buffers = dict(trainer._batch_buffers)  # one per batch size: the full one and the epoch's last, shorter one
    results = [trainer.step() for _ in range(2)]
    labels = [r._Y.copy() for r in results]
    run_epochs(trainer, 3)
    assert {k: id(v) for k, v in trainer._batch_buffers.items()} == {k: id(v) for k, v in buffers.items()}
    for result, kept in zip(results, labels):
        np.testing.assert_array_equal(result._Y, kept)


def test_held_results_do_not_change_training():
    plain, holding = build(), build()
    held = []
    for _ in range(4 * holding.steps_per_epoch):
        plain.step()
        held.append(holding.step())
    assert np.array_equal(plain.net.theta, holding.net.theta)
    assert plain.history.to_dict() == holding.history.to_dict()


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


@pytest.mark.parametrize("shape", [(5, 3), (64, 10), (300, 2), (64, 33), (256, 32)])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_row_sum_is_the_row_sum(shape, dtype):
    Z = np.random.default_rng(2).standard_normal(shape).astype(dtype)
    got = activations.row_sum(Z)
    assert got.shape == (shape[0], 1) and got.dtype == dtype
    np.testing.assert_allclose(got, Z.astype(np.float64).sum(axis=1, keepdims=True),
                               rtol=1e-5 if dtype == np.float32 else 1e-12, atol=1e-5 if dtype == np.float32 else 1e-12)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_relu_forward_on_large_arrays_is_max_with_zero_bit_for_bit(dtype):
    rng = np.random.default_rng(3)
    Z = rng.standard_normal((64, 40)).astype(dtype)  # above the size where a zeros array is used
    Z[0, :4] = [-0.0, 0.0, np.nan, -np.inf]
    relu = activations.get("relu")
    expected = np.maximum(Z, dtype(0))
    out = np.empty_like(Z)
    assert relu.forward(Z, out) is out
    np.testing.assert_array_equal(out.view(np.uint8), expected.view(np.uint8))
    np.testing.assert_array_equal(relu.forward(Z[:, :39]), expected[:, :39])  # strided input, fresh output
    out += 1.0  # the result is the caller's: writing to it must not touch any shared zeros
    np.testing.assert_array_equal(relu.forward(-np.abs(Z[1:])), np.zeros_like(Z[1:]))


@pytest.mark.parametrize("dtype,rtol", [(np.float64, 1e-12), (np.float32, 2e-6)])
def test_softmax_cross_entropy_on_a_tall_batch_matches_log_softmax(dtype, rtol):
    rng = np.random.default_rng(4)
    Z = (rng.standard_normal((300, 10)) * 30).astype(dtype)
    Z[0, 3], Z[1, 0] = 1000.0, -1000.0
    Y = rng.dirichlet(np.ones(10), size=300).astype(dtype)  # soft labels
    Y[:100] = np.eye(10, dtype=dtype)[rng.integers(0, 10, 100)]
    softmax, ce = activations.get("softmax"), engine.losses.get("cross_entropy")
    A = softmax.forward(Z)
    np.testing.assert_allclose(A.sum(axis=1), 1.0, rtol=10 * rtol)
    Z64 = Z.astype(np.float64)
    shifted = Z64 - Z64.max(axis=1, keepdims=True)
    log_A = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    expected = -np.sum(Y.astype(np.float64) * log_A) / len(Z)
    assert ce.value(Z, A, Y, softmax) == pytest.approx(expected, rel=rtol)
