"""The trainer's shuffling state: one pair of methods, used by checkpoints and run files."""

import numpy as np

import engine


def minibatch_trainer():
    return engine.build(dict(dataset="moons", sizes=[2, 4, 1], batch_size=30, epochs=3, seed=3))


def next_batches(trainer, k):
    out = []
    for _ in range(k):
        trainer.step()
        out.append(trainer.last.Y.copy())
    return out


def test_a_restored_state_replays_the_same_batches_mid_epoch():
    a = minibatch_trainer()
    for _ in range(3):
        a.step()
    state = a.shuffling_state()
    assert 0 < state["pos"] < len(a.X)
    b = minibatch_trainer()
    for _ in range(7):  # elsewhere in its epochs, with its generator moved on
        b.step()
    b.restore_shuffling(state)
    for ya, yb in zip(next_batches(a, 12), next_batches(b, 12)):
        assert np.array_equal(ya, yb)


def test_a_state_that_does_not_fit_starts_the_next_epoch():
    a = minibatch_trainer()
    for _ in range(3):
        a.step()
    state = dict(a.shuffling_state())
    state["perm"] = np.zeros(len(a.X), dtype=np.intp)  # not a permutation
    a.restore_shuffling(state)
    assert a.shuffling_state()["pos"] == 0
    state["pos"] = len(a.X) + 5
    a.restore_shuffling(state)
    assert a.shuffling_state()["pos"] == 0


def test_checkpoints_keep_the_shuffling_through_the_same_method():
    a = minibatch_trainer()
    for _ in range(2):
        a.step()
    a.checkpoint()
    assert a.checkpoints[-1]["shuffling"]["pos"] == a.shuffling_state()["pos"]


def test_files_keep_the_shuffling(tmp_path):
    a = minibatch_trainer()
    for _ in range(4):
        a.step()
    b = engine.io.load(engine.io.save(a, tmp_path / "run.npz"))
    assert b.shuffling_state()["pos"] == a.shuffling_state()["pos"]
    for ya, yb in zip(next_batches(a, 10), next_batches(b, 10)):
        assert np.array_equal(ya, yb)
