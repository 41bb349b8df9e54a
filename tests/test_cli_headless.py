"""The headless CLI: `netstep train` and `netstep gradcheck` as the contract fixes them.

Most cases call tui.cli.main in-process (fast); a few run `python -m tui` in a
subprocess to check what a user really sees: exit status, stdout, stderr.
"""

import json
import subprocess
import sys
import warnings

import pytest

from tui.cli import main

TRAIN_KEYS = {"loss", "accuracy", "epochs", "steps", "seconds", "config", "diagnostics"}


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def netstep(*argv):
    return subprocess.run([sys.executable, "-m", "tui", *argv], capture_output=True, text=True, timeout=600)


def one_json_document(out):
    doc = json.loads(out)  # raises if anything else is on stdout
    assert out.strip().count("\n") == 0, "one JSON document on one line"
    return doc


# ----- train -------------------------------------------------------------------------------

def test_train_seed_preset_json_is_the_course_outcome(capsys):
    code, out, err = run(capsys, "train", "--preset", "seed", "--json")
    assert code == 0
    doc = one_json_document(out)
    assert TRAIN_KEYS <= set(doc)
    assert doc["accuracy"] == 0.5
    assert doc["epochs"] == 5000 and doc["steps"] == 5000
    assert doc["loss"] == pytest.approx(0.125, abs=1e-6)
    assert doc["config"]["seed"] == 42 and doc["config"]["sizes"] == [2, 3, 1] and doc["config"]["loss"] == "mse"
    assert isinstance(doc["seconds"], (int, float)) and doc["seconds"] >= 0
    assert isinstance(doc["diagnostics"], dict)
    assert err == ""  # no progress bar when stderr is not a terminal


def test_train_default_json_reaches_full_accuracy(capsys):
    code, out, _ = run(capsys, "train", "--json")
    assert code == 0
    doc = one_json_document(out)
    assert TRAIN_KEYS <= set(doc)
    assert doc["accuracy"] == 1.0
    assert doc["epochs"] == 2000 and doc["config"]["dataset"] == "xor"
    assert 0 <= doc["loss"] < 0.1


def test_train_with_a_test_split_reports_test_accuracy(capsys):
    code, out, _ = run(capsys, "train", "--preset", "circles", "--epochs", "5", "--json")
    assert code == 0
    doc = one_json_document(out)
    assert 0 <= doc["test_accuracy"] <= 1 and "test_loss" in doc
    assert doc["epochs"] == 5


def test_flags_override_the_preset(capsys, tmp_path):
    config = tmp_path / "run.toml"
    config.write_text('lr = 0.3\nepochs = 4\nsizes = [2, 5, 1]\n')
    code, out, _ = run(capsys, "train", "--preset", "seed", "--config", str(config), "--epochs", "3",
                       "--optimizer", "momentum", "--batch-size", "2", "--json")
    assert code == 0
    doc = one_json_document(out)
    c = doc["config"]
    assert (c["lr"], c["epochs"], c["sizes"], c["optimizer"], c["batch_size"], c["seed"]) == (0.3, 3, [2, 5, 1], "momentum", 2, 42)
    assert doc["epochs"] == 3 and doc["steps"] == 6


def test_train_summary_without_json(capsys):
    code, out, err = run(capsys, "train", "--epochs", "50")
    assert code == 0
    assert "loss" in out and "accuracy" in out and "50 epochs" in out


def test_train_save_writes_a_loadable_run(capsys, tmp_path):
    import engine

    path = tmp_path / "run.npz"
    code, out, _ = run(capsys, "train", "--epochs", "20", "--save", str(path), "--json")
    assert code == 0
    assert one_json_document(out)["saved"] == str(path)
    assert engine.io.load(path).epoch_count == 20


def test_train_json_of_a_diverging_run_is_still_valid_json(capsys):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        code, out, err = run(capsys, "train", "--dataset", "moons", "--sizes", "2,8,8,8,1", "--hidden", "linear",
                             "--output", "linear", "--loss", "mse", "--init", "he", "--lr", "50", "--epochs", "50",
                             "--json")
    assert code == 0
    doc = one_json_document(out)  # NaN/inf would not be JSON: they come out as null
    assert doc["stopped"]["quantity"] == "Z3" and doc["epochs"] < 50
    # The guard's report is the message; NumPy's overflow warnings are not repeated at the user.
    assert not [w for w in caught if issubclass(w.category, RuntimeWarning)]
    assert err == ""


