"""Datasets: XOR, four seeded 2-D sets, the 8x8 digits (shipped in engine/data), CSV files,
and two regression sets (plane, bumps).

`load(name, seed=0, **options)` returns a Dataset with X_train, Y_train, X_test,
Y_test (None where there is no test split) and n_classes. Binary labels are a
column of 0/1 (m, 1); more classes come one-hot (m, K). A regression set has
real-valued targets (m, 1) and n_classes 0.
"""

from __future__ import annotations

import csv
import math
import os
from array import array
from dataclasses import dataclass, field

import numpy as np

from . import limits
from .errors import DataError, NetstepError
from .safefile import read_user_file

NAMES = ("xor", "circles", "moons", "spiral", "gaussians", "digits", "plane", "bumps")
REGRESSION = ("plane", "bumps")  # real-valued targets: trained with task = "regression"
OPTIONS = {
    "xor": (),
    "circles": ("n_samples", "noise", "test_fraction", "factor"),
    "moons": ("n_samples", "noise", "test_fraction"),
    "spiral": ("n_samples", "noise", "test_fraction", "n_classes", "turns"),
    "gaussians": ("n_samples", "noise", "test_fraction", "n_classes"),
    "digits": ("test_fraction",),
    "plane": ("n_samples", "noise", "test_fraction"),
    "bumps": ("n_samples", "noise", "test_fraction"),
    "csv": ("test_fraction",),
}


@dataclass
class Dataset:
    name: str
    X_train: np.ndarray
    Y_train: np.ndarray
    X_test: np.ndarray | None
    Y_test: np.ndarray | None
    n_classes: int
    options: dict = field(default_factory=dict)

    @property
    def n_features(self) -> int:
        return int(self.X_train.shape[1])

    @property
    def n_outputs(self) -> int:
        return int(self.Y_train.shape[1])

    @property
    def is_regression(self) -> bool:
        return self.n_classes == 0

    @property
    def is_2d(self) -> bool:
        return self.n_features == 2

    def describe(self) -> str:
        test = f", {len(self.X_test)} test" if self.X_test is not None else ""
        kind = "real-valued targets" if self.is_regression else f"{self.n_classes} classes"
        return f"{self.name}: {len(self.X_train)} train{test}, {self.n_features} features, {kind}"


def encode(labels: np.ndarray, n_classes: int) -> np.ndarray:
    """0/1 column for two classes, one-hot for more."""
    labels = labels.astype(int)
    if n_classes <= 2:
        return labels.reshape(-1, 1).astype(float)
    Y = np.zeros((len(labels), n_classes))
    Y[np.arange(len(labels)), labels] = 1.0
    return Y


def _split(name, X, labels, n_classes, rng, test_fraction, options):
    test_fraction = _number(name, "test_fraction", test_fraction)
    if not 0.0 <= test_fraction < 1.0:
        raise DataError(f"{name}: test_fraction must be in [0, 1), got {test_fraction}")
    n = len(X)
    perm = rng.permutation(n)
    n_test = int(round(n * test_fraction))
    if n_test and n - n_test < 1:
        raise DataError(f"{name}: too few rows ({n}) to hold out a test split")
    test, train = perm[:n_test], perm[n_test:]
    Y = labels.reshape(len(X), -1).astype(float) if n_classes == 0 else encode(labels, n_classes)
    if n_test == 0:
        return Dataset(name, X[train], Y[train], None, None, n_classes, options)
    return Dataset(name, X[train], Y[train], X[test], Y[test], n_classes, options)


def _number(name, key, value):
    """An option's value as a float, or a DataError naming the option (a config may hold any type)."""
    if isinstance(value, bool):
        raise DataError(f"{name}: {key} must be a number, got {value!r}")
    try:
        return float(value)
    except (TypeError, ValueError):
        raise DataError(f"{name}: {key} must be a number, got {value!r}") from None


_MAXIMUM = {"n_samples": limits.MAX_SAMPLES, "n_classes": limits.MAX_CLASSES}


def _check_positive(name, key, value, integer=False, minimum=1):
    """The option's value, checked: an integer >= minimum (and within engine.limits), or a finite number >= 0."""
    x = _number(name, key, value)
    maximum = _MAXIMUM.get(key)
    if integer and (not x.is_integer() or x < minimum or (maximum is not None and x > maximum)):
        upto = f" and <= {maximum:,}" if maximum is not None else ""
        raise DataError(f"{name}: {key} must be an integer >= {minimum}{upto}, got {value!r}")
    if not integer and (not math.isfinite(x) or x < 0):
        raise DataError(f"{name}: {key} must be a finite number >= 0, got {value!r}")
    return int(x) if integer else x


