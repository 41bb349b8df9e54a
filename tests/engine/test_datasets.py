"""Datasets: every name loads with consistent shapes, labels and seeded reproducibility;
csv:PATH reads numeric files and explains what is wrong with bad ones; the digits ship with the package."""

import subprocess
import sys

import numpy as np
import pytest

import engine
from engine import DataError, datasets

RANDOM_2D = ["circles", "moons", "spiral", "gaussians"]


def check_consistent(d):
    assert d.X_train.ndim == 2 and d.Y_train.ndim == 2
    assert len(d.X_train) == len(d.Y_train) > 0
    assert d.n_features == d.X_train.shape[1]
    assert np.isfinite(d.X_train).all()
    if d.n_classes == 2:
        assert d.Y_train.shape[1] == 1 and set(np.unique(d.Y_train)) <= {0.0, 1.0}
    else:
        assert d.Y_train.shape[1] == d.n_classes
        assert set(np.unique(d.Y_train)) <= {0.0, 1.0}
        np.testing.assert_array_equal(d.Y_train.sum(axis=1), 1.0)  # one-hot
    if d.X_test is not None:
        assert d.X_test.shape[1] == d.n_features and d.Y_test.shape[1] == d.Y_train.shape[1]
        assert len(d.X_test) == len(d.Y_test)


def test_xor_is_the_truth_table():
    d = datasets.load("xor")
    np.testing.assert_array_equal(d.X_train, [[0, 0], [0, 1], [1, 0], [1, 1]])
    np.testing.assert_array_equal(d.Y_train, [[0], [1], [1], [0]])
    assert d.X_test is None and d.Y_test is None and d.n_classes == 2 and d.is_2d
    check_consistent(d)


@pytest.mark.parametrize("name", RANDOM_2D)
def test_2d_sets_are_seeded_split_and_balanced(name):
    d = datasets.load(name, seed=1)
    check_consistent(d)
    assert d.is_2d
    assert len(d.X_train) + len(d.X_test) == (300 if name == "spiral" else 200)
    assert len(d.X_test) == round(0.25 * (len(d.X_train) + len(d.X_test)))
    again = datasets.load(name, seed=1)
    np.testing.assert_array_equal(d.X_train, again.X_train)
    np.testing.assert_array_equal(d.Y_test, again.Y_test)
    other = datasets.load(name, seed=2)
    assert not np.array_equal(d.X_train, other.X_train)
    # Every class is present, in roughly equal shares.
    labels = np.concatenate([d.Y_train, d.Y_test])
    counts = labels.sum(axis=0) if labels.shape[1] > 1 else np.array([labels.sum(), len(labels) - labels.sum()])
    assert counts.min() >= 0.4 * counts.max()


@pytest.mark.parametrize("name,options,n_classes", [
    ("spiral", {"n_classes": 4, "n_samples": 120}, 4),
    ("gaussians", {"n_classes": 5, "n_samples": 100}, 5),
    ("gaussians", {"n_classes": 2}, 2),
])
def test_multi_class_options_give_one_hot_labels(name, options, n_classes):
    d = datasets.load(name, seed=0, **options)
    check_consistent(d)
    assert d.n_classes == n_classes
    assert d.Y_train.shape[1] == (1 if n_classes == 2 else n_classes)


@pytest.mark.parametrize("name", RANDOM_2D)
def test_options_are_honoured(name):
    d = datasets.load(name, seed=0, n_samples=60, test_fraction=0.0)
    assert len(d.X_train) == 60 and d.X_test is None
    quiet = datasets.load(name, seed=0, n_samples=60, noise=0.0, test_fraction=0.5)
    assert len(quiet.X_train) == len(quiet.X_test) == 30


