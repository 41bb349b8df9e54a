"""What the model decides: the decision boundary over the input plane for 2-D data, and
a confusion matrix for more than two classes (or data the plane cannot show).

The numbers come from the snapshot: the run controller evaluates the network over the
plane (engine.plane, at most 3 times a second while playing) and counts the confusion
matrix; this panel never calls the network, it only resamples those arrays to its own
grid and colours them. With a unit chosen (< and >) it shows that unit's map large
instead; `k` draws the boundary in two solid colours, `T` adds the test points (hollow).
For a regression run (config.task == "regression") it shows the predicted surface on
a diverging scale with the targets on top.
"""

from __future__ import annotations

import numpy as np
from textual.widgets import Static

import engine.metrics as metrics
from engine.plane import centre_scale
from tui import fmt
from tui.widgets import colours
from tui.widgets.boundary.boundary_map import BoundaryMap
from tui.widgets.boundary.confusion_matrix import ConfusionMatrix
from tui.widgets.panel import Panel


class PredictionsPanel(Panel):
    """Decision boundary (2-D inputs) and/or confusion matrix (> 2 classes)."""

    TITLE = "Decision boundary"
    MIN_INTERVAL = 0.33

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._points_key = None
        self._points = ([], [])
        self._caption = None
        self.drew = None    # what the plane shows: "output", "unit" or "surface" (tests read it)

    def compose(self):
        self.map = BoundaryMap(id="boundary-map")
        self.caption = Static(id="boundary-caption")
        self.confusion = ConfusionMatrix(id="confusion")
        yield self.map
        yield self.caption
        yield self.confusion

    def draw(self, snap) -> None:
        facts = snap.facts
        X, Y = facts.X, facts.Y
        plane = getattr(snap, "plane", None)
        is_2d = X.shape[1] == 2
        regression = getattr(snap.config, "task", "classification") == "regression"
        K = 0 if regression else metrics.n_classes(Y)
        show_confusion = not regression and (K > 2 or not is_2d)
        # In a short panel the plane keeps at least 8 lines; the matrix then shrinks to its total.
        if is_2d and show_confusion and self.content_region.height - (K + 3) < 9:
            show_confusion = False
        self.map.display = is_2d
        self.caption.display = is_2d
        self.confusion.display = show_confusion
        self.set_class(is_2d and show_confusion, "-with-confusion")
        summary = ""
        confusion = getattr(snap, "confusion", None)
        if confusion is not None:
            counts, where = confusion
            right = int(np.trace(counts))
            summary = f"{where} {right}/{int(counts.sum())}"
            if show_confusion:
                self.confusion.set_counts(counts, f"{where} set: {right}/{int(counts.sum())} right")
        if not is_2d:
            self.border_title = "Predictions"
            return
        rows, cols = self.map.grid_shape
        ask = getattr(self.host, "want_plane", None)
        unit = getattr(self.view, "unit", None)
        if ask is not None and rows >= 2 and cols >= 2 and getattr(self.screen, "is_current", True):
            # The next plane comes at this panel's resolution, with the chosen unit's map (only the
            # panel in front asks: two boundary panels of different sizes would take turns).
            ask((rows, cols), None if unit is None else (self.view.layer, unit))
        if plane is None or rows < 2 or cols < 2:
            self.map.set_field(None, None, [])
            return
        self._draw_plane(snap, plane, rows, cols, K, regression, "" if show_confusion else summary)

    def _draw_plane(self, snap, plane, rows, cols, K, regression, summary=""):
        facts = snap.facts
        view = self.view
        unit = getattr(view, "unit", None)
        unit = None if unit is None else (view.layer, unit)
        if unit is not None and plane.unit == unit and plane.unit_map is not None:
            values = _resample(plane.unit_map, rows, cols)
            activation = facts.layers[unit[0] - 1].activation
            classes, conf = _diverging(values, *centre_scale(activation, plane.unit_map))
            self.drew = "unit"
            label = _unit_label(facts, *unit)
            self.border_title = f"Unit map · {label}"
            caption = f"[b]{label}[/] over the plane ({activation}) [dim]· < > another unit; past the ends: the boundary[/]"
        elif regression:
            values = _resample(plane.output[:, :, 0], rows, cols)
            scale = float(np.abs(facts.Y).max()) or 1.0
            classes, conf = _diverging(values, 0.0, scale)
            self.drew = "surface"
            self.border_title = "Predicted surface"
            caption = "[dim]prediction: blue < 0 < orange · points: the targets[/]"
        else:
            A = _resample(plane.output, rows, cols).reshape(rows * cols, -1)
            classes = metrics.predicted_classes(A).reshape(rows, cols)
            conf = np.rint(metrics.confidence(A) * colours.LEVELS).astype(np.int64).reshape(rows, cols)
            self.drew = "output"
            self.border_title = "Decision boundary"
            caption = _caption(K, summary)
        if getattr(view, "discrete", False) and self.drew != "unit":
            conf = np.full_like(conf, colours.LEVELS)   # two solid colours: the decision only
        show_test = getattr(view, "show_test", False)
        (x0, y0), (x1, y1) = plane.lo, plane.hi
        key = (rows, cols, snap.run_id, plane.lo, plane.hi, show_test)
        if key != self._points_key:
            self._points_key = key
            self._points = (_pixels(facts.X, facts.Y, plane, rows, cols, regression),
                            _pixels(facts.X_test, facts.Y_test, plane, rows, cols, regression) if show_test else [])
        self.map.set_field(classes, conf, *self._points)
        n = lambda v: fmt.num(v, 6, 2)  # noqa: E731
        self.border_subtitle = f"x1 {n(x0)}…{n(x1)} →  x2 {n(y0)}…{n(y1)} ↑"
        if show_test and facts.X_test is not None and len(facts.X_test):
            caption += " [dim]○ test[/]"
        if caption != self._caption:  # the same markup again would still re-render the line
            self._caption = caption
            self.caption.update(caption, layout=False)


