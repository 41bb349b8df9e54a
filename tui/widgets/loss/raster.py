"""Series drawn into braille pixels (2 x 4 dots a cell), with NumPy and no Textual.

A series is a list of buckets (steps step_lo..step_hi, lowest and highest value).
Each pixel column takes the lowest and highest value of every bucket it touches, so a
spike of one step is never averaged away at any zoom: the column is drawn from its
minimum to its maximum, and stretched to touch its neighbours so the curve is
continuous. Pixel columns with no bucket are filled in between their neighbours:
joined by a straight line ("line"), or held at the previous value until the next one
("hold": a staircase, for accuracy, which only takes a few values).

The axes move in steps (x_span, snap_range): the x axis spans 1, 2, 4, 5 or 8 times a power of
ten steps, the y axis runs between round ticks, so from one step to the next most pixels
stay where they were and the plot redraws only the rows that changed (issue 14).
"""

from __future__ import annotations

import math

import numpy as np

# Braille bits 0..7 are the dots (row, column) (0,0) (1,0) (2,0) (0,1) (1,1) (2,1) (3,0) (3,1);
# as indices row * 2 + column of a cell's dots:
_BIT_ORDER = np.array([0, 2, 4, 1, 3, 5, 6, 7])


_SPANS = (1, 2, 4, 5, 8)   # x axis lengths (times a power of ten): each at most twice the one before
MIN_SPAN = 10


def x_span(n: int) -> int:
    """The last step on the x axis for a run at step n: the first of 10, 20, 40, 50, 80, 100,
    200... that holds n (the curve fills half the width or more, and the axis keeps its scale
    for many steps)."""
    if n <= MIN_SPAN:
        return MIN_SPAN
    power = 10 ** (len(str(int(n))) - 1)
    for m in _SPANS + (10,):
        if m * power >= n:
            return m * power
    return 10 * power   # pragma: no cover - the loop always returns


def snap_range(lo: float, hi: float, count: int, log: bool):
    """lo..hi widened to round values: multiples of the tick step of nice_ticks(lo, hi, count) on
    a linear axis; 1, 2 or 5 times a power of ten on a log one (lo and hi as log10). The axis
    then moves only when a value crosses a round value, not with every new minimum."""
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo:
        return lo, hi
    if log:
        def down(v):
            k = math.floor(v + 1e-12)
            return max(k + math.log10(m) for m in (1, 2, 5) if k + math.log10(m) <= v + 1e-12)

        def up(v):
            k = math.floor(v - 1e-12)
            return min(k + math.log10(m) for m in (1, 2, 5, 10) if k + math.log10(m) >= v - 1e-12)
        return down(lo), up(hi)
    step = tick_step(lo, hi, count)
    return math.floor(lo / step + 1e-9) * step, math.ceil(hi / step - 1e-9) * step


def pixel_of(steps, x_max: int, pixels: int):
    """The pixel column of each step: steps 0..x_max share the pixels evenly."""
    x = np.floor(np.asarray(steps, dtype=np.float64) * (pixels / (max(1, x_max) + 1))).astype(np.int64)
    # np.minimum/np.maximum: np.clip's wrappers cost more than the work at these sizes
    return np.minimum(np.maximum(x, 0), pixels - 1)


def columns(step_lo, step_hi, lo, hi, x_max: int, pixels: int, fill: str = "line"):
    """Per pixel column, (low, high) values of the buckets drawn in it (NaN: nothing).

    Steps 0..x_max span pixel columns 0..pixels-1 (pixel_of). Buckets with a non-finite lo or hi
    (a missing test split) are left out."""
    low = np.full(pixels, np.inf)
    high = np.full(pixels, -np.inf)
    ok = np.isfinite(lo) & np.isfinite(hi)
    if not ok.any() or pixels <= 0:
        return np.full(pixels, np.nan), np.full(pixels, np.nan)
    x0 = pixel_of(np.asarray(step_lo)[ok], x_max, pixels)
    x1 = pixel_of(np.asarray(step_hi)[ok], x_max, pixels)
    lo, hi = np.asarray(lo, dtype=np.float64)[ok], np.asarray(hi, dtype=np.float64)[ok]
    span = x1 - x0 + 1
    if span.max() > 1:  # a wide bucket covers every column it spans
        idx = np.repeat(np.arange(len(x0)), span)
        first = np.cumsum(span) - span
        px = x0[idx] + (np.arange(len(idx)) - first[idx])
    else:
        idx, px = np.arange(len(x0)), x0
    # Buckets come in step order, so px never decreases: reduce each run of equal px.
    step_up = np.empty(len(px), dtype=bool)
    step_up[0] = True
    np.not_equal(px[1:], px[:-1], out=step_up[1:])
    starts = np.flatnonzero(step_up)
    cols = px[starts]
    low[cols] = np.minimum.reduceat(lo[idx], starts)
    high[cols] = np.maximum.reduceat(hi[idx], starts)
    newest = np.full(pixels, -1, dtype=np.int64)  # per column, the newest bucket in it
    ends = np.empty(len(starts), dtype=np.int64)
    ends[:-1] = starts[1:]
    ends[-1] = len(idx)
    newest[cols] = idx[ends - 1]
    have = np.flatnonzero(np.isfinite(low))
    low[~np.isfinite(low)] = np.nan
    high[~np.isfinite(high)] = np.nan
    if len(have) > 1:
        gaps = np.arange(have[0], have[-1] + 1)
        gaps = gaps[np.isnan(low[gaps])]
        if gaps.size:
            if fill == "hold":
                prev = have[np.searchsorted(have, gaps) - 1]
                low[gaps] = high[gaps] = hi[newest[prev]]  # the newest value before the gap, held
            else:
                mid = (low[have] + high[have]) / 2
                low[gaps] = high[gaps] = np.interp(gaps, have, mid)
    return low, high


