"""engine.safefile, engine.limits and engine.jsonsafe: the shared guards for files, sizes and JSON."""

import json
import math
import os

import numpy as np
import pytest

import engine
from engine import jsonsafe, limits, safefile
from engine.safefile import UnsafeFileError, open_user_file, read_user_file, write_user_file


# ----- reading a user's file -------------------------------------------------------------------

def test_a_regular_file_is_read(tmp_path):
    path = tmp_path / "a.txt"
    path.write_bytes(b"hello")
    assert read_user_file(path, 10, "note") == b"hello"


@pytest.mark.parametrize("make, words", [
    (lambda p: os.mkfifo(p), r"a named pipe \(FIFO\)"),
    (lambda p: p.mkdir(), "a directory"),
], ids=["fifo", "directory"])
def test_non_regular_files_are_refused(tmp_path, make, words):
    path = tmp_path / "thing"
    make(path)
    with pytest.raises(UnsafeFileError, match=f"cannot read note .*thing: it is {words}; expected a regular file"):
        open_user_file(path, 10, "note")


def test_devices_and_sockets_are_refused(tmp_path):
    with pytest.raises(UnsafeFileError, match="a device"):
        open_user_file("/dev/zero", 10, "csv file")
    import socket

    sock_path = tmp_path / "s"
    s = socket.socket(socket.AF_UNIX)
    try:
        s.bind(str(sock_path))
        with pytest.raises(UnsafeFileError, match="a socket"):
            open_user_file(sock_path, 10)
    finally:
        s.close()


def test_a_file_past_the_bound_is_refused_before_reading(tmp_path):
    path = tmp_path / "big"
    with open(path, "wb") as f:
        f.truncate(3 << 20)
    with pytest.raises(UnsafeFileError, match=r"is 3.0 MiB; at most 1.0 MiB is read"):
        read_user_file(path, 1 << 20, "config file")


def test_a_file_swapped_for_a_fifo_after_the_check_is_caught_by_fstat(tmp_path, monkeypatch):
    # The race the fstat closes: os.stat sees a regular file, then a FIFO is opened.
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    regular = os.stat(__file__)
    monkeypatch.setattr(safefile.os, "stat", lambda p, *a, **k: regular)
    with pytest.raises(UnsafeFileError, match="named pipe"):
        open_user_file(fifo, 10)  # O_NONBLOCK: opening the FIFO does not wait for a writer


# ----- confinement (the hook netstep serve sets per session) ----------------------------------------

def test_the_confine_dir_keeps_paths_inside_the_folder(tmp_path, monkeypatch):
    home = tmp_path / "student"
    home.mkdir()
    (home / "mine.csv").write_text("0,1\n1,0\n")
    (tmp_path / "other.csv").write_text("secret\n")
    monkeypatch.setenv(safefile.CONFINE_ENV, str(home))
    assert read_user_file(home / "mine.csv", 100) == b"0,1\n1,0\n"
    for path in (tmp_path / "other.csv", home / ".." / "other.csv", "/etc/passwd", "/dev/pts/1"):
        with pytest.raises(UnsafeFileError, match="only files inside your own folder"):
            read_user_file(path, 100)
    os.symlink(tmp_path / "other.csv", home / "link.csv")
    with pytest.raises(UnsafeFileError, match="only files inside your own folder"):
        read_user_file(home / "link.csv", 100)
    with pytest.raises(UnsafeFileError, match="only files inside your own folder"):
        write_user_file(tmp_path / "out.npz", lambda f: f.write(b"x"))
    assert not (tmp_path / "out.npz").exists()
    # A csv: dataset and a config file go through the same check.
    with pytest.raises(engine.ConfigError, match="only files inside your own folder"):
        engine.build(engine.RunConfig(dataset=f"csv:{tmp_path / 'other.csv'}"))
    with pytest.raises(engine.ConfigError, match="only files inside your own folder"):
        engine.RunConfig.from_file(tmp_path / "other.csv")


# ----- writing ----------------------------------------------------------------------------------------

def test_writes_are_atomic_and_refuse_reserved_names(tmp_path):
    target = tmp_path / "out.csv"
    assert write_user_file(target, lambda f: f.write(b"a,b\n")) == str(target)
    assert target.read_bytes() == b"a,b\n"
    with pytest.raises(RuntimeError):
        write_user_file(target, lambda f: (f.write(b"half"), (_ for _ in ()).throw(RuntimeError("boom"))))
    assert target.read_bytes() == b"a,b\n" and sorted(os.listdir(tmp_path)) == ["out.csv"]
    for name in ("numpy.py", "Thing.PY", "progress.sqlite3"):
        with pytest.raises(UnsafeFileError):
            write_user_file(tmp_path / name, lambda f: f.write(b"x"))
    (tmp_path / "folder").mkdir()
    with pytest.raises(UnsafeFileError, match="is a directory"):
        write_user_file(tmp_path / "folder", lambda f: f.write(b"x"))


