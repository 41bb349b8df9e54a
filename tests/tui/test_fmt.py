"""tui.fmt: a number that does not fit is rounded, never cut; nothing fits -> an ellipsis."""

import math
import re
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from tui import fmt
from tui.widgets.opmode.numbers import matrix_block
from tui.widgets.weights.heatmap import fmt as cell_fmt


def shown_step(text: str) -> Decimal:
    """Half a unit in the last digit the text shows: how far the value may be from it."""
    mant, _, exp = text.lstrip("+-").partition("e")
    e = int(exp) if exp else 0
    decimals = len(mant.partition(".")[2])
    return Decimal(5).scaleb(e - decimals - 1)


def assert_faithful(v, text, width):
    assert len(text) <= width, (v, width, text)
    if text == fmt.ELLIPSIS:
        return
    assert abs(Decimal(text) - Decimal(v)) <= shown_step(text), (v, width, text)


@settings(max_examples=2000, deadline=None)
@given(st.floats(allow_nan=False, allow_infinity=False, width=64), st.integers(min_value=1, max_value=14),
       st.integers(min_value=1, max_value=6))
def test_a_number_fits_its_width_and_reads_back_as_its_value(v, width, sig):
    assert_faithful(v, fmt.num(v, width, sig), width)


@settings(max_examples=500, deadline=None)
@given(st.floats(min_value=-1e6, max_value=1e6, allow_nan=False), st.integers(min_value=5, max_value=12))
def test_the_heatmap_cell_is_the_same_formatter_right_aligned(v, width):
    text = cell_fmt(v, width)
    assert len(text) == width
    assert_faithful(v, text.strip(), width)


def test_the_cut_numbers_seen_in_the_issue_are_rounded_instead():
    # op view at 80x24 showed "0.00074" for 0.0007456: a cut, which reads as another number
    assert fmt.num(0.0007456, 7) == "7.46e-4"
    assert fmt.num(0.0007456, 6) == "7.5e-4"
    assert fmt.num(0.0007456, 9) == "0.0007456"
    assert fmt.num(-0.3636, 4) == "-0.4"
    assert fmt.num(123456.0, 6) == "123456"
    assert fmt.num(123456.0, 5) == "1.2e5"
    assert fmt.num(9.8e154, 7) == "9.8e154"
    assert fmt.num(-9.8e154, 5) == fmt.ELLIPSIS
    assert fmt.num(float("nan"), 2) == fmt.ELLIPSIS
    assert fmt.num(0.0, 1) == "0"
    assert fmt.num(None) == "—"


def test_a_matrix_block_rounds_to_fit_the_width_never_cuts():
    values = [[-0.0258, 0.1026, 0.03601, 0.3636], [0.02841, -0.113, -0.03965, -0.4003]]
    for width in (24, 30, 40, 60):
        lines = matrix_block("dA1", values, width=width)
        for line in lines[1:]:
            assert line.cell_len <= width, (width, line.plain)
            for cell in re.findall(r"-?[\d.]+(?:e-?\d+)?|…", line.plain):
                if cell == "…":
                    continue
                assert any(abs(Decimal(cell) - Decimal(v)) <= shown_step(cell)
                           for row in values for v in row), (width, cell)
    wide = matrix_block("dA1", values, width=80)
    assert "0.3636" in wide[1].plain and "-0.4003" in wide[2].plain


def test_full_precision_is_the_exact_float():
    v = 0.1 + 0.2
    assert float(fmt.full(v)) == v and math.isclose(float(fmt.num(v)), v, rel_tol=1e-3)
