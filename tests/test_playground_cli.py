"""The issue 16 flags headless: --features, --l1, --dropout, --task, the regression sets, and
their round trip through share, race and gradcheck."""

import json

import numpy as np
import pytest

import engine
from engine import share
from tui.cli import main


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def train_json(capsys, *flags):
    code, out, err = run(capsys, "train", *flags, "--json")
    assert code == 0, err
    return json.loads(out)


def test_product_feature_solves_xor_with_no_hidden_layer(capsys):
    doc = train_json(capsys, "--features", "x1,x2,x1*x2", "--sizes", "3,1")
    assert doc["accuracy"] == 1.0
    assert doc["config"]["features"] == ["x1", "x2", "x1*x2"] and doc["config"]["sizes"] == [3, 1]


def test_features_without_sizes_fill_the_first_width(capsys):
    doc = train_json(capsys, "--features", "x1^2,x2^2,x1*x2", "--epochs", "5")
    assert doc["config"]["sizes"] == [3, 4, 1]


@pytest.mark.parametrize("flags, says", [
    (["--features", "x1,x2,x1*x2", "--sizes", "2,1"], "sizes: features x1,x2,x1*x2 give 3 inputs"),
    (["--sizes", "3,4,1"], "sizes: xor has 2 input features"),
    (["--dataset", "digits", "--features", "x1,x1*x2", "--sizes", "2,10"], "features: x1,x1*x2 are computed from 2-D"),
    (["--features", "x1,cos(x1)"], "allowed: x1, x2, x1^2, x2^2, x1*x2, sin(x1), sin(x2)"),
    (["--dataset", "plane", "--task", "classification"], "task must be regression"),
    (["--dataset", "bumps", "--loss", "bce"], "regression trains with mse"),
    (["--task", "regresion"], "allowed: classification, regression"),
    (["--l1", "-0.5"], "l1: must be a number >= 0"),
    (["--dropout", "1"], "dropout: must be a probability in [0, 1)"),
    (["--dropout", "nan"], "dropout"),
])
def test_bad_values_are_one_line_and_exit_2(capsys, flags, says):
    code, out, err = run(capsys, "train", *flags, "--json")
    assert code == 2 and out == ""
    assert says in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err


@pytest.mark.parametrize("dataset", ["plane", "bumps"])
def test_regression_reports_r2_and_null_accuracy(capsys, dataset):
    doc = train_json(capsys, "--dataset", dataset, "--sizes", "2,16,1", "--optimizer", "adam", "--lr", "0.02",
                     "--epochs", "300")
    assert doc["accuracy"] is None and "test_accuracy" not in doc
    assert doc["r2"] > 0.9 and doc["test_r2"] > 0.8
    assert doc["config"]["task"] == "regression" and doc["config"]["output"] == "linear"
    code, out, _ = run(capsys, "train", "--dataset", dataset, "--epochs", "3")
    assert code == 0 and "R²" in out and "accuracy" not in out


def test_csv_regression_with_task_flag(capsys, tmp_path):
    rng = np.random.default_rng(1)
    X = rng.uniform(-1, 1, (80, 2))
    path = tmp_path / "surface.csv"
    np.savetxt(path, np.c_[X, 0.5 * X[:, 0] - 0.25 * X[:, 1]], delimiter=",", header="a,b,y", comments="")
    doc = train_json(capsys, "--dataset", f"csv:{path}", "--task", "regression", "--sizes", "2,1", "--lr", "0.5",
                     "--epochs", "300")
    assert doc["r2"] > 0.99 and doc["accuracy"] is None


def test_share_round_trips_the_new_fields_and_reproduces_the_losses(capsys):
    flags = ["--dataset", "moons", "--features", "x1,x2,x1*x2,sin(x2)", "--sizes", "4,8,8,1", "--l1", "0.01",
             "--dropout", "0.25", "--batch-size", "32", "--epochs", "15"]
    code, out, _ = run(capsys, "share", *flags)
    assert code == 0
    state = out.strip()
    config, _ = share.decode(state)
    assert config.features == ["x1", "x2", "x1*x2", "sin(x2)"] and config.l1 == 0.01 and config.dropout == 0.25
    assert train_json(capsys, "--state", state)["loss"] == train_json(capsys, *flags)["loss"]
    reg = ["--dataset", "bumps", "--sizes", "2,6,1", "--epochs", "10"]
    code, out, _ = run(capsys, "share", *reg)
    assert share.decode(out.strip())[0].task == "regression"
    got, want = train_json(capsys, "--state", out.strip()), train_json(capsys, *reg)
    assert (got["loss"], got["r2"], got["test_r2"]) == (want["loss"], want["r2"], want["test_r2"])


def test_dropout_is_reproduced_by_the_seed_and_changed_by_another(capsys):
    flags = ["--dataset", "circles", "--sizes", "2,8,1", "--dropout", "0.5", "--epochs", "20"]
    a, b = train_json(capsys, *flags), train_json(capsys, *flags)
    assert a["loss"] == b["loss"]
    plain = train_json(capsys, *flags[:-4], "--epochs", "20")
    assert plain["loss"] != a["loss"]


@pytest.mark.parametrize("vary", ["l1=0,0.05", "dropout=0,0.3", "features=x1,x2;x1,x2,x1*x2"])
def test_race_varies_the_new_fields_each_as_train_would(capsys, vary):
    base = ["--dataset", "moons", "--epochs", "20"]
    code, out, err = run(capsys, "race", "--vary", vary, *base, "--json")
    assert code == 0, err
    rows = json.loads(out)
    field = vary.split("=")[0]
    for row in rows:
        value = ",".join(row["value"]) if isinstance(row["value"], list) else str(row["value"])
        assert row["loss"] == train_json(capsys, *base, f"--{field}", value)["loss"]


def test_gradcheck_with_dropout_and_l1_passes_with_fixed_masks(capsys):
    code, out, err = run(capsys, "gradcheck", "--dataset", "moons", "--sizes", "2,8,8,1", "--dropout", "0.5",
                         "--l1", "0.05", "--steps", "5", "--json")
    doc = json.loads(out)
    assert code == 0 and doc["passed"] and doc["masks_fixed"] and doc["dropout"] == 0.5 and doc["l1"] == 0.05
    code, out, _ = run(capsys, "gradcheck", "--dataset", "moons", "--sizes", "2,8,1", "--dropout", "0.5")
    assert code == 0 and "masks" in out and "PASSED" in out


def test_engine_and_cli_agree_on_the_presets_untouched(capsys):
    """The new fields at their defaults change nothing: the default preset's loss is the plain trainer's."""
    t = engine.build(engine.presets["default"].replace(epochs=50))
    t.fit(50)
    assert train_json(capsys, "--epochs", "50")["loss"] == t.evaluate()["loss"]
