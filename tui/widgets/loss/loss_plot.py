"""The loss curve: a plotext plot of training loss, test loss and accuracy.

The history can be millions of steps long; the plot shows at most two points per
character column (braille resolution). The per-step losses are copied into a NumPy
buffer incrementally (only the new steps each frame) and averaged per bucket, so a
frame costs the same at step 100 and at step 10 million.

plotext draws into a string with ANSI colour codes. Instead of handing that to Rich's
general ANSI decoder every frame (which costs more than plotext itself), the widget
splits plotext's few SGR codes into segments and serves cached strips (line API).
"""

from __future__ import annotations

import math
import re
from functools import lru_cache

import numpy as np
from rich.color import Color
from rich.segment import Segment
from rich.style import Style
from textual.strip import Strip
from textual_plotext import PlotextPlot

from tui.widgets import colours

LOSS_RGB = colours.POS
TEST_RGB = colours.NEG
ACC_RGB = (80, 200, 120)
AXIS_COLUMNS = 12   # room the y labels on both sides take


class LossPlot(PlotextPlot):
    """Training loss (left axis), test loss, accuracy (right axis, 0 to 1)."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._history = None
        self._buf = np.empty(1024)
        self._n = 0
        self.log_scale = False
        self.auto_log = False  # log scale chosen by the plot, because the values span too much
        self.points = 0      # points drawn for the loss line (tests check the downsampling)
        self._strips = None  # the built plot, one Strip per line, until the data or size changes
        self._strips_size = None

    def _sync(self, history, n):
        """Bring the buffer up to the first n per-step losses of `history`."""
        if history is not self._history or n < self._n:
            self._history, self._n = history, 0
        if n > self._n:
            if n > len(self._buf):
                grown = np.empty(max(n, 2 * len(self._buf)))
                grown[:self._n] = self._buf[:self._n]
                self._buf = grown
            self._buf[self._n:n] = history.loss[self._n:n]
            self._n = n
        return self._buf[:n]

    def plot_history(self, history, n_loss, n_eval, log_scale) -> None:
        """Plot the first n_loss steps and n_eval evaluations of `history`.

        Log scale is drawn as log10 of the values with decade ticks (plotext's own log
        axis, like its linear one, draws nothing once values reach about 1e15, which a
        diverging run does). A linear plot whose values span more than LOG_SPAN switches
        to log by itself; `auto_log` says so."""
        loss = self._sync(history, n_loss)
        plt = self.plt
        plt.clear_figure()
        plt.frame(True)
        columns = max(4, self.size.width - AXIS_COLUMNS)
        xs, ys = downsample(loss, 2 * columns)
        self.points = len(xs)
        steps = test = acc = np.empty(0)
        if n_eval:
            steps = np.asarray(history.eval_step[:n_eval], dtype=float)
            test = np.asarray(history.test_loss[:n_eval], dtype=float)
            acc = np.asarray(history.accuracy[:n_eval], dtype=float)
            idx = thin(len(steps), 2 * columns)
            steps, test, acc = steps[idx], test[idx], acc[idx]
        left = np.concatenate([ys, test])
        left = left[np.isfinite(left)]
        self.auto_log = not log_scale and _needs_log(left)
        log = log_scale or self.auto_log
        self.log_scale = log
        if log:
            ys, test = _log10(ys), _log10(test)
        if len(xs):
            plt.plot(xs.tolist(), ys.tolist(), marker="braille", color=LOSS_RGB)
        if np.isfinite(test).any():
            ok = np.isfinite(test)
            plt.plot(steps[ok].tolist(), test[ok].tolist(), marker="braille", color=TEST_RGB)
        ok = np.isfinite(acc)
        if ok.any():
            plt.plot(steps[ok].tolist(), acc[ok].tolist(), marker="braille", color=ACC_RGB, yside="right")
            plt.ylim(0, 1, yside="right")
            plt.yticks([0, 0.5, 1], ["0%", "50%", "100%"], yside="right")
        if log:
            values = np.concatenate([ys, test])
            values = values[np.isfinite(values)]
            if values.size:
                ticks = decade_ticks(float(values.min()), float(values.max()))
                plt.yticks(ticks, [_decade(t) for t in ticks], yside="left")
        if n_loss:
            ticks = step_ticks(n_loss, max(2, min(6, columns // 7)))
            plt.xticks(ticks, [_short(t) for t in ticks])
        self._strips = None
        self.refresh()

    def _register_theme(self, app_theme_name: str) -> None:
        self._strips = None
        super()._register_theme(app_theme_name)

    def render_line(self, y: int) -> Strip:
        width, height = self.size
        if self._strips is None or self._strips_size != (width, height):
            plot = self._plot
            plot.plotsize(width, height)
            plot._set_size(width, height)  # as PlotextPlot.render does (textual-plotext issue 5)
            plot.theme(self._get_plotext_theme_name(self.app.theme))
            self._strips = ansi_strips(plot.build(), width, self.rich_style) if width and height else []
            self._strips_size = (width, height)
        if y < len(self._strips):
            return self._strips[y]
        return Strip.blank(width, self.rich_style)


_SGR = re.compile(r"\x1b\[([0-9;]*)m")


@lru_cache(maxsize=1024)
def _sgr_style(fg, bg, bold) -> Style:
    return Style(color=Color.from_rgb(*fg) if fg else None, bgcolor=Color.from_rgb(*bg) if bg else None,
                 bold=bold or None)


@lru_cache(maxsize=4096)  # plotext repeats a handful of codes in a handful of states
def _apply_sgr(state, params: str):
    fg, bg, bold = state
    codes = [int(c) for c in params.split(";") if c] or [0]
    i = 0
    while i < len(codes):
        c = codes[i]
        if c == 0:
            fg, bg, bold = None, None, False
        elif c == 1:
            bold = True
        elif c == 22:
            bold = False
        elif c in (38, 48) and i + 4 < len(codes) and codes[i + 1] == 2:
            rgb = tuple(codes[i + 2:i + 5])
            fg, bg = (rgb, bg) if c == 38 else (fg, rgb)
            i += 4
        elif c in (38, 48) and i + 2 < len(codes) and codes[i + 1] == 5:
            rgb = Color.from_ansi(codes[i + 2]).get_truecolor()
            fg, bg = (tuple(rgb), bg) if c == 38 else (fg, tuple(rgb))
            i += 2
        elif c == 39:
            fg = None
        elif c == 49:
            bg = None
        elif 30 <= c <= 37 or 90 <= c <= 97:
            fg = tuple(Color.from_ansi(c - 30 if c < 90 else c - 82).get_truecolor())
        elif 40 <= c <= 47 or 100 <= c <= 107:
            bg = tuple(Color.from_ansi(c - 40 if c < 100 else c - 92).get_truecolor())
        i += 1
    return fg, bg, bold


def ansi_strips(text: str, width: int, base: Style) -> list[Strip]:
    """plotext's output as one Strip per line, each exactly `width` cells."""
    strips = []
    state = (None, None, False)
    styles = {}  # state -> base + its style: a few states serve thousands of segments

    def style_of(state):
        style = styles.get(state)
        if style is None:
            style = styles[state] = base + _sgr_style(*state)
        return style

    for line in text.split("\n"):
        segments = []
        pos = 0
        for m in _SGR.finditer(line):
            if m.start() > pos:
                segments.append(Segment(line[pos:m.start()], style_of(state)))
            state = _apply_sgr(state, m.group(1))
            pos = m.end()
        if pos < len(line):
            segments.append(Segment(line[pos:], style_of(state)))
        strips.append(Strip(segments).adjust_cell_length(width, base))
    return strips


