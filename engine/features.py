"""Input features: the network's input computed from the raw 2-D input (x1, x2).

    X = features(["x1", "x2", "x1*x2"], x)      # (m, 2) -> (m, 3)

A network whose input is [x1, x2, x1*x2] separates XOR with no hidden layer: the
product is positive on one diagonal pair of points and negative on the other. The
network (engine/network.py) holds its feature list and applies it at the top of every
forward pass, so the trainer, evaluation, predictions over a grid, gradient checks and
exports all see the same input. The default, x1,x2, is the raw input itself and costs
nothing: a network with it has no feature step.
"""

from __future__ import annotations

import numpy as np

from .errors import ConfigError

# name -> how it is computed from the raw columns x1 = x[:, 0], x2 = x[:, 1]
FEATURES = {
    "x1": lambda x1, x2: x1,
    "x2": lambda x1, x2: x2,
    "x1^2": lambda x1, x2: x1 * x1,
    "x2^2": lambda x1, x2: x2 * x2,
    "x1*x2": lambda x1, x2: x1 * x2,
    "sin(x1)": lambda x1, x2: np.sin(x1),
    "sin(x2)": lambda x1, x2: np.sin(x2),
}
NAMES = tuple(FEATURES)
DEFAULT = ("x1", "x2")
RAW_WIDTH = 2  # features are defined on 2-D inputs only


def parse(value) -> list:
    """A feature list from a comma string or a list; ConfigError naming what is allowed."""
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, (list, tuple)):
        raise ConfigError("features", f"must be a comma list from {', '.join(NAMES)}; got {value!r}")
    names = []
    for item in items:
        name = "".join(str(item).split())  # "x1 * x2" and "x1*x2" are the same feature
        if name not in FEATURES:
            raise ConfigError("features", f"unknown feature {str(item)[:40]!r}; allowed: {', '.join(NAMES)}")
        if name in names:
            raise ConfigError("features", f"lists {name} twice; give each feature once")
        names.append(name)
    if not names:
        raise ConfigError("features", f"needs at least one feature from {', '.join(NAMES)}")
    return names


def is_default(names) -> bool:
    return tuple(names) == DEFAULT


def expand(names, x, dtype=None):
    """The feature matrix (m, len(names)) of raw inputs x (m, 2), one column per name."""
    x = np.asarray(x, dtype=dtype or np.float64)
    if x.ndim != 2 or x.shape[1] != RAW_WIDTH:
        raise ValueError(f"features are computed from 2-D inputs (m, 2); got shape {x.shape}")
    x1, x2 = x[:, 0], x[:, 1]
    out = np.empty((x.shape[0], len(names)), dtype=x.dtype)
    for j, name in enumerate(names):
        out[:, j] = FEATURES[name](x1, x2)
    return out


def equation(names) -> str:
    """The feature step as the op view shows it: X = [x1, x2, x1*x2]."""
    return f"X = [{', '.join(names)}]   (features of the raw input x = [x1, x2])"
