"""The bounded history: exact recent steps, min/max/last buckets, the evaluation schedule, Curve."""

import csv
import io

import numpy as np
import pytest

import engine
from engine.history import (CAPACITY, EVAL_ALL_FIRST, RECENT, History, eval_stride, is_eval_step,
                            next_eval_step)


def test_ten_million_steps_keep_a_bounded_number_of_entries():
    h = History()
    rng = np.random.default_rng(0)
    chunk = rng.random(100_000)
    peak = 0
    for _ in range(100):
        h.extend(chunk)
        peak = max(peak, h.stored())
    assert h.n_steps == len(h) == 10_000_000
    assert peak <= 3 * CAPACITY + 2 * RECENT
    c = h.curve()
    assert len(c.lo) <= CAPACITY + 2 * RECENT
    # Every step is in exactly one bucket, in order, and nothing was lost from the envelope.
    assert c.step_lo[0] == 1 and c.step_hi[-1] == 10_000_000
    assert np.array_equal(c.step_lo[1:], c.step_hi[:-1] + 1)
    assert c.lo.min() == chunk.min() and c.hi.max() == chunk.max()


def test_add_and_extend_agree_and_the_tail_is_exact():
    values = np.random.default_rng(1).standard_normal(3 * RECENT + 17) ** 2
    a, b = History(capacity=8), History(capacity=8)
    for v in values:
        a.add(float(v))
    b.extend(values)
    assert a.to_dict() == b.to_dict()
    steps, tail = a.recent_steps()
    assert len(tail) >= RECENT
    assert np.array_equal(tail, values[-len(tail):])
    assert steps[-1] == len(values) and a.last_loss == values[-1]


def test_buckets_hold_min_max_last_of_their_steps_through_merges():
    values = np.random.default_rng(2).random(5000) * 10
    values[1234] = 1e6  # a spike deep in the bucketed part
    h = History(capacity=8, recent=16)
    h.extend(values)
    c = h.curve()
    assert len(c.lo) <= 8 + 32
    for lo_s, hi_s, lo, hi, last in zip(c.step_lo, c.step_hi, c.lo, c.hi, c.last):
        seg = values[lo_s - 1:hi_s]
        assert (lo, hi, last) == (seg.min(), seg.max(), seg[-1])
    assert c.hi.max() == 1e6


def test_curve_is_frozen_and_cached_until_something_new():
    h = History()
    h.extend([3.0, 2.0, 1.0])
    c = h.curve()
    assert h.curve() is c
    with pytest.raises(ValueError):
        c.lo[0] = 0.0
    h.add(0.5)
    c2 = h.curve()
    assert c2 is not c and c2.n_steps == 4 and c.n_steps == 3
    h.add_eval(4, {"loss": 0.4, "accuracy": 0.75})
    assert h.curve() is not c2
    assert h.curve().last_eval["accuracy"] == 0.75


def test_the_evaluation_schedule():
    assert [s for s in range(0, 70) if is_eval_step(s)] == list(range(0, 65)) + [66, 68]
    assert eval_stride(128) == 4 and eval_stride(1 << 20) == 1 << 15
    # 32 a doubling after the first 64 steps, and next_eval_step walks exactly the schedule.
    for k in range(7, 22):
        assert sum(1 for s in range(1 << k, 1 << (k + 1), eval_stride(1 << k)) if is_eval_step(s)) == 32
    s, walked = 0, [0]
    while s < 5000:
        s = next_eval_step(s)
        walked.append(s)
    assert walked[:-1] == [s for s in range(0, 5000) if is_eval_step(s)]
    assert EVAL_ALL_FIRST == 64


def _csv(trainer):
    text = io.StringIO()
    csv.writer(text).writerows(trainer.history.csv_rows())
    return text.getvalue()


@pytest.mark.parametrize("batch_size", [None, 2])
def test_stepped_and_fitted_runs_record_the_same_evaluations(batch_size):
    """The trainer evaluates at scheduled steps by itself: stepping, fitting and extra
    evaluate() calls (the UI's) leave the same record."""
    config = engine.presets["default"].replace(batch_size=batch_size)
    stepped, fitted = engine.build(config), engine.build(config)
    for _ in range(700):
        stepped.step()
        stepped.evaluate()  # as the app does after every key: not recorded off the schedule
    fitted.fit(700 // fitted.steps_per_epoch)
    assert stepped.step_count == fitted.step_count == 700
    assert stepped.history.eval_step == fitted.history.eval_step
    assert stepped.history.eval_step == [s for s in range(701) if is_eval_step(s)]
    assert _csv(stepped) == _csv(fitted)


def test_the_csv_export_is_exactly_what_was_kept():
    trainer = engine.build(engine.presets["default"].replace(epochs=10**6))
    for _ in range(3 * RECENT):
        trainer.step()
    rows = list(trainer.history.csv_rows())
    assert rows[0][:5] == ["step", "last_step", "loss", "loss_min", "loss_max"]
    body = rows[1:]
    assert body[0][0] == "0" and body[0][2] == "" and body[0][5] != ""  # the evaluation before step 1
    c = trainer.history.curve()
    loss_rows = [r for r in body if r[2] != ""]
    assert len(loss_rows) == len(c.lo)
    eval_rows = [r for r in body if r[5] != ""]
    assert [int(r[0]) for r in eval_rows] == c.steps.tolist()
    assert [float(r[5]) for r in eval_rows] == c.loss.tolist()


def test_to_dict_round_trips_and_reads_the_old_per_step_layout():
    values = np.random.default_rng(3).random(5000)
    h = History()
    h.extend(values)
    h.add_eval(5000, {"loss": 0.5, "accuracy": 1.0})
    again = History.from_dict(h.to_dict())
    assert again.to_dict() == h.to_dict()
    # Files saved before the bounded history kept every step in "loss".
    old = {"loss": values.tolist(), "eval_step": [5000.0], "train_loss": [0.5], "accuracy": [1.0],
           "test_loss": [float("nan")], "test_accuracy": [float("nan")]}
    from_old = History.from_dict(old)
    assert from_old.n_steps == 5000 and from_old.eval_step == [5000]
    assert from_old.curve().hi.max() == values.max()
    with pytest.raises(ValueError):
        History.from_dict({**h.to_dict(), "bucket_shape": [3, 1]})


def test_a_run_saved_before_the_bounded_history_still_loads(tmp_path):
    """Old files hold every step's loss in history_loss and no bucket arrays."""
    trainer = engine.build(engine.presets["default"])
    for _ in range(9):
        trainer.step()
    path = engine.io.save(trainer, tmp_path / "new.npz")
    with np.load(path) as z:
        arrays = {k: z[k] for k in z.files if not k.startswith("history_")}
    arrays["history_loss"] = np.arange(9, 0, -1, dtype=np.float64)
    arrays["history_eval_step"] = np.array([0.0, 9.0])
    for name in ("train_loss", "accuracy", "test_loss", "test_accuracy"):
        arrays["history_" + name] = np.array([0.7, 0.5])
    old = tmp_path / "old.npz"
    np.savez(old, **arrays)
    loaded = engine.io.load(old)
    assert loaded.history.n_steps == 9 and loaded.history.last_loss == 1.0
    assert loaded.history.eval_step == [0, 9]
    assert loaded.history.curve().hi.max() == 9.0
    assert loaded.step().ok and loaded.history.n_steps == 10
