"""`netstep export-code`: the run as a standalone NumPy script that trains to netstep's own loss.

Each generated file runs in a fresh venv that holds NumPy and nothing else, under `python -I`
with an import hook that refuses engine, tui and every UI library besides, from a folder
outside the repository; its last line must match `netstep train --json`'s "loss" to 1e-9
relative.
"""

import ast
import json
import os
import subprocess
import sys

import numpy as np
import pytest

import engine
from engine import export, share
from tui.cli import main

# Runs the script with engine/tui (and the UI stack) made unimportable, then reports what got imported.
RUNNER = r"""
import runpy, sys
BLOCKED = {"engine", "tui", "textual", "rich", "plotext", "asyncssh", "torch", "sklearn"}
class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ImportError("the exported script may not import " + name)
sys.meta_path.insert(0, Block())
sys.argv = [sys.argv[1]]
runpy.run_path(sys.argv[0], run_name="__main__")
leaked = sorted(m for m in sys.modules if m.split(".")[0] in BLOCKED)
assert not leaked, leaked
"""


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="session")
def bare_python(tmp_path_factory):
    """A fresh venv holding NumPy and nothing else (links to this interpreter's NumPy)."""
    import venv

    home = tmp_path_factory.mktemp("bare-venv")
    venv.EnvBuilder(with_pip=False, symlinks=True).create(home)
    python = home / "bin" / "python"
    purelib = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             capture_output=True, text=True, check=True).stdout.strip()
    numpy_dir = os.path.dirname(os.path.dirname(np.__file__))
    for name in os.listdir(numpy_dir):
        if name == "numpy" or name.startswith("numpy.libs") or name.startswith("numpy-"):
            os.symlink(os.path.join(numpy_dir, name), os.path.join(purelib, name))
    return str(python)


def run_script(path, cwd, python):
    p = subprocess.run([python, "-I", "-c", RUNNER, str(path)], capture_output=True, text=True,
                       cwd=cwd, timeout=600, env={"PATH": os.environ.get("PATH", "")})
    assert p.returncode == 0, p.stderr
    return p.stdout.splitlines()


def test_the_bare_venv_has_numpy_and_not_netstep(bare_python):
    ok = subprocess.run([bare_python, "-I", "-c", "import numpy"], capture_output=True)
    assert ok.returncode == 0
    for name in ("engine", "tui", "textual"):
        p = subprocess.run([bare_python, "-I", "-c", f"import {name}"], capture_output=True, cwd="/")
        assert p.returncode != 0, name


def train_loss(capsys, flags):
    code, out, err = run(capsys, "train", *flags, "--json")
    assert code == 0, err
    return json.loads(out)["loss"]


RUNS = {
    "xor-default": [],
    "seed-preset": ["--preset", "seed"],
    "moons-minibatch-adam": ["--preset", "moons", "--batch-size", "16", "--epochs", "40"],
    "spiral-3-class-softmax": ["--preset", "spiral", "--epochs", "150"],
    "momentum-l2-clip-norm": ["--optimizer", "momentum", "--lr", "0.5", "--l2", "0.01", "--clip", "1", "--epochs", "500"],
    "rmsprop-clip-value-cosine": ["--preset", "circles", "--optimizer", "rmsprop", "--lr", "0.01", "--batch-size", "32",
                                  "--clip", "0.5", "--set", "clip_mode=value", "--set", "schedule=cosine",
                                  "--epochs", "30"],
    "mse-tanh-output-leaky-step": ["--dataset", "circles", "--loss", "mse", "--output", "tanh", "--hidden", "leaky_relu",
                                   "--sizes", "2,8,1", "--lr", "0.1", "--set", "schedule=step",
                                   "--set", "lr_step_size=50", "--epochs", "200"],
    "linear-output-two-activations-exp": ["--dataset", "gaussians", "--loss", "mse", "--output", "linear",
                                          "--hidden", "sigmoid,relu", "--sizes", "2,5,5,1", "--init", "he",
                                          "--lr", "0.05", "--set", "schedule=exponential", "--set", "lr_gamma=0.99",
                                          "--epochs", "200"],
    "softmax-bce-zeros": ["--preset", "spiral", "--loss", "bce", "--init", "zeros", "--epochs", "20"],
    # issue 16: features, L1, dropout (masks drawn from the run's generator), regression
    "features-xor-no-hidden-layer": ["--features", "x1,x2,x1*x2", "--sizes", "3,1", "--epochs", "200"],
    "dropout-l1-l2-minibatch": ["--dataset", "moons", "--sizes", "2,6,5,1", "--hidden", "tanh", "--dropout", "0.3",
                                "--l1", "0.01", "--l2", "0.02", "--batch-size", "32", "--epochs", "20"],
    "regression-bumps-dropout-adam": ["--dataset", "bumps", "--sizes", "2,8,1", "--hidden", "sigmoid", "--dropout", "0.2",
                                      "--optimizer", "adam", "--lr", "0.05", "--epochs", "40"],
    "regression-plane-features-l1": ["--dataset", "plane", "--features", "x1,x2,sin(x1)", "--sizes", "3,1",
                                     "--l1", "0.1", "--lr", "0.3", "--epochs", "50"],
}


