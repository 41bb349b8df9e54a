"""QuickLines (tui/widgets/quick_lines.py): unchanged lines are served without Textual's
per-widget styling work, and exactly as Textual would serve them."""

from __future__ import annotations

from rich.text import Text
from textual.app import App
from textual.geometry import Region
from textual.widget import Widget

from tui.widgets.text_lines import TextLines


class _Two(App):
    CSS = "TextLines { background: $surface; }"

    def compose(self):
        yield TextLines(Text("a 1\nb 2\nc 3", no_wrap=True), id="t")


def _counting(t):
    calls = []
    render_widget = t._styles_cache.render_widget
    t._styles_cache.render_widget = lambda *a: (calls.append(a[1]), render_widget(*a))[1]
    return calls


async def test_unchanged_lines_skip_textual_and_equal_what_textual_returns():
    app = _Two()
    async with app.run_test(size=(30, 6)) as pilot:
        await pilot.pause()
        t = app.query_one("#t", TextLines)
        crop = Region(0, 0, t.outer_size.width, 3)
        first = t.render_lines(crop)
        calls = _counting(t)
        again = t.render_lines(crop)
        assert calls == []                                   # served without Textual's styling work
        assert again == first == Widget.render_lines(t, crop)  # ...and the same strips Textual returns
        assert [s.text.rstrip() for s in again] == ["a 1", "b 2", "c 3"]


async def test_a_changed_line_goes_through_textual_and_shows_the_new_text():
    app = _Two()
    async with app.run_test(size=(30, 6)) as pilot:
        await pilot.pause()
        t = app.query_one("#t", TextLines)
        crop = Region(0, 0, t.outer_size.width, 3)
        first = t.render_lines(crop)
        calls = _counting(t)
        t.update(Text("a 1\nb 22\nc 3", no_wrap=True))
        got = t.render_lines(crop)
        assert len(calls) == 1
        assert [s.text.rstrip() for s in got] == ["a 1", "b 22", "c 3"]
        assert got[0] is first[0] and got[2] is first[2]    # the unchanged lines kept their strips
        calls.clear()
        assert t.render_lines(crop) == got and calls == []   # and now the new line is served quickly


async def test_a_resize_or_a_horizontal_crop_is_rendered_by_textual():
    app = _Two()
    async with app.run_test(size=(30, 6)) as pilot:
        await pilot.pause()
        t = app.query_one("#t", TextLines)
        t.render_lines(Region(0, 0, t.outer_size.width, 3))
        calls = _counting(t)
        part = t.render_lines(Region(2, 0, 5, 3))
        assert len(calls) == 1 and [s.cell_length for s in part] == [5, 5, 5]
        await pilot.resize_terminal(20, 6)
        await pilot.pause()
        lines = t.render_lines(Region(0, 0, t.outer_size.width, 3))
        assert [s.cell_length for s in lines] == [20] * 3      # not the strips of the old width
        assert [s.text.rstrip() for s in lines] == ["a 1", "b 2", "c 3"]