def _check_size(what, n_rows, n_features, n_classes):
    """Refuse data whose arrays alone would pass the memory budget, before they are made."""
    n_outputs = 1 if n_classes <= 2 else n_classes
    need = n_rows * (n_features + n_outputs) * 8 * 3  # X, Y and the copies a split makes
    budget = limits.memory_budget()
    if need > budget:
        raise DataError(f"{what}: {n_rows:,} rows of {n_features} features and {n_classes:,} classes need about "
                        f"{limits.human(need)}; the memory budget is {limits.human(budget)} "
                        f"({limits.MEMORY_BUDGET_ENV})")


_DEFAULTS = {"circles": (200, 2), "moons": (200, 2), "spiral": (300, 3), "gaussians": (200, 2),
             "plane": (200, 1), "bumps": (300, 1)}


def shape(name, options=None):
    """(n_rows, n_features, n_outputs) a dataset will have, known without making it; None for csv:
    or when an option is invalid (loading then says what is wrong)."""
    options = options or {}
    if name == "xor":
        return 4, 2, 1
    if name == "digits":
        return 1797, 64, 10
    if name not in _DEFAULTS:
        return None
    n, k = _DEFAULTS[name]
    try:
        n = _check_positive(name, "n_samples", options.get("n_samples", n), integer=True)
        if "n_classes" in OPTIONS[name]:
            k = _check_positive(name, "n_classes", options.get("n_classes", k), integer=True, minimum=2)
    except DataError:
        return None
    return n, 2, (1 if k <= 2 else k)


def xor(seed=0):
    X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    Y = np.array([[0.0], [1.0], [1.0], [0.0]])
    return Dataset("xor", X, Y, None, None, 2, {})


def circles(seed=0, n_samples=200, noise=0.1, test_fraction=0.25, factor=0.5):
    n = _check_positive("circles", "n_samples", n_samples, integer=True, minimum=4)
    noise = _check_positive("circles", "noise", noise)
    factor = _check_positive("circles", "factor", factor)
    _check_size("circles", n, 2, 2)
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % 2
    angles = rng.uniform(0, 2 * np.pi, n)
    radius = np.where(labels == 1, factor, 1.0)
    X = np.c_[radius * np.cos(angles), radius * np.sin(angles)] + rng.normal(0, noise, (n, 2))
    return _split("circles", X, labels, 2, rng, test_fraction, dict(n_samples=n, noise=noise, factor=factor))


def moons(seed=0, n_samples=200, noise=0.1, test_fraction=0.25):
    n = _check_positive("moons", "n_samples", n_samples, integer=True, minimum=4)
    noise = _check_positive("moons", "noise", noise)
    _check_size("moons", n, 2, 2)
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % 2
    t = rng.uniform(0, np.pi, n)
    upper = np.c_[np.cos(t), np.sin(t)]
    lower = np.c_[1 - np.cos(t), 0.5 - np.sin(t)]
    X = np.where(labels[:, None] == 0, upper, lower) + rng.normal(0, noise, (n, 2))
    X = (X - [0.5, 0.25])  # centre the pair of moons on the origin
    return _split("moons", X, labels, 2, rng, test_fraction, dict(n_samples=n, noise=noise))


def spiral(seed=0, n_samples=300, noise=0.2, test_fraction=0.25, n_classes=3, turns=1.0):
    n = _check_positive("spiral", "n_samples", n_samples, integer=True, minimum=6)
    k = _check_positive("spiral", "n_classes", n_classes, integer=True, minimum=2)
    noise = _check_positive("spiral", "noise", noise)
    turns = _check_positive("spiral", "turns", turns)
    _check_size("spiral", n, 2, k)
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % k
    r = rng.uniform(0.05, 1.0, n)
    theta = labels * (2 * np.pi / k) + r * turns * 2 * np.pi + rng.normal(0, noise, n)
    X = np.c_[r * np.sin(theta), r * np.cos(theta)]
    return _split("spiral", X, labels, k, rng, test_fraction, dict(n_samples=n, noise=noise, n_classes=k, turns=turns))


def gaussians(seed=0, n_samples=200, noise=0.5, test_fraction=0.25, n_classes=2):
    n = _check_positive("gaussians", "n_samples", n_samples, integer=True, minimum=4)
    k = _check_positive("gaussians", "n_classes", n_classes, integer=True, minimum=2)
    noise = _check_positive("gaussians", "noise", noise)
    _check_size("gaussians", n, 2, k)
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % k
    angle = 2 * np.pi * np.arange(k) / k
    centres = 1.5 * np.c_[np.cos(angle), np.sin(angle)]
    X = centres[labels] + rng.normal(0, noise, (n, 2))
    return _split("gaussians", X, labels, k, rng, test_fraction, dict(n_samples=n, noise=noise, n_classes=k))


