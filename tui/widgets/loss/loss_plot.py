"""The loss curve, drawn with the line API from the run's compact Curve.

Per-step losses are drawn as a min/max envelope per pixel column (braille: two pixel
columns and four pixel rows a cell), so every spike and every oscillation that
happened is on screen at any zoom; the y axis covers every drawn value and the
headline numbers. Accuracy (right axis, 0 to 100%) is a staircase: it holds each
evaluated value until the next evaluation; a regression run draws R² there instead, on the
same 0..1 axis (labelled 0 to 1), a negative R² drawn at 0 (the panel's key says so). Checkpoints are marked on the x axis (▲).

The Curve is bounded (about 1024 buckets plus the exact recent steps), so a frame
costs the same at step 100 and at step 10 million; the lines are rebuilt only when
the pixels, labels or size change, and then only the rows that look different are
rebuilt and repainted (each row keyed by its pixels and labels); the rest are served from
cached strips. The axes move in steps (raster.x_span: 10, 20, 40, 50, 80, 100... steps;
raster.snap_range: the y axis between round ticks), so a new step usually changes the
pixels of one column, not every row; a series whose data did not change since the last
frame (the evaluations, between evaluations) is not rasterised again.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from rich.segment import Segment
from rich.style import Style
from textual.strip import Strip
from textual.widget import Widget

from tui.widgets import colours
from tui.widgets.loss import raster
from tui.widgets.quick_lines import QuickLines
from tui.widgets.repaint import changed_lines
from tui.widgets.weights.heatmap import fmt

LOSS_RGB = colours.POS            # per-step (minibatch) loss
FULL_RGB = (250, 215, 170)        # full-data training loss at the evaluation steps
TEST_RGB = colours.NEG
ACC_RGB = (80, 200, 120)
MARK_RGB = (200, 200, 215)
TARGET_RGB = (255, 215, 80)       # the checkpoint u would rewind to
AXIS_RGB = (120, 124, 140)
LOG_SPAN = 1e4    # a linear axis over more than four decades shows nothing but a spike
LABEL_W = 7       # y labels: fmt() keeps three significant digits in 7 characters
RIGHT_W = 5       # " 100%"
_STYLES = {rgb: colours.plain_style(fg=rgb, bold=rgb == TARGET_RGB)
           for rgb in (LOSS_RGB, FULL_RGB, TEST_RGB, ACC_RGB, MARK_RGB, TARGET_RGB, AXIS_RGB)}


class Series(NamedTuple):
    """Buckets of one curve: steps step_lo..step_hi holding values lo..hi."""
    step_lo: np.ndarray
    step_hi: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    rgb: tuple
    fill: str = "line"      # "line" joins evaluations, "hold" draws a staircase
    right: bool = False     # on the right axis (0..1, as a percentage)


def curve_series(curve, full=True):
    """The series a Curve draws as: step loss envelope, full-data loss, test loss, accuracy
    (R² for a regression run: raster.rows_of clips it to the 0..1 axis, so below 0 sits at 0)."""
    out = []
    s = curve.steps
    if full:
        out.append(Series(s, s, curve.loss, curve.loss, FULL_RGB))
    out.append(Series(s, s, curve.test_loss, curve.test_loss, TEST_RGB))
    score = curve.r2 if getattr(curve, "regression", False) else curve.accuracy
    out.append(Series(s, s, score, score, ACC_RGB, "hold", True))
    out.append(Series(curve.step_lo, curve.step_hi, curve.lo, curve.hi, LOSS_RGB))  # drawn last: on top
    return out


class LossPlot(QuickLines, Widget):
    """Step loss (envelope), full-data and test loss on the left axis; accuracy on the right."""

    DEFAULT_CSS = "LossPlot { height: 1fr; }"
    PLAIN_LINES = True   # QuickLines: its rows go straight into Textual's line cache

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._series: list[Series] = []
        self._n = 0
        self._marks = ()
        self._target = None
        self._extra = ()
        self._want_log = False
        self.right_axis = "percent"  # how the 0..1 axis is labelled: "percent" (accuracy) or "r2"
        self.log_scale = False   # the axis drawn is logarithmic (asked for, or chosen: auto_log)
        self.auto_log = False    # log scale chosen by the plot, because the values span too much
        self.y_range = None      # (bottom, top) of the left axis, in loss units
        self.builds = 0          # times the lines were rebuilt (tests check that unchanged pixels cost nothing)
        self.rows_built = 0      # rows rebuilt in all (a step late in a run rebuilds a few)
        self._key = None         # per row on screen: what it shows (its pixels, labels, width)
        self._strips: list[Strip] = []
        self._built_for = None   # (width, height, base style) the strips were built for
        self._cells = {}         # series content and axes -> its braille cells (the last frame's)

    # ----- data ---------------------------------------------------------------------------

    def plot_curve(self, curve, log_scale: bool, extra=()) -> None:
        """Draw a Curve; `extra` values (the headline losses) are kept inside the y range."""
        self.right_axis = "r2" if getattr(curve, "regression", False) else "percent"
        self.plot_series(curve_series(curve), curve.n_steps, log_scale, marks=curve.marks, extra=extra,
                         target=curve.rewind_to)

    def plot_series(self, series, n_steps: int, log_scale: bool, marks=(), extra=(), target=None) -> None:
        """Draw series over steps 0..n_steps; marks on the x axis, `target` (a mark) highlighted."""
        self._series, self._n, self._marks, self._target = list(series), int(n_steps), tuple(marks), target
        self._extra = tuple(float(v) for v in extra if v is not None and math.isfinite(v))
        self._want_log = log_scale
        self._rebuild()

    def on_resize(self) -> None:
        self._rebuild()

    # ----- drawing ------------------------------------------------------------------------

    def _rebuild(self) -> None:
        """Rasterise; rebuild and repaint only the rows whose pixels or labels changed."""
        width, height = self.size
        base = self.rich_style
        keys, build_row = self._raster(width, height)
        keys = [(k, base) for k in keys]
        if keys == self._key and self._built_for == (width, height):
            return
        old_keys = self._key if self._built_for == (width, height) and self._key else []
        old = dict(zip(old_keys, self._strips)) if len(old_keys) == len(self._strips) else {}
        strips = []
        for y, k in enumerate(keys):
            strip = old.get(k)
            if strip is None:
                strip = build_row(y, base)
                self.rows_built += 1
            strips.append(strip)
        self._strips = strips
        self._key = keys
        self._built_for = (width, height)
        self.builds += 1
        changed_lines(self, old_keys, keys)

    def _y_axis(self, left, count: int):
        values = np.concatenate([np.concatenate([s.lo, s.hi]) for s in left] + [np.asarray(self._extra)]) \
            if left else np.asarray(self._extra)
        values = values[np.isfinite(values)]
        self.auto_log = not self._want_log and _needs_log(values)
        log = self.log_scale = self._want_log or self.auto_log
        if log:
            values = values[values > 0]
            values = np.log10(values) if values.size else values
        if not values.size:
            return log, 0.0, 1.0
        lo, hi = float(values.min()), float(values.max())
        if hi - lo < 1e-12 * max(1.0, abs(hi)):
            pad = 0.5 if log else max(abs(hi) * 0.5, 1e-3)
            lo, hi = lo - pad, hi + pad
        lo, hi = raster.snap_range(lo, hi, count, log)
        return log, lo, hi

    def _raster(self, width, height):
        """(content key, build(base) -> strips) for the current data at this size."""
        left = [s for s in self._series if not s.right]
        right = [s for s in self._series if s.right and np.isfinite(s.lo).any()]
        axis = height >= 4
        ph = max(1, height - 2) if axis else max(1, height)
        log, v_lo, v_hi = self._y_axis(left, max(2, ph // 3))
        self.y_range = (10 ** v_lo, 10 ** v_hi) if log else (v_lo, v_hi)
        rw = RIGHT_W if right else 0
        pw = width - LABEL_W - 1 - rw
        if pw < 2 or not height:
            return [], None
        rows, pixels = 4 * ph, 2 * pw
        x_max = raster.x_span(self._n)
        bits = np.zeros((ph, pw), dtype=np.uint16)
        colour = np.full((ph, pw), -1, dtype=np.int64)
        rgbs = []
        axes = (x_max, pixels, rows, log, v_lo, v_hi)
        last, self._cells = self._cells, {}
        for s in self._series:  # in the order given: a later series' colour wins a shared cell
            if not (np.isfinite(s.lo).any() and np.isfinite(s.hi).any()):
                continue   # nothing to draw (no test split)
            key = (axes, s.fill, s.right, s.step_lo.tobytes(), s.step_hi.tobytes(), s.lo.tobytes(), s.hi.tobytes())
            cells = last.get(key)
            if cells is None:
                cells = self._series_cells(s, axes)
            self._cells[key] = cells
            if cells is False:
                continue   # nothing finite to draw (no test split)
            if s.rgb not in rgbs:
                rgbs.append(s.rgb)
            colour[cells > 0] = rgbs.index(s.rgb)
            bits |= cells
        # y labels: round ticks inside the range, each on the row holding it.
        labels = {}
        if log:
            for k in raster.decade_ticks(v_lo, v_hi, max(2, ph // 3)):
                labels[raster.row_of(k, v_lo, v_hi, rows) // 4] = _decade(k)
        else:
            for t in raster.nice_ticks(v_lo, v_hi, max(2, ph // 3)):
                label = fmt(t, LABEL_W).strip()
                if label not in labels.values():  # a range too narrow for the width: one label, not three alike
                    labels[raster.row_of(t, v_lo, v_hi, rows) // 4] = label
        r2 = self.right_axis == "r2"
        # "≤0": the R² curve holds values below the axis, drawn at 0 (the panel's legend says so).
        clipped = r2 and any((s.lo[np.isfinite(s.lo)] < 0).any() for s in right)
        right_labels = {0: "R² 1" if r2 else "100%", ph - 1: ("≤0" if clipped else "0") if r2 else "0%"} \
            if right else {}
        if right and ph >= 5:
            right_labels[(ph - 1) // 2] = "0.5" if r2 else "50%"
        x_ticks, mark_cols, target_col = {}, set(), None
        if axis:
            for t in raster.step_ticks(x_max, max(1, min(6, pw // 8))):
                x_ticks[int(raster.pixel_of(t, x_max, pixels)) // 2] = raster.short_step(t)
            marks = [m for m in self._marks if 0 <= m <= self._n]
            mark_cols = {int(c) // 2 for c in raster.pixel_of(marks, x_max, pixels)}
            if self._target is not None and 0 <= self._target <= self._n:
                target_col = int(raster.pixel_of(self._target, x_max, pixels)) // 2
        # Each row's key is what it shows: rows whose key did not change keep their strips.
        colour_key = tuple(rgbs)
        keys = [(width, y, labels.get(y), right_labels.get(y), bits[y].tobytes(), colour[y].tobytes(), colour_key)
                for y in range(ph)]
        if axis:
            axis_key = (width, tuple(sorted(x_ticks.items())), tuple(sorted(mark_cols)), target_col)
            keys += [("axis",) + axis_key, ("ticks",) + axis_key]
        styles_of = {}

        def styles(base):
            got = styles_of.get(base)
            if got is None:
                got = styles_of[base] = (
                    {rgb: base + _STYLES.get(rgb, colours.plain_style(fg=rgb)) for rgb in rgbs},
                    base + _STYLES[AXIS_RGB], base + _STYLES[MARK_RGB], base + _STYLES[TARGET_RGB],
                    base + _STYLES[ACC_RGB])
            return got

        def build_row(y: int, base: Style) -> Strip:
            series_style, axis_style, mark_style, target_style, acc_style = styles(base)
            if y < ph:
                segs = [Segment(labels.get(y, "").rjust(LABEL_W), axis_style),
                        Segment("┤" if y in labels else "│", axis_style)]
                chars = "".join(map(chr, (0x2800 + bits[y]).tolist()))
                row_c = colour[y]
                edges = [0, *(np.flatnonzero(row_c[1:] != row_c[:-1]) + 1).tolist(), pw]
                for a, b in zip(edges, edges[1:]):  # runs of one colour
                    c = row_c[a]
                    segs.append(Segment(chars[a:b], series_style[rgbs[c]] if c >= 0 else base))
                if rw:
                    segs.append(Segment(right_labels.get(y, "").rjust(rw), acc_style))
                return Strip(segs).adjust_cell_length(width, base)
            if y == ph:
                line = ["─"] * pw
                for c in x_ticks:
                    if c < pw:
                        line[c] = "┴"
                segs = [Segment(" " * LABEL_W + "└", axis_style)]
                start = 0
                kind = [2 if x == target_col else 1 if x in mark_cols else 0 for x in range(pw)]
                for x in range(1, pw + 1):  # runs of axis, of marks, and the target mark
                    if x == pw or kind[x] != kind[start]:
                        if kind[start]:
                            segs.append(Segment("▲" * (x - start), target_style if kind[start] == 2 else mark_style))
                        else:
                            segs.append(Segment("".join(line[start:x]), axis_style))
                        start = x
                return Strip(segs).adjust_cell_length(width, base)
            text = [" "] * (LABEL_W + 1 + pw + rw)
            end = -1
            for c, label in sorted(x_ticks.items()):
                at = LABEL_W + 1 + c - len(label) // 2
                at = max(at, end + 2, 0)
                if at + len(label) > len(text):
                    at = len(text) - len(label)
                    if at <= end + 1:
                        continue
                text[at:at + len(label)] = label
                end = at + len(label) - 1
            return Strip([Segment("".join(text), axis_style)]).adjust_cell_length(width, base)

        return keys, build_row

    @staticmethod
    def _series_cells(s, axes):
        """One series' braille cells on these axes (False when it has no finite value)."""
        x_max, pixels, rows, log, v_lo, v_hi = axes
        lo_v, hi_v = raster.columns(s.step_lo, s.step_hi, s.lo, s.hi, x_max, pixels, s.fill)
        if np.isnan(lo_v).all():
            return False
        if s.right:
            top, bot = raster.rows_of(hi_v, 0.0, 1.0, rows, False), raster.rows_of(lo_v, 0.0, 1.0, rows, False)
        else:
            top, bot = raster.rows_of(hi_v, v_lo, v_hi, rows, log), raster.rows_of(lo_v, v_lo, v_hi, rows, log)
        return raster.braille(raster.dots(top, bot, rows))

    def render_line(self, y: int) -> Strip:
        width, height = self.size
        if self._built_for != (width, height):
            self._rebuild()
        if y < len(self._strips):
            return self._strips[y]
        return Strip.blank(width, self.rich_style)


def fmt_loss(v, spec=".4g") -> str:
    """A loss for the key line; spec "short" keeps three digits in at most 7 characters."""
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "—"
    if spec == "short":
        return fmt(float(v), 7).strip()
    return format(v, spec)


def _needs_log(values) -> bool:
    if values.size == 0:
        return False
    top = float(np.abs(values).max())
    positive = values[values > 0]
    low = float(positive.min()) if positive.size else 0.0
    return top > 1e12 or (low > 0 and top / low > LOG_SPAN and top > 1.0)


def _decade(k: int) -> str:
    if -2 <= k <= 3:
        return f"{10.0 ** k:g}"
    return f"1e{k}"
