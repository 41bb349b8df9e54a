"""The one number formatter of the UI: a number in a given width, rounded, never cut.

`num(v, width)` gives the most significant digits (up to `sig`) that fit in `width`
characters: plain notation where it reads well, e-notation with a short exponent
(1.5e-8, not 1.5e-08) where it is shorter. A number is never truncated, because a cut
number reads as a different number (0.00074 for 0.0007456); when not even one
significant digit fits, the answer is "…", which nobody can mistake for a value.
Without a width the number simply gets `sig` significant digits.

`full(v)` is the exact float64 (the shortest text that reads back as the same float),
for the panels' full-precision mode, which scroll instead of fitting a width.
"""

from __future__ import annotations

import math
import re

ELLIPSIS = "…"
_EXP = re.compile(r"e([+-])0*(\d)")


def _short_exp(text: str) -> str:
    return _EXP.sub(lambda m: "e" + ("-" if m.group(1) == "-" else "") + m.group(2), text)


def _forms(v: float, sig: int):
    """Renderings of v with `sig` significant digits, most readable first."""
    g = _short_exp(f"{v:.{sig}g}")
    yield g
    if "e" not in g:
        yield _short_exp(f"{v:.{sig - 1}e}")


def num(v, width: int | None = None, sig: int = 4) -> str:
    """v in at most `width` characters (no limit when None), with at most `sig` significant digits."""
    if v is None:
        return "—" if width is None or width >= 1 else ""
    v = float(v)
    if not math.isfinite(v):
        text = "nan" if v != v else ("inf" if v > 0 else "-inf")
        return text if width is None or len(text) <= width else _none(width)
    if v == 0:
        return "0" if width is None or width >= 1 else ""
    if width is None:
        return next(_forms(v, sig))
    # A whole number with at least `sig` digits reads best written out, when it fits.
    if abs(v) >= 10 ** (sig - 1):
        whole = f"{v:.0f}"
        if len(whole) <= width:
            return whole
    for s in range(sig, 0, -1):
        for text in _forms(v, s):
            if len(text) <= width:
                return text
    return _none(width)


def _none(width):
    return ELLIPSIS if width >= 1 else ""


def full(v) -> str:
    """Every digit: Python's repr of the float64."""
    return repr(float(v))


def signed(v, width: int | None = None, sig: int = 4) -> str:
    """num() with a + on positive values (a change, a step)."""
    if v is not None and float(v) > 0:
        text = num(v, None if width is None else width - 1, sig)
        return text if text == ELLIPSIS else "+" + text
    return num(v, width, sig)


def percent(x, width: int | None = None) -> str:
    """A fraction 0..1 as a percentage with one decimal (none when the width is short)."""
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "—"
    text = f"{100 * x:.1f}%"
    if width is not None and len(text) > width:
        text = f"{100 * x:.0f}%"
        if len(text) > width:
            return _none(width)
    return text


def score(metrics, prefix="", width: int | None = None) -> tuple[str, str]:
    """(label, text) of a run's score in a metrics dict: ("acc", "93.0%") for classification,
    ("R²", "0.9121") for a regression run (engine.Trainer.evaluate gives it r2, no accuracy).
    prefix="test_" reads the test set's."""
    if f"{prefix}r2" in metrics:
        v = metrics[f"{prefix}r2"]
        if v is None or not math.isfinite(v):
            return "R²", "—"
        text = f"{v:.4f}"
        return "R²", text if width is None or len(text) <= width else num(v, width, 2)
    return "acc", percent(metrics.get(f"{prefix}accuracy"), width)