def downsample(values: np.ndarray, points: int):
    """(x, y): the steps 1..n averaged into at most `points` buckets (x = bucket centre step)."""
    n = len(values)
    if n == 0:
        return np.empty(0), np.empty(0)
    points = max(1, points)
    if n <= points:
        return np.arange(1, n + 1, dtype=float), values.astype(float, copy=True)
    edges = np.linspace(0, n, points + 1).astype(np.int64)
    edges = np.unique(edges)
    starts = edges[:-1]
    counts = np.diff(edges)
    finite = np.where(np.isfinite(values), values, 0.0)
    sums = np.add.reduceat(finite, starts)
    ys = sums / counts
    xs = starts + (counts + 1) / 2.0
    return xs, ys


def thin(n: int, points: int):
    """Indices of at most `points` evenly spread entries of n (always the last one)."""
    if n <= points:
        return np.arange(n)
    idx = np.linspace(0, n - 1, points).round().astype(np.int64)
    return np.unique(idx)


def fmt_loss(v, spec=".4g") -> str:
    """A loss for the key line; spec "short" keeps three digits in at most 6 characters."""
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "—"
    if spec == "short":
        from tui.widgets.weights.heatmap import fmt
        return fmt(float(v), 7).strip()
    return format(v, spec)


LOG_SPAN = 1e4   # a linear axis over more than four decades shows nothing but a spike


def _needs_log(values) -> bool:
    if values.size == 0:
        return False
    top = float(np.abs(values).max())
    positive = values[values > 0]
    low = float(positive.min()) if positive.size else 0.0
    return top > 1e12 or (low > 0 and top / low > LOG_SPAN and top > 1.0)


def _log10(values):
    out = np.full(len(values), np.nan)
    ok = np.isfinite(values) & (values > 0)
    out[ok] = np.log10(values[ok])
    return out


def decade_ticks(lo: float, hi: float, count: int = 5):
    """Whole powers of ten (as exponents) covering lo..hi, at most `count` of them."""
    a, b = int(np.floor(lo)), int(np.ceil(hi))
    if a == b:
        return [a]
    step = max(1, -(-(b - a) // (count - 1)))
    return list(range(a, b + 1, step))


def _decade(k: int) -> str:
    if -2 <= k <= 3:
        return f"{10.0 ** k:g}"
    return f"1e{k}"


def step_ticks(n: int, count: int):
    """Round step numbers for the x axis, from 1 to n."""
    if n <= 1:
        return [1]
    raw = n / count
    mag = 10 ** int(math.floor(math.log10(raw))) if raw >= 1 else 1
    step = next((m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw), 10 * mag)
    ticks = [t for t in range(0, n + 1, max(1, int(step))) if t >= 1]
    return ticks or [1, n]


def _short(t: int) -> str:
    if t >= 1_000_000:
        return f"{t / 1e6:g}M"
    if t >= 10_000:
        return f"{t / 1e3:g}k"
    return str(t)