def row_of(value: float, v_lo: float, v_hi: float, rows: int) -> int:
    """rows_of() for one value already on the axis' scale (log10 on a log axis)."""
    t = (v_hi - value) / (v_hi - v_lo) if v_hi > v_lo else 0.5
    return min(rows - 1, max(0, round(t * (rows - 1))))


def rows_of(values, v_lo: float, v_hi: float, rows: int, log: bool):
    """Pixel rows (0 at the top) of values on an axis from v_lo (bottom) to v_hi (top); -1 for NaN."""
    v = np.asarray(values, dtype=np.float64)
    with np.errstate(all="ignore"):
        if log:
            v = np.log10(np.where(v > 0, v, np.nan))
        t = (v_hi - v) / (v_hi - v_lo) if v_hi > v_lo else np.full_like(v, 0.5)
        r = np.rint(t * (rows - 1))
    out = np.full(v.shape, -1, dtype=np.int64)
    ok = np.isfinite(r)
    out[ok] = np.minimum(np.maximum(r[ok], 0), rows - 1).astype(np.int64)
    return out


def dots(top_rows, bottom_rows, rows: int):
    """A (rows, pixels) boolean grid: each column lit from its top row to its bottom row,
    stretched to reach the previous column's range (so the curve has no breaks)."""
    top = np.asarray(top_rows).copy()
    bot = np.asarray(bottom_rows).copy()
    pixels = len(top)
    grid = np.zeros((rows, pixels), dtype=bool)
    ok = (top >= 0) & (bot >= 0)
    if not ok.any():
        return grid
    top, bot = np.minimum(top, bot), np.maximum(top, bot)
    # Reach the neighbour on the left where both columns are drawn.
    prev_ok = np.zeros_like(ok)
    np.logical_and(ok[:-1], ok[1:], out=prev_ok[1:])
    p_top, p_bot = np.zeros_like(top), np.zeros_like(bot)
    p_top[1:], p_bot[1:] = top[:-1], bot[:-1]
    top = np.where(prev_ok & (top > p_bot), p_bot, top)
    bot = np.where(prev_ok & (bot < p_top), p_top, bot)
    r = np.arange(rows)[:, None]
    grid[:] = ok[None, :] & (r >= top[None, :]) & (r <= bot[None, :])
    return grid


def braille(grid):
    """A (rows, pixels) dot grid as (cell rows, cell columns) braille bit masks (uint16)."""
    rows, pixels = grid.shape
    h, w = -(-rows // 4), -(-pixels // 2)
    padded = np.zeros((4 * h, 2 * w), dtype=bool)
    padded[:rows, :pixels] = grid
    # Per cell its 8 dots as (row, column) pairs in the order of their bits, packed.
    cells = padded.reshape(h, 4, w, 2).transpose(0, 2, 1, 3).reshape(h, w, 8)[..., _BIT_ORDER]
    return np.packbits(cells, axis=-1, bitorder="little")[..., 0].astype(np.uint16)


def tick_step(lo: float, hi: float, count: int) -> float:
    """The round step (1, 2, 2.5 or 5 times a power of ten) between about `count` ticks over lo..hi."""
    raw = (hi - lo) / max(1, count)
    mag = 10 ** math.floor(math.log10(raw))
    return next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)


def nice_ticks(lo: float, hi: float, count: int):
    """Round values between lo and hi, about `count` of them."""
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo or count < 2:
        return [lo] if math.isfinite(lo) else []
    step = tick_step(lo, hi, count)
    first = math.ceil(lo / step - 1e-9) * step
    ticks = []
    t = first
    while t <= hi + 1e-9 * step:
        ticks.append(0.0 if abs(t) < 1e-12 * step else t)
        t += step
    return ticks


def decade_ticks(lo: float, hi: float, count: int = 5):
    """Whole powers of ten (as exponents) inside lo..hi, at most `count` of them (the top one always)."""
    a, b = math.ceil(lo - 1e-9), math.floor(hi + 1e-9)
    if a > b:
        return []
    step = max(1, -(-(b - a + 1) // max(1, count)))
    return list(range(b, a - 1, -step))[::-1]


def step_ticks(n: int, count: int):
    """Round step numbers for the x axis, from 0 to n."""
    if n <= 1:
        return list(range(n + 1))
    raw = n / max(1, count)
    mag = 10 ** int(math.floor(math.log10(raw))) if raw >= 1 else 1
    step = next((m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw), 10 * mag)
    return [t for t in range(0, n + 1, max(1, int(step)))]


def short_step(t: int) -> str:
    if t >= 1_000_000:
        return f"{t / 1e6:g}M"
    if t >= 10_000:
        return f"{t / 1e3:g}k"
    return str(t)