def _regression_inputs(name, seed, n_samples, noise):
    n = _check_positive(name, "n_samples", n_samples, integer=True, minimum=4)
    noise = _check_positive(name, "noise", noise)
    _check_size(name, n, 2, 1)
    rng = np.random.default_rng(seed)
    return n, noise, rng, rng.uniform(-1.0, 1.0, (n, 2))


def plane(seed=0, n_samples=200, noise=0.0, test_fraction=0.25):
    """A tilted plane over [-1, 1]^2: y = (2 x1 - x2) / 3, plus noise, clipped to [-1, 1].
    A network with a linear output and no hidden layer can fit it exactly."""
    n, noise, rng, X = _regression_inputs("plane", seed, n_samples, noise)
    y = (2.0 * X[:, 0] - X[:, 1]) / 3.0 + rng.normal(0, noise, n)
    return _split("plane", X, np.clip(y, -1.0, 1.0), 0, rng, test_fraction, dict(n_samples=n, noise=noise))


# (centre x1, centre x2, height): two hills and a valley, width BUMP_WIDTH
BUMPS = ((-0.5, -0.4, 1.0), (0.5, 0.5, 0.8), (0.3, -0.6, -1.0))
BUMP_WIDTH = 0.35


def bumps(seed=0, n_samples=300, noise=0.0, test_fraction=0.25):
    """A sum of Gaussian bumps over [-1, 1]^2 (BUMPS), plus noise, clipped to [-1, 1]:
    a surface no plane fits, so it needs hidden units."""
    n, noise, rng, X = _regression_inputs("bumps", seed, n_samples, noise)
    y = np.zeros(n)
    for c1, c2, height in BUMPS:
        y += height * np.exp(-((X[:, 0] - c1) ** 2 + (X[:, 1] - c2) ** 2) / (2 * BUMP_WIDTH ** 2))
    y += rng.normal(0, noise, n)
    return _split("bumps", X, np.clip(y, -1.0, 1.0), 0, rng, test_fraction, dict(n_samples=n, noise=noise))


_DIGITS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "digits.npz")


def digits(seed=0, test_fraction=0.2):
    """The 8x8 handwritten digits shipped in engine/data (source and licence beside them)."""
    try:
        with np.load(_DIGITS, allow_pickle=False) as z:
            pixels, target = z["X"], z["y"]
    except (OSError, KeyError, ValueError) as e:
        raise DataError(f"the bundled digits data ({_DIGITS}) cannot be read: {e}; reinstall netstep") from None
    X = pixels.astype(np.float64) / 16.0  # pixel intensities 0..16 scaled to 0..1
    rng = np.random.default_rng(seed)
    return _split("digits", X, target.astype(np.int64), 10, rng, test_fraction, {})


def _read_csv_text(path) -> str:
    """The file's text, refused by size, kind (FIFO, device, folder) and content (binary) first."""
    try:
        raw = read_user_file(path, limits.MAX_CSV_BYTES, "csv file")
    except NetstepError as e:
        raise DataError(str(e)) from None
    if b"\0" in raw:
        raise DataError(f"csv file {path!r} is binary, not text; expected rows of numbers separated by commas, "
                        f"the label last")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise DataError(f"csv file {path!r} is not UTF-8 text (binary?); expected rows of numbers separated by "
                        f"commas, the label last") from None


def _lines(text):
    """The text's lines, each with its newline, one at a time (a StringIO or splitlines() of a
    64 MiB file would hold several copies of it at once)."""
    start, n = 0, len(text)
    while start < n:
        end = text.find("\n", start)
        if end == -1:
            yield text[start:]
            return
        yield text[start:end + 1]
        start = end + 1


def _cell(text):
    try:
        x = float(text)
    except ValueError:
        return None
    return x


