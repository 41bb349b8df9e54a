"""The input plane as a hidden layer sees it, and the plane coloured by a network's decision.

    space = layer_space.project(net, X, Y, layer=1)             # PCA axes when A1 is wider than 2
    space = layer_space.project(net, X, Y, layer=1, units=(0, 3))
    space.points, space.grid, space.axes, space.separable

Layer l maps every input x to A_l (the activations after layer l). For 2-D data we draw
the training points and a grid of lines over the input plane as they land in that
layer's space, on two axes: two chosen units of A_l, or, when A_l is wider than two,
its first two principal components (fitted on the training points' activations, and the
grid projected onto the same components). Layer 0 is the input plane itself. A network
that classifies well bends the plane until, at its last hidden layer, one straight line
(the output unit) splits the classes: `separable` measures that in the picture drawn.

decision_field() is the decision boundary's grid: the class and confidence of the
network's output over the input plane (the compare screen's maps).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .metrics import confidence, predicted_classes

PAD = 0.08          # margin around the data, as a fraction of its range (as the boundary panel)


def _quiet():
    return np.errstate(over="ignore", invalid="ignore", divide="ignore")


def extent(X, pad=PAD):
    """((x1 lo, x2 lo), (x1 hi, x2 hi)) around the data, with a margin."""
    X = np.asarray(X, dtype=np.float64)
    lo, hi = X.min(axis=0), X.max(axis=0)
    span = np.where(hi > lo, hi - lo, 1.0)
    return lo - pad * span, hi + pad * span


def plane(ext, rows: int, cols: int):
    """A rows x cols grid of input points, row-major, the top row at the largest x2."""
    (x0, y0), (x1, y1) = ext
    xs = np.linspace(x0, x1, cols)
    ys = np.linspace(y1, y0, rows)
    return np.column_stack([np.tile(xs, rows), np.repeat(ys, cols)])


def decision_field(net, ext, rows: int, cols: int):
    """(classes, confidence in 0..1), each (rows, cols): the network's decision over the plane."""
    with _quiet():
        A = net.predict(plane(ext, rows, cols))
    return predicted_classes(A).reshape(rows, cols), np.nan_to_num(confidence(A)).reshape(rows, cols)


def activations(net, X, layer: int):
    """A_layer for inputs X (layer 0: X itself)."""
    if layer == 0:
        return np.asarray(X, dtype=np.float64)
    with _quiet():
        _, cache = net.forward(np.asarray(X, dtype=net.dtype))
    return np.asarray(cache[f"A{layer}"], dtype=np.float64)


def grid_lines(ext, lines: int = 9, samples: int = 64):
    """Lines of the input plane: `lines` at constant x2 then `lines` at constant x1, each
    sampled at `samples` points. Shape (2 * lines, samples, 2)."""
    (x0, y0), (x1, y1) = ext
    t = np.linspace(0.0, 1.0, samples)
    out = np.empty((2 * lines, samples, 2))
    for k, s in enumerate(np.linspace(0.0, 1.0, lines)):
        out[k, :, 0] = x0 + t * (x1 - x0)
        out[k, :, 1] = y0 + s * (y1 - y0)
        out[lines + k, :, 0] = x0 + s * (x1 - x0)
        out[lines + k, :, 1] = y0 + t * (y1 - y0)
    return out


def principal_axes(H):
    """(mean, components (2, n), share of the variance each explains) of the rows of H."""
    mean = H.mean(axis=0)
    C = H - mean
    _, S, Vt = np.linalg.svd(C, full_matrices=False)
    var = S ** 2
    total = var.sum()
    share = var / total if total > 0 else np.zeros_like(var)
    comps = np.zeros((2, H.shape[1]))
    k = min(2, Vt.shape[0])
    comps[:k] = Vt[:k]
    # A component's sign is arbitrary: fix it (largest entry positive) so the picture does
    # not flip from one frame to the next.
    for i in range(k):
        j = np.argmax(np.abs(comps[i]))
        if comps[i, j] < 0:
            comps[i] = -comps[i]
    shares = np.zeros(2)
    shares[:k] = share[:k]
    return mean, comps, shares


