"""History.snapshot() (what a checkpoint keeps): restored, it equals a copy() taken at the
same moment, however the live history went on (appends, compaction, bucket merges,
evaluations), and each restore is a history of its own."""

import numpy as np

import engine
from engine.history import History


def same(a: History, b: History):
    assert a.to_dict() == b.to_dict()
    assert a.n_steps == b.n_steps and a.marks == b.marks
    ca, cb = a.curve(), b.curve()
    for name in ("step_lo", "step_hi", "lo", "hi", "last", "steps", "loss"):
        assert np.array_equal(getattr(ca, name), getattr(cb, name)), name


def test_snapshot_restores_what_copy_kept_after_the_history_moves_on():
    rng = np.random.default_rng(0)
    h = History(capacity=8, recent=16)
    snaps = []
    for step in range(1, 600):
        h.add(float(rng.random()))
        if step % 37 == 0:
            h.add_eval(step, {"loss": 0.5, "accuracy": 0.75})
        if step % 23 == 0:
            snaps.append((h.copy(), h.snapshot()))
    assert len(snaps) > 20
    for copied, snap in snaps:
        assert snap.n_steps == copied.n_steps
        same(snap.restore(), copied)


def test_each_restore_is_independent():
    h = History(capacity=8, recent=16)
    for v in range(40):
        h.add(float(v))
    snap = h.snapshot()
    want = h.copy()
    a = snap.restore()
    for v in range(100):
        a.add(-float(v))  # grows, compacts and merges the restored copy
    a.add_eval(200, {"loss": 1.0, "accuracy": 1.0})
    same(snap.restore(), want)
    same(want, snap.restore())


def test_rewind_restores_the_checkpoint_history():
    tr = engine.build(engine.presets["seed"].replace(lr=0.5))
    for _ in range(3000):
        tr.step()
    target = tr.checkpoints.choose(tr)
    expected = target["history"].restore()
    step = tr.rewind()
    assert step == target["step"] and tr.history.n_steps == step
    expected.marks = tr.history.marks  # the checkpoints after it are gone: the marks say so
    same(tr.history, expected)


def test_shuffling_state_follows_every_draw_of_the_generator():
    """shuffling_state() caches the generator's state between draws: it must still be the
    generator's state after a new epoch's permutation, a dropout mask, a restore."""
    for cfg in (dict(dataset="moons", sizes=[2, 4, 1], batch_size=16),
                dict(dataset="moons", sizes=[2, 6, 1], dropout=0.3),
                dict(dataset="moons", sizes=[2, 4, 1])):
        tr = engine.build(engine.RunConfig.from_dict(cfg))
        first = tr.shuffling_state()["rng"]
        for _ in range(40):
            tr.step()
            assert tr.shuffling_state()["rng"] == tr._rng.bit_generator.state
        tr.restore_shuffling({"rng": first, "perm": None, "pos": 0})
        assert tr.shuffling_state()["rng"] == first == tr._rng.bit_generator.state
