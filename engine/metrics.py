"""Scores from network outputs: accuracy, predicted class, confidence, confusion matrix; r2 for regression.

One decision rule everywhere: a single output is class 1 above 0.5, several outputs
pick the largest. The trainer's accuracy, the app's decision boundary and its
confusion matrix all call these, so what they draw agrees with the accuracy shown.
"""

from __future__ import annotations

import numpy as np


def accuracy(A, Y) -> float:
    """Fraction of rows classified right: threshold 0.5 for one output, argmax for several."""
    if Y.shape[1] == 1:
        return float(np.count_nonzero((A > 0.5) == (Y > 0.5))) / len(Y)
    return float(np.count_nonzero(A.argmax(axis=1) == Y.argmax(axis=1))) / len(Y)


def predicted_classes(A) -> np.ndarray:
    """Class index per row of outputs A (m, k): threshold 0.5 for k = 1, argmax otherwise."""
    A = np.asarray(A)
    if A.shape[1] == 1:
        return (A[:, 0] > 0.5).astype(np.int64)
    return A.argmax(axis=1)


def confidence(A) -> np.ndarray:
    """How decided each row is, 0 (on the boundary) to 1 (certain).

    One output: |A - 0.5| * 2, clipped to [0, 1]; k outputs: how far the largest
    output is above the uniform 1/k, scaled so a one-hot row gives 1."""
    A = np.asarray(A, dtype=np.float64)
    if A.shape[1] == 1:
        return np.clip(np.abs(A[:, 0] - 0.5) * 2.0, 0.0, 1.0)
    k = A.shape[1]
    return np.clip((A.max(axis=1) - 1.0 / k) / (1.0 - 1.0 / k), 0.0, 1.0)


def n_classes(Y) -> int:
    Y = np.asarray(Y)
    return 2 if Y.shape[1] == 1 else Y.shape[1]


def confusion(net, X, Y) -> np.ndarray:
    """Counts (K, K): row = true class, column = predicted class, for net on (X, Y)."""
    Y = np.asarray(Y)
    if Y.ndim == 1:
        Y = Y.reshape(-1, 1)
    K = n_classes(Y)
    true = predicted_classes(Y)
    pred = predicted_classes(net.predict(X))
    return np.bincount(true * K + pred, minlength=K * K).reshape(K, K)


def r2(A, Y) -> float:
    """Coefficient of determination of predictions A for real-valued targets Y:
    1 - sum (Y - A)^2 / sum (Y - mean Y)^2, over every output column. 1 is perfect, 0 is
    no better than predicting the mean, and it goes negative for worse. Targets that do
    not vary at all give 1.0 for an exact fit and -inf otherwise."""
    A = np.asarray(A, dtype=np.float64)
    Y = np.asarray(Y, dtype=np.float64)
    residual = float(np.sum((Y - A) ** 2))
    total = float(np.sum((Y - Y.mean(axis=0)) ** 2))
    if total == 0.0:
        return 1.0 if residual == 0.0 else float("-inf")
    return 1.0 - residual / total


NEAR_ZERO = 1e-3  # |w| below this counts as a weight regularisation has switched off


def near_zero(net, tol=NEAR_ZERO) -> float:
    """Share of the network's weights (not biases) with |w| < tol: what L1 drives up (a sparse
    network) and L2 and dropout do not."""
    W = [np.abs(layer.W).ravel() for layer in net.layers]
    total = sum(w.size for w in W)
    return float(sum(np.count_nonzero(w < tol) for w in W)) / total if total else 0.0