def _resample(a, rows, cols):
    """The plane's grid `a` (r, c, ...) to rows x cols by nearest point (the grid spans the same plane)."""
    r, c = a.shape[:2]
    if (r, c) == (rows, cols):
        return np.asarray(a)
    ri = np.rint(np.linspace(0, r - 1, rows)).astype(np.intp)
    ci = np.rint(np.linspace(0, c - 1, cols)).astype(np.intp)
    return np.asarray(a)[ri][:, ci]


def _diverging(values, centre, scale):
    """Side of `centre` (0 below, 1 above: the two class colours) and distance as a colour level."""
    d = np.nan_to_num(np.asarray(values, dtype=np.float64) - centre)
    classes = (d > 0).astype(np.int64)
    conf = np.clip(np.rint(np.abs(d) / (scale or 1.0) * colours.LEVELS), 0, colours.LEVELS).astype(np.int64)
    return classes, conf


def _pixels(X, Y, plane, rows, cols, regression):
    """[(pixel row, pixel col, class)] of the points X (a target's sign for regression)."""
    if X is None or not len(X):
        return []
    (x0, y0), (x1, y1) = plane.lo, plane.hi
    k = (np.asarray(Y)[:, 0] > 0).astype(np.int64) if regression else metrics.predicted_classes(Y)
    pc = np.rint((X[:, 0] - x0) / (x1 - x0) * (cols - 1)).astype(np.int64)
    pr = np.rint((y1 - X[:, 1]) / (y1 - y0) * (rows - 1)).astype(np.int64)
    return list(zip(pr.tolist(), pc.tolist(), k.tolist()))


def _unit_label(facts, layer, j):
    """A unit's name as the course writes the arrays: A1[:, 2] (Ŷ for the output)."""
    name = "Ŷ" if layer == facts.L else f"A{layer}"
    return f"{name}[:, {j}]"


def _caption(K, summary=""):
    """The key: class colours, regions fading where the model is unsure (or, when the
    confusion matrix has no room, how many it gets right)."""
    parts = []
    for k in range(min(K, 6)):
        r, g, b = colours.point_rgb(k)
        parts.append(f"[rgb({r},{g},{b})]●[/] {k}")
    tail = f"[b]{summary}[/] right" if summary else "[dim]pale = unsure[/]"
    return "[dim]class[/] " + "  ".join(parts) + "  " + tail