def from_csv(path, seed=0, test_fraction=0.0, regression=False):
    """Numeric features, the last column the class label (integers 0..K-1, or any values),
    or with regression=True a real-valued target taken as it is.

    Read row by row into one flat float buffer (never a list of strings per cell), with
    the file's size, its rows, its cells and its classes bounded (engine.limits).
    """
    text = _read_csv_text(path)
    values = array("d")
    width, n_rows, header_done = None, 0, False
    reader = csv.reader(_lines(text))
    try:
        for row in reader:
            if not row or not any(c.strip() for c in row):
                continue
            long_cell = next((c for c in row if len(c) > limits.MAX_CSV_FIELD), None)
            if long_cell is not None:
                raise DataError(f"csv file {path!r}: data row {n_rows + 1} has a cell of {len(long_cell)} characters; "
                                f"a cell holds one number (at most {limits.MAX_CSV_FIELD} characters)")
            cells = [_cell(c) for c in row]
            if not header_done:
                header_done = True
                if any(x is None for x in cells):
                    continue  # a first row that is not numeric is a header
            if width is None:
                width = len(row)
                if width < 2:
                    raise DataError(f"csv file {path!r}: need at least one feature column and a label column, "
                                    f"found {width} column")
            n_rows += 1
            if len(row) != width:
                raise DataError(f"csv file {path!r}: data row {n_rows} has {len(row)} columns, expected {width} "
                                f"(ragged rows)")
            if any(x is None for x in cells):
                bad = next(c for c, x in zip(row, cells) if x is None)
                raise DataError(f"csv file {path!r}: data row {n_rows} has a non-numeric cell {bad.strip()!r}; "
                                f"every cell must be a number")
            if n_rows > limits.MAX_SAMPLES:
                raise DataError(f"csv file {path!r} has more than {limits.MAX_SAMPLES:,} data rows; "
                                f"at most {limits.MAX_SAMPLES:,} are read")
            values.extend(cells)
    except csv.Error as e:
        if "field limit" in str(e):
            raise DataError(f"csv file {path!r}: line {reader.line_num} has a cell of more than {csv.field_size_limit():,} "
                            f"characters; a cell holds one number (at most {limits.MAX_CSV_FIELD} characters)") from None
        raise DataError(f"csv file {path!r} cannot be parsed as CSV (line {reader.line_num}: {e}); expected rows of "
                        f"numbers separated by commas") from None
    if width is None:
        if header_done:
            raise DataError(f"csv file {path!r} has a header but no data rows")
        raise DataError(f"csv file {path!r} is empty; expected rows of numeric features with the label last")
    data = np.frombuffer(values, dtype=np.float64).reshape(n_rows, width)
    if not np.all(np.isfinite(data)):
        raise DataError(f"csv file {path!r} contains inf or NaN; every cell must be a finite number")
    X, raw = data[:, :-1], data[:, -1]
    if regression:
        _check_size(f"csv file {path!r}", n_rows, width - 1, 1)
        rng = np.random.default_rng(seed)
        return _split(f"csv:{path}", X, raw.copy(), 0, rng, test_fraction, {"path": os.fspath(path)})
    classes, labels = np.unique(raw, return_inverse=True)
    if len(classes) < 2:
        raise DataError(f"csv file {path!r}: the label column (last) has a single class; need at least two")
    if len(classes) > limits.MAX_CLASSES:
        raise DataError(f"csv file {path!r}: the label column (last) has {len(classes):,} different values; "
                        f"at most {limits.MAX_CLASSES:,} classes (is the label really the last column?)")
    _check_size(f"csv file {path!r}", n_rows, width - 1, len(classes))
    rng = np.random.default_rng(seed)
    name = f"csv:{path}"
    return _split(name, X, labels, len(classes), rng, test_fraction, {"path": os.fspath(path)})


_LOADERS = {"xor": xor, "circles": circles, "moons": moons, "spiral": spiral, "gaussians": gaussians, "digits": digits,
            "plane": plane, "bumps": bumps}


def load(name, seed=0, task="classification", **options) -> Dataset:
    """Load a dataset by name: xor, circles, moons, spiral, gaussians, digits, plane, bumps or csv:PATH.

    task="regression" reads a CSV file's last column as a real-valued target (not as class
    labels); the named sets are what they are whatever the task."""
    if not isinstance(name, str):
        raise DataError(f"dataset name must be a string, got {name!r}")
    if name.startswith("csv:"):
        key, loader, args = "csv", from_csv, (name[4:],)
        if task == "regression":
            options = dict(options, regression=True)
        if not name[4:]:
            raise DataError("csv: needs a path, as in csv:data/points.csv")
    elif name in _LOADERS:
        key, loader, args = name, _LOADERS[name], ()
    else:
        raise DataError(f"unknown dataset {name!r}; allowed: {', '.join(NAMES)}, csv:PATH")
    unknown = sorted(set(options) - set(OPTIONS[key]) - {"regression"})
    if unknown:
        allowed = ", ".join(OPTIONS[key]) or "none"
        raise DataError(f"dataset {key} has no option {unknown[0]!r}; its options: {allowed}")
    return loader(*args, seed=seed, **options)