# ----- limits ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("raw, expected", [
    ("", limits.MEMORY_BUDGET), ("2M", 2 << 20), ("1.5G", 3 << 29), ("4096", 4096), ("512MiB", 512 << 20),
    ("nonsense", limits.MEMORY_BUDGET), ("0", limits.MEMORY_BUDGET),
])
def test_the_memory_budget_reads_the_environment(monkeypatch, raw, expected):
    monkeypatch.setenv(limits.MEMORY_BUDGET_ENV, raw)
    assert limits.memory_budget() == expected


def test_the_estimate_counts_parameters_data_and_activations():
    config = engine.presets["default"]
    small = limits.estimate(config, 4, 0, 2, 1)
    assert all(v > 0 for v in small.values()) and sum(small.values()) < 1 << 20
    wide = limits.estimate(config.replace(sizes=[2, 1000, 1]), 4, 0, 2, 1)
    assert wide["parameters"] > 100 * small["parameters"]
    many = limits.estimate(config, 100_000, 0, 2, 1)
    assert many["data"] > 1000 * small["data"] and many["activations"] > 1000 * small["activations"]
    # A real run's arrays fit inside its estimate (the estimate errs on the generous side).
    trainer = engine.build(engine.presets["digits"])
    real = trainer.net.theta.nbytes + trainer.X.nbytes + trainer.Y.nbytes + trainer.X_test.nbytes
    assert sum(limits.estimate(trainer.config, len(trainer.X), len(trainer.X_test), 64, 10).values()) > real


def test_a_run_past_the_budget_is_refused_before_its_data_is_made(monkeypatch):
    made = []
    real_load = engine.datasets.load
    monkeypatch.setattr(engine.datasets, "load", lambda *a, **k: made.append(a) or real_load(*a, **k))
    config = engine.presets["default"].replace(dataset="circles", dataset_options={"n_samples": 1_000_000},
                                               sizes=[2, 3000, 1])
    with pytest.raises(engine.ConfigError, match=r"^memory: needs about .* GiB of memory .* the budget is 1.0 GiB"):
        engine.build(config)
    assert made == []


def test_nesting_is_measured_without_recursion():
    deep = []
    for _ in range(100_000):
        deep = [deep]
    assert limits.nesting(deep) == limits.MAX_NESTING + 1
    assert limits.nesting({"a": [1, {"b": 2}]}) == 3
    assert limits.bracket_depth('x = "[[[[" # ]\ny = [[1]]') == 2


# ----- one JSON cleaner ---------------------------------------------------------------------------

def test_the_json_cleaner_turns_nan_and_inf_into_null_and_numpy_into_python():
    doc = {"a": math.nan, "b": [1.0, math.inf, -math.inf], "c": np.float32(2.5), "d": np.array([np.nan, 1.0]),
           "e": (np.int64(3), np.bool_(True)), 7: "seven"}
    text = jsonsafe.dumps(doc)
    assert json.loads(text) == {"a": None, "b": [1.0, None, None], "c": 2.5, "d": [None, 1.0], "e": [3, True],
                                "7": "seven"}
    assert list(json.loads(text)) == ["a", "b", "c", "d", "e", "7"]  # key order kept
    deep = math.nan
    for _ in range(50_000):
        deep = [deep]
    assert jsonsafe.clean(deep) is not None  # no RecursionError in the cleaner itself


def test_the_engine_and_the_server_refuse_the_same_names():
    """engine.safefile (every write) and tui.datadir (paths typed in a served session) keep one
    policy: the progress database and anything Python could run are never a user's file."""
    from engine import safefile
    from tui import datadir

    assert set(safefile.RESERVED_NAMES) == set(datadir._RESERVED_NAMES)
    assert set(safefile.RESERVED_SUFFIXES) == set(datadir._RESERVED_SUFFIXES)
    for name in ("run.pth", "x.so", "m.pyc", "progress.sqlite3-journal"):
        with pytest.raises(safefile.UnsafeFileError):
            safefile.check_write_target(name)
        assert datadir.reserved(name)
