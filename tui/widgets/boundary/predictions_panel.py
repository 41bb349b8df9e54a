"""What the model decides: the decision boundary over the input plane for 2-D data, and
a confusion matrix for more than two classes (or data the plane cannot show).

The model's outputs come from the engine (net.predict on a grid of input points, on
a private copy of the network loaded with the snapshot's weights, so the training
worker is never disturbed); the panel only lays the grid out and colours it. It
redraws a few times a second while playing, never per step.
"""

from __future__ import annotations

import numpy as np
from textual.widgets import Static

import engine.metrics as metrics
from tui import fmt
from tui.widgets import colours
from tui.widgets.boundary.boundary_map import BoundaryMap
from tui.widgets.boundary.confusion_matrix import ConfusionMatrix
from tui.widgets.panel import Panel

PAD = 0.08   # margin around the data, as a fraction of its range


class PredictionsPanel(Panel):
    """Decision boundary (2-D inputs) and/or confusion matrix (> 2 classes)."""

    TITLE = "Decision boundary"
    MIN_INTERVAL = 0.33

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._net = None
        self._net_run = None
        self._extent = None
        self._points_key = None
        self._points = []
        self._caption = None

    def compose(self):
        self.map = BoundaryMap(id="boundary-map")
        self.caption = Static(id="boundary-caption")
        self.confusion = ConfusionMatrix(id="confusion")
        yield self.map
        yield self.caption
        yield self.confusion

    def _network(self, snap):
        """A private copy of the network holding the snapshot's weights."""
        if self._net_run != snap.run_id:
            self._net = snap.facts.network()
            self._net_run = snap.run_id
            self._extent = None
            self._points_key = None
        self._net.theta[...] = snap.theta
        return self._net

    def draw(self, snap) -> None:
        facts = snap.facts
        X, Y = facts.X, facts.Y
        is_2d = X.shape[1] == 2
        K = metrics.n_classes(Y)
        show_confusion = K > 2 or not is_2d
        # In a short panel the plane keeps at least 8 lines; the matrix then shrinks to its total.
        if is_2d and show_confusion and self.content_region.height - (K + 3) < 9:
            show_confusion = False
        self.map.display = is_2d
        self.caption.display = is_2d
        self.confusion.display = show_confusion
        self.set_class(is_2d and show_confusion, "-with-confusion")
        net = self._network(snap)
        summary = ""
        if K > 2 or not is_2d:
            has_test = facts.X_test is not None and len(facts.X_test)
            Xe, Ye = (facts.X_test, facts.Y_test) if has_test else (X, Y)
            counts = metrics.confusion(net, Xe, Ye)
            right = int(np.trace(counts))
            where = "test" if has_test else "training"
            summary = f"{where} {right}/{int(counts.sum())}"
            if show_confusion:
                self.confusion.set_counts(counts, f"{where} set: {right}/{int(counts.sum())} right")
        if is_2d:
            self.border_title = "Decision boundary"
            self._draw_plane(net, X, Y, K, "" if show_confusion else summary)
        else:
            self.border_title = "Predictions"

    def _draw_plane(self, net, X, Y, K, summary=""):
        rows, cols = self.map.grid_shape
        if rows < 2 or cols < 2:
            self.map.set_field(None, None, [])
            return
        if self._extent is None:
            lo, hi = X.min(axis=0), X.max(axis=0)
            span = np.where(hi > lo, hi - lo, 1.0)
            self._extent = (lo - PAD * span, hi + PAD * span)
        (x0, y0), (x1, y1) = self._extent
        xs = np.linspace(x0, x1, cols)
        ys = np.linspace(y1, y0, rows)  # the top row is the largest x2
        grid = np.column_stack([np.tile(xs, rows), np.repeat(ys, cols)])
        A = net.predict(grid)
        classes = metrics.predicted_classes(A).reshape(rows, cols)
        conf = np.rint(metrics.confidence(A) * colours.LEVELS).astype(np.int64).reshape(rows, cols)
        key = (rows, cols)
        if key != self._points_key:
            self._points_key = key
            true = metrics.predicted_classes(Y)
            pc = np.rint((X[:, 0] - x0) / (x1 - x0) * (cols - 1)).astype(np.int64)
            pr = np.rint((y1 - X[:, 1]) / (y1 - y0) * (rows - 1)).astype(np.int64)
            self._points = list(zip(pr.tolist(), pc.tolist(), true.tolist()))
        self.map.set_field(classes, conf, self._points)
        n = lambda v: fmt.num(v, 6, 2)  # noqa: E731
        self.border_subtitle = f"x1 {n(x0)}…{n(x1)} →  x2 {n(y0)}…{n(y1)} ↑"
        caption = _caption(K, summary)
        if caption != self._caption:  # the same markup again would still re-render the line
            self._caption = caption
            self.caption.update(caption, layout=False)


def _caption(K, summary=""):
    """The key: class colours, regions fading where the model is unsure (or, when the
    confusion matrix has no room, how many it gets right)."""
    parts = []
    for k in range(min(K, 6)):
        r, g, b = colours.point_rgb(k)
        parts.append(f"[rgb({r},{g},{b})]●[/] {k}")
    tail = f"[b]{summary}[/] right" if summary else "[dim]pale = unsure[/]"
    return "[dim]class[/] " + "  ".join(parts) + "  " + tail