def separability(P, labels, iterations: int = 30) -> float | None:
    """The share of points the best straight line found puts on their class's side (two
    classes; None for more, or for non-finite points). 1.0 means the classes are linearly separable in P.

    Logistic regression by Newton's method on standardised coordinates (a tiny ridge
    keeps it finite when the classes separate), then the perceptron from there: each
    stops early once every point is on its side."""
    labels = np.asarray(labels)
    classes = np.unique(labels)
    if len(classes) > 2:
        return None
    if len(classes) < 2:
        return 1.0
    P = np.asarray(P, dtype=np.float64)
    ok = np.all(np.isfinite(P), axis=1)
    if not ok.all():
        return None  # non-finite activations (a blown-up run): no line to speak of
    s = P.std(axis=0)
    Z = (P - P.mean(axis=0)) / np.where(s > 0, s, 1.0)
    Xa = np.column_stack([Z, np.ones(len(Z))])
    y = (labels == classes[1]).astype(np.float64)
    sign = 2 * y - 1
    w = np.zeros(3)
    best = 0.0
    with _quiet():
        for _ in range(iterations):
            z = Xa @ w
            best = max(best, float(np.mean((z > 0) == (y > 0))))
            if best == 1.0:
                return 1.0
            p = 1.0 / (1.0 + np.exp(-z))
            g = Xa.T @ (p - y) + 1e-6 * w
            Hs = (Xa * (p * (1 - p))[:, None]).T @ Xa + 1e-6 * np.eye(3)
            try:
                w = w - np.linalg.solve(Hs, g)
            except np.linalg.LinAlgError:
                break
            if not np.all(np.isfinite(w)):
                break
        w = np.where(np.isfinite(w), w, 0.0)
        for _ in range(60):   # bounded: this runs a few times a second while the run plays
            wrong = np.flatnonzero(sign * (Xa @ w) <= 0)
            best = max(best, 1.0 - len(wrong) / len(Xa))
            if not len(wrong):
                return 1.0
            w = w + (sign[wrong, None] * Xa[wrong]).mean(axis=0)
    return best


@dataclass(frozen=True, eq=False)
class LayerSpace:
    layer: int
    width: int              # units in this layer
    mode: str               # "input", "units" or "pca"
    units: tuple            # the two units drawn (mode "units"), else ()
    axes: tuple             # the two axes' names, such as ("A1[0]", "A1[1]") or ("PC1 71%", "PC2 20%")
    points: np.ndarray      # (m, 2) the training points on those axes
    labels: np.ndarray      # (m,) class of each point
    grid: np.ndarray        # (lines, samples, 2) the input plane's grid lines on those axes
    separable: float | None  # share of points the best line in this picture gets right (two classes)


def project(net, X, Y, layer: int, units=None, lines: int = 9, samples: int = 64) -> LayerSpace:
    """The training points and the input plane's grid as layer `layer` sees them (see module doc).

    units: two unit indices to draw as axes; None for the first two principal components
    when the layer is wider than two (its units themselves when it has two or one)."""
    X = np.asarray(X, dtype=np.float64)
    if X.shape[1] != 2:
        raise ValueError(f"the space a layer makes is drawn for 2-D inputs; this data has {X.shape[1]} features")
    L = net.L
    if not 0 <= layer < L:
        raise ValueError(f"layer must be 0 (the input plane) to {L - 1} (the last hidden layer); got {layer}")
    ext = extent(X)
    G = grid_lines(ext, lines, samples)
    H = activations(net, X, layer)
    HG = activations(net, G.reshape(-1, 2), layer)
    width = H.shape[1]
    name = "x" if layer == 0 else f"A{layer}"
    if layer == 0:
        mode, chosen = "input", (0, 1)
    elif units is not None or width <= 2:
        mode = "units"
        chosen = tuple(int(u) for u in units) if units is not None else tuple(range(min(2, width)))
        for u in chosen:
            if not 0 <= u < width:
                raise ValueError(f"{name} has units 0..{width - 1}; no unit {u}")
    else:
        mode, chosen = "pca", ()
    if mode == "pca":
        mean, comps, share = principal_axes(np.nan_to_num(H))
        points = (H - mean) @ comps.T
        grid = (HG - mean) @ comps.T
        axes = (f"PC1 {share[0]:.0%}", f"PC2 {share[1]:.0%}")
    else:
        def take(A):
            out = np.zeros((len(A), 2))
            for i, u in enumerate(chosen):
                out[:, i] = A[:, u]
            return out
        points, grid = take(H), take(HG)
        if layer == 0:
            axes = ("x1", "x2")
        else:
            axes = tuple(f"{name}[{u}]" for u in chosen) + (("0",) if len(chosen) == 1 else ())
    labels = predicted_classes(Y)
    return LayerSpace(layer, width, mode, tuple(chosen) if mode == "units" else (), axes, points, labels,
                      grid.reshape(G.shape), separability(points, labels))