@pytest.mark.parametrize("name,options,words", [
    ("circles", {"n_samples": 2}, ["n_samples", ">= 4"]),
    ("moons", {"noise": -0.1}, ["noise", ">= 0"]),
    ("spiral", {"noise": float("nan")}, ["noise", "finite"]),
    ("gaussians", {"n_classes": 1}, ["n_classes", ">= 2"]),
    ("spiral", {"n_samples": 10.5}, ["n_samples", "integer"]),
    ("circles", {"n_samples": "many"}, ["n_samples", "number"]),
    ("moons", {"test_fraction": 1.0}, ["test_fraction", "[0, 1)"]),
    ("moons", {"test_fraction": "half"}, ["test_fraction", "number"]),
    ("circles", {"factor": None}, ["factor", "number"]),
    ("moons", {"radius": 1}, ["radius", "n_samples", "noise"]),
    ("xor", {"noise": 0.1}, ["noise", "none"]),
])
def test_bad_options_are_data_errors(name, options, words):
    with pytest.raises(DataError) as info:
        datasets.load(name, **options)
    for word in words:
        assert word in str(info.value), (word, str(info.value))


def test_unknown_name_lists_the_allowed_ones():
    with pytest.raises(DataError) as info:
        datasets.load("mnist")
    for name in ("xor", "circles", "moons", "spiral", "gaussians", "digits", "csv:PATH"):
        assert name in str(info.value)
    with pytest.raises(DataError, match="csv:"):
        datasets.load("csv:")
    assert issubclass(DataError, engine.NetstepError)


# ----- csv:PATH ------------------------------------------------------------------------------

def rows(d):
    return sorted(tuple(map(float, r)) for r in np.hstack([d.X_train, d.Y_train]))


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return f"csv:{path}"


def test_csv_good_file(tmp_path):
    d = datasets.load(write(tmp_path, "pts.csv", "0.5,1.0,0\n1.5,-2.0,1\n3,4,1\n-1,0,0\n"))
    check_consistent(d)
    assert d.n_classes == 2 and d.X_test is None
    # Rows may come shuffled (seeded); each keeps its own label.
    assert rows(d) == [(-1.0, 0.0, 0.0), (0.5, 1.0, 0.0), (1.5, -2.0, 1.0), (3.0, 4.0, 1.0)]


def test_csv_header_blank_lines_and_any_label_values(tmp_path):
    d = datasets.load(write(tmp_path, "h.csv", "x,y,label\n\n1,2,7\n3,4,9\n5,6,8\n\n"))
    assert d.X_train.shape == (3, 2)
    # Labels 7, 9, 8 become classes 0, 2, 1 (sorted), one-hot for three classes.
    assert rows(d) == [(1.0, 2.0, 1.0, 0.0, 0.0), (3.0, 4.0, 0.0, 0.0, 1.0), (5.0, 6.0, 0.0, 1.0, 0.0)]


def test_csv_split_is_seeded(tmp_path):
    rows = "".join(f"{i},{i % 3},{i % 2}\n" for i in range(40))
    name = write(tmp_path, "many.csv", rows)
    a = datasets.load(name, seed=3, test_fraction=0.25)
    b = datasets.load(name, seed=3, test_fraction=0.25)
    assert len(a.X_test) == 10 and len(a.X_train) == 30
    np.testing.assert_array_equal(a.X_train, b.X_train)


@pytest.mark.parametrize("name,text,words", [
    ("ragged.csv", "1,2,0\n3,4\n", ["data row 2", "2 columns", "expected 3", "ragged"]),
    ("nonnum.csv", "1,2,0\n3,abc,1\n", ["data row 2", "non-numeric", "'abc'"]),
    ("empty.csv", "", ["empty"]),
    ("blank.csv", "\n\n  \n", ["empty"]),
    ("header_only.csv", "a,b,c\n", ["header", "no data rows"]),
    ("one_column.csv", "1\n2\n", ["at least one feature column"]),
    ("nan.csv", "1,nan,0\n2,3,1\n", ["inf or NaN"]),
    ("one_class.csv", "1,2,0\n3,4,0\n", ["single class"]),
])
def test_csv_bad_files(tmp_path, name, text, words):
    with pytest.raises(DataError) as info:
        datasets.load(write(tmp_path, name, text))
    message = str(info.value)
    assert name in message
    for word in words:
        assert word in message, (word, message)
    assert "\n" not in message