# ----- gradcheck ----------------------------------------------------------------------------

def test_gradcheck_passes_with_a_table(capsys):
    code, out, _ = run(capsys, "gradcheck")
    assert code == 0
    for name in ("W1", "b1", "W2", "b2"):
        assert name in out
    assert "PASSED" in out


def test_gradcheck_json(capsys):
    code, out, _ = run(capsys, "gradcheck", "--json")
    assert code == 0
    doc = one_json_document(out)
    assert {"errors", "passed", "skipped", "threshold"} <= set(doc)  # the contract's keys, plus extra ones
    assert doc["passed"] is True and doc["skipped"] == {"W1": 0, "b1": 0, "W2": 0, "b2": 0}
    assert set(doc["errors"]) == {"W1", "b1", "W2", "b2"}
    assert all(0 <= e < 1e-7 for e in doc["errors"].values())


def test_gradcheck_seed_preset_passes_and_mentions_the_kinks(capsys):
    code, out, _ = run(capsys, "gradcheck", "--preset", "seed")
    assert code == 0
    assert "kink" in out


def test_gradcheck_exits_1_when_it_fails(capsys, monkeypatch):
    # A backward pass with a 1% error in dW1: the check fails, names W1, and exits 1.
    import engine

    right = engine.MLP.backward

    def wrong(self, cache, Y, loss, l2=0.0):
        grads = right(self, cache, Y, loss, l2)
        grads["dW1"] *= 1.01
        return grads

    monkeypatch.setattr(engine.MLP, "backward", wrong)
    code, out, _ = run(capsys, "gradcheck", "--json")
    assert code == 1
    doc = one_json_document(out)
    assert doc["passed"] is False
    assert doc["errors"]["W1"] == pytest.approx(0.01 / 1.01, rel=1e-3) and doc["errors"]["W2"] < 1e-7
    code, out, _ = run(capsys, "gradcheck")
    assert code == 1 and "FAIL" in out


def test_gradcheck_of_a_diverged_run_fails_with_strict_json(capsys):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        code, out, err = run(capsys, "gradcheck", "--dataset", "moons", "--sizes", "2,8,8,8,1", "--hidden", "linear",
                             "--output", "linear", "--loss", "mse", "--init", "he", "--lr", "50", "--steps", "10",
                             "--json")
    assert code == 1
    doc = json.loads(out, parse_constant=lambda c: pytest.fail(f"not strict JSON: {c}"))
    assert doc["passed"] is False and all(v is None for v in doc["errors"].values())
    assert not [w for w in caught if issubclass(w.category, RuntimeWarning)] and err == ""


# ----- user errors ----------------------------------------------------------------------------

BAD = [
    (["train", "--lr", "abc"], ["lr", "positive"]),
    (["train", "--lr", "-1"], ["lr"]),
    (["train", "--preset", "nope"], ["nope", "seed", "default"]),
    (["train", "--bogus"], ["--bogus"]),
    (["train", "--sizes", "2,x,1"], ["sizes", "2,4,1"]),
    (["train", "--sizes", "2"], ["sizes"]),
    (["train", "--hidden", "swish"], ["swish", "relu"]),
    (["train", "--loss", "bce", "--output", "linear"], ["loss", "sigmoid"]),
    (["train", "--seed", "99999999999"], ["seed"]),
    (["train", "--epochs", "-3"], ["epochs"]),
    (["train", "--set", "dataset_options.n_samples=lots", "--dataset", "moons"], ["n_samples"]),
    (["train", "--dataset", "csv:/nonexistent/points.csv"], ["not found"]),
    (["gradcheck", "--lr", "0"], ["lr"]),
    (["gradcheck", "--steps", "-1"], ["--steps"]),
    (["frobnicate"], ["frobnicate"]),
]


@pytest.mark.parametrize("argv,words", BAD, ids=[" ".join(a) for a, _ in BAD])
def test_user_errors_exit_2_with_one_line(capsys, argv, words):
    code, out, err = run(capsys, *argv)
    assert code == 2
    assert out == ""
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    for word in words:
        assert word in lines[0], (word, lines[0])


