"""The diagnostics panel: its per-layer table fits the panel however deep the network."""

from __future__ import annotations

from tests.tui.app_helpers import make_app, text_of
from tui.widgets.diagnostics.diagnostics_panel import _window

DEEP = dict(sizes=[2] + [8] * 8 + [1], hidden="sigmoid", init="xavier", dataset="circles")


def test_window_keeps_every_column_that_fits_and_always_the_chosen_one():
    widths = [6] * 9
    assert _window(widths, 10, None, 0) == (0, 9)           # no width yet: everything
    assert _window(widths, 10, 10 + 9 * 7, 4) == (0, 9)     # exactly fits
    for keep in range(9):
        lo, hi = _window(widths, 10, 36, keep)
        assert lo <= keep < hi
        assert 10 + 2 + 7 * (hi - lo) <= 36 < 10 + 2 + 7 * (hi - lo + 1)  # as many as fit
    assert _window([30], 10, 20, 0) == (0, 1)               # one column too wide still shows


async def test_a_deep_network_shows_a_window_of_layers_that_follows_the_selected_layer():
    app = make_app(**DEEP)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("space")
        await pilot.pause()
        body = app.screen.query_one("#diag-body")
        lines = text_of(body).splitlines()
        width = body.size.width
        assert all(len(line) <= width for line in lines)
        head = lines[1]
        assert "L1" in head and "›" in head and "‹" not in head and "L9" not in head
        assert any(line.startswith("|dW|/|dWL|") for line in lines)  # rows are not wrapped apart
        for _ in range(8):
            await pilot.press("right_square_bracket")
        await pilot.pause()
        head = text_of(body).splitlines()[1]
        assert "L9" in head and "‹" in head and "›" not in head and "L1 " not in head
        # The warning about layer 1 is prose: it wraps, and names the layer once.
        text = text_of(body)
        assert "vanishing" in text.replace("\n", " ")
        assert "layer 1: Layer 1" not in text
