"""Colour scales shared by the heatmaps, the legend, the boundary and the confusion matrix.

Values are quantised to a few levels so that styles can be cached: the line-API
widgets build thousands of cells a second and must not create a Style per cell.
Blue for negative, orange for positive: a diverging pair that stays distinct for the
common kinds of colour blindness.
"""

from __future__ import annotations

from functools import lru_cache

from rich.color import Color
from rich.style import Style

LEVELS = 12                    # levels on each side of zero
NEG = (70, 140, 245)           # strongly negative / class 0
POS = (245, 145, 40)           # strongly positive / class 1
MID = (36, 38, 48)             # zero: close to the panel background
CLASS_COLOURS = (
    (70, 140, 245), (245, 145, 40), (80, 200, 120), (225, 90, 200), (240, 220, 80),
    (70, 210, 230), (235, 80, 80), (160, 120, 240), (170, 230, 60), (250, 160, 190),
)


def mix(a, b, t):
    return tuple(int(round(x + (y - x) * t)) for x, y in zip(a, b))


def level(value, scale) -> int:
    """value / scale mapped to an integer in [-LEVELS, LEVELS] (0 for a zero scale or NaN)."""
    if not scale or value != value:
        return 0
    t = value / scale
    if t >= 1:
        return LEVELS
    if t <= -1:
        return -LEVELS
    return int(round(t * LEVELS))


@lru_cache(maxsize=None)
def level_rgb(lv: int):
    t = abs(lv) / LEVELS
    return mix(MID, POS if lv > 0 else NEG, t ** 0.8)


def _rgb(c):
    return Color.from_rgb(*c)


def _ink(rgb):
    """Black or white text, whichever reads better on rgb."""
    r, g, b = rgb
    return (15, 15, 20) if 0.299 * r + 0.587 * g + 0.114 * b > 140 else (235, 235, 240)


@lru_cache(maxsize=None)
def cell_style(lv: int, cursor: bool = False) -> Style:
    """A text cell showing a number on its level's colour (bold and underlined under the cursor)."""
    bg = level_rgb(lv)
    if cursor:  # the cursor cell: light on the level's colour turned inside out
        return Style(color=_rgb(bg), bgcolor=_rgb((245, 245, 250)), bold=True)
    return Style(color=_rgb(_ink(bg)), bgcolor=_rgb(bg))


CURSOR_RGB = (255, 255, 255)


@lru_cache(maxsize=None)
def half_style(top, bottom) -> Style:
    """Upper-half block '▀': foreground paints the top half, background the bottom.

    top and bottom are levels (ints) or RGB tuples."""
    t = level_rgb(top) if isinstance(top, int) else top
    b = level_rgb(bottom) if isinstance(bottom, int) else bottom
    return Style(color=_rgb(t), bgcolor=_rgb(b))


@lru_cache(maxsize=None)
def plain_style(fg=None, bg=None, bold=False, dim=False) -> Style:
    return Style(color=_rgb(fg) if fg else None, bgcolor=_rgb(bg) if bg else None, bold=bold, dim=dim)


def class_rgb(k: int):
    return CLASS_COLOURS[k % len(CLASS_COLOURS)]


@lru_cache(maxsize=4096)
def region_rgb(k: int, confidence_level: int):
    """The background of the input plane where the model predicts class k.

    confidence_level in 0..LEVELS: how far the prediction is from undecided."""
    return mix(MID, class_rgb(k), 0.12 + 0.55 * confidence_level / LEVELS)


def point_rgb(k: int):
    """A data point of class k: its class colour, brightened so it stands out on its region."""
    return mix(class_rgb(k), (255, 255, 255), 0.25)


class StyleTable(dict):
    """Styles by an integer code, each made once by `make(code)` on first use.

    The line-API widgets colour a line as an array of codes (a level, a pair of levels,
    a label); a lookup here is one dict access, with no Style built per cell or per frame."""

    def __init__(self, make):
        super().__init__()
        self._make = make

    def __missing__(self, code):
        style = self[code] = self._make(code)
        return style
