"""`netstep race`: variants of one run side by side, each equal to `netstep train` with that value."""

import json
import subprocess
import sys

import pytest

import engine
from engine import race
from tui.cli import main


def netstep(*argv):
    p = subprocess.run([sys.executable, "-m", "tui", *argv], capture_output=True, text=True, timeout=600)
    return p.returncode, p.stdout, p.stderr


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


KEYS = {"field", "value", "loss", "accuracy", "steps_to_target"}


@pytest.mark.parametrize("base, vary, flag, values", [
    (["--epochs", "150"], "optimizer=sgd,adam,momentum", "--optimizer", ["sgd", "adam", "momentum"]),
    (["--preset", "moons", "--epochs", "12"], "batch-size=16,full", "--batch-size", ["16", "full"]),
])
def test_each_variant_equals_netstep_train_with_that_value(base, vary, flag, values):
    code, out, err = netstep("race", "--vary", vary, *base, "--json")
    assert code == 0, err
    rows = json.loads(out)
    assert isinstance(rows, list) and len(rows) == len(values)
    for row, value in zip(rows, values):
        assert KEYS <= set(row)
        code, out, err = netstep("train", *base, flag, value, "--json")
        assert code == 0, err
        trained = json.loads(out)
        assert row["loss"] == trained["loss"]  # exactly: the same run, the same arithmetic
        assert row["accuracy"] == trained["accuracy"]
        assert row["steps"] == trained["steps"]


def test_values_come_back_as_the_config_holds_them(capsys):
    code, out, _ = run(capsys, "race", "--vary", "lr=0.5,2", "--epochs", "3", "--json")
    assert code == 0
    rows = json.loads(out)
    assert [(r["field"], r["value"]) for r in rows] == [("lr", 0.5), ("lr", 2.0)]
    code, out, _ = run(capsys, "race", "--vary", "sizes=2,3,1;2,8,1", "--epochs", "3", "--json")
    assert code == 0
    assert [r["value"] for r in json.loads(out)] == [[2, 3, 1], [2, 8, 1]]


def first_step_at(config, reached):
    """The step of the first full-data evaluation (the start, then each epoch's end) that meets `reached`."""
    trainer = engine.build(config)
    for _ in range(config.epochs + 1):
        metrics = trainer.evaluate(record=False)
        if reached(metrics["loss"], metrics["accuracy"]):
            return trainer.step_count
        trainer.epoch()
    return None


def test_steps_to_target_is_the_first_evaluation_that_reaches_it(capsys):
    code, out, _ = run(capsys, "race", "--vary", "optimizer=sgd,adam", "--epochs", "300", "--json")
    assert code == 0
    rows = json.loads(out)
    for row in rows:
        config = engine.presets["default"].replace(optimizer=row["value"], epochs=300)
        expected = first_step_at(config, lambda loss, acc: acc >= 1.0)
        assert expected is not None and row["steps_to_target"] == expected
    # a lower bar is reached no later; a loss target is measured on the loss
    code, out, _ = run(capsys, "race", "--vary", "optimizer=sgd,adam", "--epochs", "300", "--target", "0.75", "--json")
    lower = json.loads(out)
    assert all(lo["steps_to_target"] <= hi["steps_to_target"] for lo, hi in zip(lower, rows))
    code, out, _ = run(capsys, "race", "--vary", "optimizer=sgd,adam", "--epochs", "300", "--target-loss", "0.1", "--json")
    for row in json.loads(out):
        config = engine.presets["default"].replace(optimizer=row["value"], epochs=300)
        assert row["steps_to_target"] == first_step_at(config, lambda loss, acc: loss <= 0.1)


def test_a_target_never_reached_is_null_and_the_table_says_so(capsys):
    code, out, _ = run(capsys, "race", "--vary", "lr=0.001,0.002", "--epochs", "5", "--json")
    assert code == 0 and [r["steps_to_target"] for r in json.loads(out)] == [None, None]
    code, out, _ = run(capsys, "race", "--vary", "lr=0.001,0.002", "--epochs", "5")
    assert code == 0
    lines = out.splitlines()
    assert "lr varies" in lines[0] and "to target" in lines[1]
    assert len(lines) == 4 and lines[2].split()[0] == "0.001" and lines[2].split()[-1] == "-"


@pytest.mark.parametrize("argv, says", [
    (["--vary", "colour=red,blue"], "unknown field 'colour'"),
    (["--vary", "lr=0.1,banana"], "lr=banana"),
    (["--vary", "lr=0.1"], "2 to 4 values"),
    (["--vary", "lr=0.1,0.2,0.3,0.4,0.5"], "2 to 4 values"),
    (["--vary", "lr=0.1,0.1"], "must differ"),
    (["--vary", "lr"], "FIELD=V1,V2"),
    (["--vary", "optimizer=sgd,adagrad"], "adagrad"),
    (["--vary", "lr=0.1,0.2", "--target", "2"], "--target"),
    (["--vary", "lr=0.1,0.2", "--target-loss", "nan"], "--target-loss"),
    (["--vary", "dataset=xor,csv:/no/such.csv"], "not found"),
    ([], "--vary"),
])
def test_bad_field_or_value_is_one_line_and_exit_2(capsys, argv, says):
    code, out, err = run(capsys, "race", *argv)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and says in err, err


def test_variants_keep_the_runs_data_and_seed():
    config = engine.presets["moons"].replace(seed=5)
    vs = race.variants(config, "lr", ["0.01", "0.1"])
    assert [v.config.seed for v in vs] == [5, 5]
    assert all(v.config.dataset_options == config.dataset_options for v in vs)
    assert [v.config.lr for v in vs] == [0.01, 0.1]


def test_share_race_and_export_code_do_not_load_textual(tmp_path):
    code = ("import sys, tui.cli\n"
            "assert tui.cli.main(['race', '--vary', 'lr=0.5,1', '--epochs', '2', '--json']) == 0\n"
            "assert tui.cli.main(['share', '--lr', '0.3']) == 0\n"
            f"assert tui.cli.main(['export-code', '-o', {str(tmp_path / 'n.py')!r}]) == 0\n"
            "loaded = [m for m in ('textual', 'plotext', 'rich', 'asyncssh') if m in sys.modules]\n"
            "assert not loaded, loaded\n")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr


def test_a_dataset_option_can_be_raced_and_equals_train_with_it(capsys):
    base = ["--preset", "circles", "--epochs", "20"]
    code, out, err = run(capsys, "race", "--vary", "dataset_options.noise=0.05,0.3", *base, "--json")
    assert code == 0, err
    rows = json.loads(out)
    assert [(r["field"], r["value"]) for r in rows] == [("dataset_options.noise", 0.05), ("dataset_options.noise", 0.3)]
    for row in rows:
        code, out, _ = run(capsys, "train", *base, "--set", f"dataset_options.noise={row['value']}", "--json")
        assert json.loads(out)["loss"] == row["loss"] and json.loads(out)["accuracy"] == row["accuracy"]
    code, _, err = run(capsys, "race", "--vary", "dataset_options.colour=1,2", *base)
    assert code == 2 and "no option 'colour'" in err and err.count("\n") == 1
