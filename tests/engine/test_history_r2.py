"""A regression run's history records R² (its score) at the evaluation steps, and exports it."""

import math

import numpy as np

import engine
from engine.history import History


def _bumps(**changes):
    config = engine.presets["default"].replace(dataset="bumps", sizes=[2, 8, 1], optimizer="adam", lr=0.02,
                                               **changes)
    return engine.build(config)


def test_a_regression_run_records_r2_at_every_evaluation_and_it_rises():
    t = _bumps()
    for _ in range(200):
        t.step()
    c = t.history.curve()
    assert c.regression and len(c.r2) == len(c.steps) and np.isfinite(c.r2).all()
    assert np.isnan(c.accuracy).all()  # no accuracy: a regression run has none
    assert c.r2[-1] == t.evaluate(record=False)["r2"]
    assert c.r2[-1] > c.r2[0] + 0.3
    assert c.last_eval["r2"] == c.r2[-1]


def test_a_classification_run_keeps_accuracy_and_no_r2():
    t = engine.build(engine.presets["default"])
    for _ in range(5):
        t.step()
    c = t.history.curve()
    assert not c.regression and np.isnan(c.r2).all() and np.isfinite(c.accuracy).all()
    assert next(iter(t.history.csv_rows()))[6] == "accuracy"


def test_the_csv_of_a_regression_run_has_r2_columns_with_the_values():
    t = _bumps(dataset_options={"test_fraction": 0.25})
    for _ in range(10):
        t.step()
    rows = list(t.history.csv_rows())
    header = rows[0]
    assert header[6] == "r2" and header[8] == "test_r2"
    by_step = {int(r[0]): r for r in rows[1:] if r[0] == r[1]}
    h = t.history
    for step, r2, test_r2 in zip(h.eval_step, h.r2, h.test_r2):
        assert float(by_step[step][6]) == r2 and float(by_step[step][8]) == test_r2


def test_saved_and_loaded_r2_survives_and_old_files_get_nan():
    t = _bumps()
    for _ in range(5):
        t.step()
    again = History.from_dict(t.history.to_dict())
    assert again.r2 == t.history.r2 and again.curve().regression
    old = {k: v for k, v in t.history.to_dict().items() if k not in ("r2", "test_r2")}
    loaded = History.from_dict(old)
    assert len(loaded.r2) == len(loaded.eval_step) and all(math.isnan(v) for v in loaded.r2)
    loaded.curve()  # every series as long as the steps