def test_csv_missing_and_unreadable(tmp_path):
    with pytest.raises(DataError, match="not found"):
        datasets.load(f"csv:{tmp_path / 'missing.csv'}")
    binary = tmp_path / "bin.csv"
    binary.write_bytes(b"\xff\xfe\x00\x01")
    with pytest.raises(DataError, match="is binary, not text"):
        datasets.load(f"csv:{binary}")


def test_csv_through_a_config(tmp_path):
    name = write(tmp_path, "pts.csv", "0,0,0\n0,1,1\n1,0,1\n1,1,0\n")
    trainer = engine.build(engine.RunConfig(dataset=name, sizes=[2, 4, 1]))
    assert trainer.net.sizes == [2, 4, 1]
    with pytest.raises(engine.ConfigError, match="^sizes: .* got 9,4,9"):
        engine.build(engine.RunConfig(dataset=name, sizes=[9, 4, 9]))
    with pytest.raises(engine.ConfigError, match="ragged"):
        engine.build(engine.RunConfig(dataset=write(tmp_path, "r.csv", "1,2,0\n1\n")))


# ----- digits ----------------------------------------------------------------------------------

def test_digits_ship_with_the_package():
    d = datasets.load("digits", seed=0)
    check_consistent(d)
    assert d.n_features == 64 and d.n_classes == 10
    assert len(d.X_train) + len(d.X_test) == 1797
    assert len(d.X_test) == round(0.2 * 1797)
    assert d.X_train.min() >= 0.0 and d.X_train.max() <= 1.0
    np.testing.assert_array_equal(datasets.load("digits", seed=0).X_test, d.X_test)


def test_bundled_digits_equal_scikit_learns():
    sklearn_datasets = pytest.importorskip("sklearn.datasets", reason="scikit-learn is not installed")
    ref = sklearn_datasets.load_digits()
    with np.load(datasets._DIGITS) as z:
        np.testing.assert_array_equal(z["X"], ref.data)
        np.testing.assert_array_equal(z["y"], ref.target)
    # And the split is the one the scikit-learn loader gave (same rows, same seeded permutation).
    rng = np.random.default_rng(0)
    perm = rng.permutation(1797)
    d = datasets.load("digits", seed=0)
    np.testing.assert_array_equal(d.X_test, ref.data[perm[:359]] / 16.0)


SKLEARN_BLOCKED = """
import sys
sys.modules["sklearn"] = None  # any import of scikit-learn now fails
import numpy as np, engine
d = engine.datasets.load("digits", seed=0)
t = engine.build(engine.presets["digits"])
np.savez(sys.argv[1], X_train=d.X_train, Y_train=d.Y_train, X_test=d.X_test, Y_test=d.Y_test)
print(t.net.sizes, "sklearn" in [m.split(".")[0] for m in sys.modules if sys.modules[m] is not None])
"""


def test_digits_load_without_scikit_learn_and_give_the_same_arrays(tmp_path):
    out = tmp_path / "d.npz"
    done = subprocess.run([sys.executable, "-c", SKLEARN_BLOCKED, str(out)], capture_output=True, text=True,
                          check=True)
    assert done.stdout.split() == ["[64,", "64,", "10]", "False"]
    here = datasets.load("digits", seed=0)
    with np.load(out) as z:
        for name in ("X_train", "Y_train", "X_test", "Y_test"):
            np.testing.assert_array_equal(z[name], getattr(here, name))


def test_the_digits_data_its_source_and_licence_are_package_data():
    import pathlib
    import tomllib

    root = pathlib.Path(datasets.__file__).resolve().parent.parent
    listed = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]["engine"]
    for name in ("data/digits.npz", "data/README.md", "data/LICENSE-scikit-learn"):
        assert name in listed and (root / "engine" / name).is_file(), name
    readme = (root / "engine" / "data" / "README.md").read_text()
    assert "BSD 3-Clause" in readme and "UCI" in readme and "Alpaydin" in readme