@pytest.mark.parametrize("name", list(RUNS))
def test_the_script_trains_to_netsteps_loss(capsys, tmp_path, bare_python, name):
    flags = RUNS[name]
    target = tmp_path / "out" / "net.py"
    target.parent.mkdir()
    code, out, err = run(capsys, "export-code", *flags, "-o", str(target))
    assert code == 0, err
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    lines = run_script(target, cwd=elsewhere, python=bare_python)  # the data is found beside the script, not in cwd
    expected = train_loss(capsys, flags)
    got = float(lines[-1])
    assert lines[-1] == repr(got), "the last line is the loss in full precision"
    assert got == pytest.approx(expected, rel=1e-9, abs=0)


def test_the_script_reads_like_the_course(tmp_path, capsys):
    target = tmp_path / "net.py"
    code, _, _ = run(capsys, "export-code", "--preset", "seed", "-o", str(target))
    assert code == 0
    text = target.read_text()
    for line in ("Z1 = X @ W1 + b1", "A1 = relu(Z1)", "Z2 = A1 @ W2 + b2", "A2 = sigmoid(Z2)",
                 "dA2 = A2 - Yb", "dZ2 = dA2 * sigmoid_prime(A2)", "dW2 = (1 / m) * (A1.T @ dZ2)",
                 "db2 = (1 / m) * np.sum(dZ2, axis=0, keepdims=True)", "dA1 = dZ2 @ W2.T",
                 "dZ1 = dA1 * relu_prime(Z1)", "W1 -= lr * dW1", "rng = np.random.RandomState(42)",
                 "W1 = rng.randn(2, 3) * 0.01"):
        assert line in text, line
    imported = set()
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.Import):
            imported |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            imported.add(node.module.split(".")[0])
    assert imported <= {"numpy", "math", "os"}


def test_small_data_is_inlined_large_data_goes_beside_the_script(tmp_path, capsys):
    small = tmp_path / "xor.py"
    assert run(capsys, "export-code", "-o", str(small))[0] == 0
    assert not (tmp_path / "xor_data.npz").exists()
    assert "X = np.array([\n    [0.0, 0.0]," in small.read_text()
    large = tmp_path / "moons.py"
    code, out, _ = run(capsys, "export-code", "--preset", "moons", "-o", str(large))
    assert code == 0 and "moons_data.npz" in out
    with np.load(tmp_path / "moons_data.npz") as z:
        data = engine.build(engine.presets["moons"]).data
        assert np.array_equal(z["X"], data.X_train) and np.array_equal(z["Y_test"], data.Y_test)
    assert sorted(os.listdir(tmp_path)) == ["moons.py", "moons_data.npz", "xor.py"]  # no temp files left


def test_an_existing_file_is_kept_unless_force(tmp_path, capsys):
    target = tmp_path / "net.py"
    target.write_text("mine\n")
    code, out, err = run(capsys, "export-code", "-o", str(target))
    assert code == 2 and out == "" and err.count("\n") == 1 and "--force" in err
    assert target.read_text() == "mine\n"
    code, _, _ = run(capsys, "export-code", "-o", str(target), "--force")
    assert code == 0 and target.read_text().startswith('"""A netstep run')


def test_state_string_exports_the_same_run(tmp_path, capsys, bare_python):
    flags = ["--preset", "moons", "--batch-size", "32", "--epochs", "10", "--lr", "0.05"]
    state = share.encode(engine.presets["moons"].replace(batch_size=32, epochs=10, lr=0.05))
    code, _, _ = run(capsys, "export-code", "--state", state, "-o", str(tmp_path / "a.py"))
    assert code == 0
    assert float(run_script(tmp_path / "a.py", tmp_path, bare_python)[-1]) == pytest.approx(train_loss(capsys, flags), rel=1e-9)


