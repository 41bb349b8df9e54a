"""What every unit computes over the input plane (2-D inputs): the unit maps and the decision boundary.

A network with two inputs is a function of the plane (x1, x2). Evaluating it on a grid
of points spanning the data shows, for each unit of each layer, the picture it draws:
a hidden unit of the first layer is a ramp across one line (Z1 = X W1 + b1 is linear),
deeper units combine those ramps, and the output's map is the decision boundary.

`evaluate` runs one batched forward pass over two grids at once (the boundary's grid,
as fine as the screen shows, and a small square grid for the unit maps) and keeps the
activations A0 (the inputs x1, x2), A1, ..., AL of every unit. No UI here: the run
controller calls it a few times a second at most and hands the result to the panels.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

PAD = 0.08              # margin around the data, as a fraction of its range
MAP = 12                # the unit maps' grid: MAP x MAP points
MAX_FLOATS = 4_000_000  # activations held at once during a forward pass (chunks beyond it)


@dataclass(frozen=True, eq=False)   # compared by identity: the arrays make == meaningless
class Plane:
    """Every unit's activation over the input plane, at one moment of a run.

    lo, hi: the plane's corners (x1, x2 smallest / largest). The grids run left to right
    in x1 and top to bottom from the largest x2 (as the screen draws them).
    output: (rows, cols, n_L) the network's outputs on the boundary's grid.
    maps: one array per layer l = 0..L, (MAP, MAP, n_l): A_l of every unit on the small grid
    (l = 0 is the inputs). unit, unit_map: the chosen (layer, j) and its A over the
    boundary's grid (rows, cols), or None.
    """

    lo: tuple
    hi: tuple
    rows: int
    cols: int
    output: np.ndarray
    maps: tuple
    unit: tuple | None = None
    unit_map: np.ndarray | None = None
    step: int = 0

    @property
    def L(self) -> int:
        return len(self.maps) - 1


def extent(X, pad=PAD):
    """The plane around the data X (m, 2): (lo, hi), each (x1, x2), with a margin of `pad`."""
    X = np.asarray(X, dtype=np.float64)
    lo, hi = X.min(axis=0), X.max(axis=0)
    span = np.where(hi > lo, hi - lo, 1.0)
    return tuple((lo - pad * span).tolist()), tuple((hi + pad * span).tolist())


def grid(lo, hi, rows, cols):
    """(rows * cols, 2) points: row-major, x1 rising to the right, x2 falling downwards."""
    xs = np.linspace(lo[0], hi[0], cols)
    ys = np.linspace(hi[1], lo[1], rows)  # the top row is the largest x2
    return np.column_stack([np.tile(xs, rows), np.repeat(ys, cols)])


def _activations(net, P):
    """[A0, A1, ..., AL] for the points P, in chunks small enough for MAX_FLOATS."""
    per_row = sum(net.sizes)
    chunk = max(256, MAX_FLOATS // max(1, per_row))
    parts = []
    for start in range(0, len(P), chunk):
        _, cache = net.forward(P[start:start + chunk])
        parts.append([cache["X"]] + [cache[f"A{l}"] for l in range(1, net.L + 1)])
    if len(parts) == 1:
        return parts[0]
    return [np.concatenate([p[l] for p in parts]) for l in range(net.L + 1)]


def evaluate(net, lo, hi, rows, cols, n=MAP, unit=None, step=0) -> Plane:
    """The network `net` (two raw inputs; layer 0 is its input features) over the plane lo..hi: a Plane.

    One forward pass over the boundary's rows x cols grid and the maps' n x n grid
    together. unit: (layer, j) whose activation to keep at the boundary's resolution
    (layer 0 is the inputs), or None."""
    if net.n_inputs != 2:   # raw inputs; layer 0's maps are the features computed from them
        raise ValueError(f"the plane needs a network with 2 raw inputs; this one has {net.n_inputs}")
    rows, cols, n = int(rows), int(cols), int(n)
    if rows < 1 or cols < 1 or n < 1:
        raise ValueError(f"grid sizes must be >= 1; got {rows} x {cols} and {n}")
    big = rows * cols
    P = np.concatenate([grid(lo, hi, rows, cols), grid(lo, hi, n, n)])
    A = _activations(net, P)
    output = np.array(A[-1][:big]).reshape(rows, cols, -1)
    maps = tuple(np.array(a[big:]).reshape(n, n, -1) for a in A)
    unit_map = None
    if unit is not None:
        layer, j = unit
        if not (0 <= layer <= net.L and 0 <= j < net.sizes[layer]):
            raise ValueError(f"no unit {j} in layer {layer} of a {'-'.join(map(str, net.sizes))} network")
        unit_map = np.array(A[layer][:big, j]).reshape(rows, cols)
    for a in (output, unit_map, *maps):
        if a is not None:
            a.setflags(write=False)
    return Plane(tuple(lo), tuple(hi), rows, cols, output, maps, None if unit is None else tuple(unit), unit_map,
                 int(step))


def centre_scale(activation: str, values) -> tuple[float, float]:
    """Where a unit's colour scale is neutral, and how far from it is full colour.

    sigmoid outputs are centred on 0.5 (the decision threshold) and reach full colour at
    0 and 1; softmax outputs (values (..., k)) on 1/k, the undecided share, full at 1;
    other activations are centred on 0, scaled by the largest |value| shown."""
    if activation == "sigmoid":
        return 0.5, 0.5
    v = np.asarray(values, dtype=np.float64)
    if activation == "softmax" and v.ndim and v.shape[-1] > 1:
        k = v.shape[-1]
        return 1.0 / k, 1.0 - 1.0 / k
    finite = v[np.isfinite(v)]
    peak = float(np.abs(finite).max()) if finite.size else 0.0
    return 0.0, peak if peak > 0 else 1.0