@pytest.mark.parametrize("content,words", [
    ("lr = = 2\n", ["TOML"]),
    ("learning_rate = 0.1\n", ["learning_rate", "unknown field"]),
    (None, ["cannot read"]),
])
def test_bad_config_file_exits_2(capsys, tmp_path, content, words):
    path = tmp_path / "run.toml"
    if content is not None:
        path.write_text(content)
    code, out, err = run(capsys, "train", "--config", str(path))
    assert code == 2 and out == ""
    assert len(err.splitlines()) == 1
    for word in words:
        assert word in err


def test_bad_json_config_exits_2(capsys, tmp_path):
    path = tmp_path / "run.json"
    path.write_text('{"lr": }')
    code, _, err = run(capsys, "gradcheck", "--config", str(path))
    assert code == 2 and "JSON" in err and len(err.splitlines()) == 1


# ----- as a user runs it -----------------------------------------------------------------------

def test_python_dash_m_tui_train_json():
    proc = netstep("train", "--preset", "seed", "--json")
    assert proc.returncode == 0, proc.stderr
    doc = one_json_document(proc.stdout)
    assert TRAIN_KEYS <= set(doc) and doc["accuracy"] == 0.5
    assert proc.stderr == ""


@pytest.mark.parametrize("argv", [["train", "--lr", "abc"], ["train", "--unknown-flag"],
                                  ["gradcheck", "--preset", "nope"]])
def test_python_dash_m_tui_user_error(argv):
    proc = netstep(*argv)
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert len(proc.stderr.splitlines()) == 1 and "Traceback" not in proc.stderr


# ----- one CLI, two ways in; help from the engine's names (issue 11 part 5) -------------------------

def test_python_m_tui_and_netstep_behave_the_same():
    import pathlib

    script = pathlib.Path(sys.executable).parent / "netstep"
    if not script.exists():
        pytest.skip("the netstep script is not installed next to this Python")
    for argv in (["--help"], ["train", "--help"], ["train", "--sizes", "3,4,1"], ["presets"], ["nonsense"]):
        a = netstep(*argv)
        b = subprocess.run([str(script), *argv], capture_output=True, text=True, timeout=600)
        assert (a.returncode, a.stdout, a.stderr) == (b.returncode, b.stdout, b.stderr), argv
    assert netstep("train", "--sizes", "3,4,1").returncode == 2


def test_help_lists_the_engines_own_names(capsys):
    from engine import activations, datasets, init, losses, optim, scenarios

    with pytest.raises(SystemExit):
        main(["train", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    for name in (*datasets.NAMES, *activations.HIDDEN, *activations.OUTPUT, *losses.LOSSES, *init.INITS,
                 *optim.OPTIMIZERS):
        assert name in out, name
    with pytest.raises(SystemExit):
        main(["demo", "--help"])
    out = capsys.readouterr().out
    assert all(name in out for name in scenarios.NAMES)


# ----- train prints what --json carries (issue 12 item 9) -------------------------------------------

def test_train_without_json_prints_the_diagnostics_warnings(capsys):
    code, out, _ = run(capsys, "train", "--preset", "seed")
    assert code == 0 and "accuracy  50.0%" in out
    code, js, _ = run(capsys, "train", "--preset", "seed", "--json")
    warnings_ = one_json_document(js)["diagnostics"]["warnings"]
    assert warnings_, "the seed run has warnings to show"
    for w in warnings_:
        assert w["message"] in out


# ----- gradcheck: a parameter all on kinks is not checked (issue 12 item 4) -------------------------

def test_gradcheck_seed_json_gives_null_for_b1_and_the_skipped_counts(capsys):
    code, out, _ = run(capsys, "gradcheck", "--preset", "seed", "--json")
    assert code == 0
    doc = one_json_document(out)
    assert doc["errors"]["b1"] is None
    assert all(isinstance(doc["errors"][n], float) for n in ("W1", "W2", "b2"))
    assert doc["skipped"] == {"W1": 0, "b1": 3, "W2": 0, "b2": 0} and doc["unchecked"] == ["b1"]
    assert doc["passed"] is True and doc["threshold"] == 1e-7 and doc["course_threshold"] == 1e-5
    code, out, _ = run(capsys, "gradcheck", "--preset", "seed")
    b1 = next(line for line in out.splitlines() if line.startswith("b1 "))
    assert "not checked" in b1 and "pass" not in b1
    assert "stricter than the course's 1e-5" in out