@pytest.mark.parametrize("extra_steps, optimizer", [(0, "adam"), (3, "adam"), (5, "rmsprop")])
def test_a_saved_run_continues_from_its_weights_and_state(tmp_path, capsys, bare_python, extra_steps, optimizer):
    config = engine.presets["moons"].replace(batch_size=16, epochs=9, optimizer=optimizer, lr=0.01)
    trainer = engine.build(config)
    for _ in range(3):
        trainer.epoch()
    for _ in range(extra_steps):  # mid-epoch: the script must finish that epoch's saved order first
        trainer.step()
    saved = engine.io.save(trainer, tmp_path / "run.npz")
    code, _, err = run(capsys, "export-code", "--run", saved, "-o", str(tmp_path / "resume.py"))
    assert code == 0, err
    while trainer.epoch_count < config.epochs:
        metrics = trainer.epoch()
    assert float(run_script(tmp_path / "resume.py", tmp_path, bare_python)[-1]) == pytest.approx(metrics["loss"], rel=1e-9, abs=0)


@pytest.mark.parametrize("argv, says", [
    (["--run", "/no/such/run.npz"], "not found"),
    (["--run", "RUN", "--lr", "0.1"], "drop --lr"),
    (["--set", "dtype=float32"], "float64"),
    (["--lr", "-3"], "lr"),
    (["--state", "ns1.garbage"], "--state"),
])
def test_bad_requests_are_one_line_and_exit_2(tmp_path, capsys, argv, says):
    if "RUN" in argv:
        trainer = engine.build(engine.RunConfig(epochs=3))
        argv = [a if a != "RUN" else engine.io.save(trainer, tmp_path / "r.npz") for a in argv]
    code, out, err = run(capsys, "export-code", *argv, "-o", str(tmp_path / "x.py"))
    assert code == 2 and out == "" and err.count("\n") == 1 and says in err, err
    assert not (tmp_path / "x.py").exists()


def test_output_in_a_missing_folder_is_refused(tmp_path, capsys):
    code, out, err = run(capsys, "export-code", "-o", str(tmp_path / "nope" / "net.py"))
    assert code == 2 and "does not exist" in err and err.count("\n") == 1


def test_source_alone_needs_no_disk():
    text, saved = export.source(engine.build(engine.presets["seed"]), "seed_data.npz")
    assert saved == {} and text.rstrip().endswith("print(repr(float(loss)))")
    compile(text, "net.py", "exec")


def test_share_race_and_export_stay_free_of_ui_imports():
    check = ("import sys, engine.share, engine.race, engine.export\n"
             "bad = [m for m in ('textual', 'plotext', 'rich', 'asyncssh', 'tui') if m in sys.modules]\n"
             "assert not bad, bad\n")
    p = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr


def test_a_run_using_a_field_the_script_does_not_write_is_refused_not_exported_wrong(monkeypatch):
    import types

    # l1 and dropout are written out now (tested below); a field that is not stays refused.
    monkeypatch.setattr(export, "NOT_WRITTEN", (("future_field", 0.0),))
    trainer = engine.build(engine.RunConfig(epochs=1))
    trainer.config = types.SimpleNamespace(**trainer.config.to_dict(), future_field=0.01)
    with pytest.raises(export.ExportError, match="future_field"):
        export.source(trainer)
    trainer.config = None
    with pytest.raises(export.ExportError, match="RunConfig"):
        export.source(trainer)


def test_a_failed_write_leaves_no_file_behind(tmp_path, capsys, monkeypatch):
    import engine.io

    def full_disk(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(engine.io.os, "fsync", full_disk)  # fails after the bytes went into the temp file
    for preset in ("moons", "default"):  # with a data file beside the script, and without
        code, out, err = run(capsys, "export-code", "--preset", preset, "-o", str(tmp_path / "net.py"))
        assert code == 2 and out == "" and "No space left" in err and err.count("\n") == 1
        assert os.listdir(tmp_path) == []  # neither the script, nor its data, nor a temp file


def test_a_script_that_fails_to_write_takes_its_data_file_back(tmp_path, capsys, monkeypatch):
    import engine.io

    calls = []
    real_fsync = engine.io.os.fsync

    def second_fails(fd):
        calls.append(fd)
        if len(calls) == 2:
            raise OSError(28, "No space left on device")
        real_fsync(fd)

    monkeypatch.setattr(engine.io.os, "fsync", second_fails)
    code, _, err = run(capsys, "export-code", "--preset", "moons", "-o", str(tmp_path / "net.py"))
    assert code == 2 and len(calls) == 2 and "No space left" in err
    assert os.listdir(tmp_path) == []
