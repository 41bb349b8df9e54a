"""QuickLines (tui/widgets/quick_lines.py): unchanged lines are served without Textual's
per-widget styling work, and exactly as Textual would serve them; TextLines' own line
path (a plain box: no border, padding...) gives the cells Textual's styling gives."""

from __future__ import annotations

from rich.segment import Segment
from rich.text import Text
from textual.app import App
from textual.geometry import Region
from textual.strip import Strip
from textual.widget import Widget

from tui.widgets.quick_lines import QuickLines
from tui.widgets.text_lines import TextLines


class _Lines(QuickLines, Widget):
    DEFAULT_CSS = "_Lines { height: 5; background: $surface; border: round red; }"

    rows = ["a 1", "b 2", "c 3"]

    def set_row(self, y, text):
        self.rows = list(self.rows)
        self.rows[y] = text
        self.refresh(Region(0, y, self.size.width, 1))

    def render_line(self, y):
        text = self.rows[y] if y < len(self.rows) else ""
        return Strip([Segment(text.ljust(self.size.width), self.rich_style)], self.size.width)


class _Three(App):
    CSS = "#p { padding: 0 1; border: round red; height: 5; }"

    def compose(self):
        yield _Lines(id="q")
        yield TextLines(Text("a 1\nb 2\nc 3", no_wrap=True), id="t")
        yield TextLines(Text("d 4\ne 5\nf 6", no_wrap=True), id="p")


def _counting(w):
    calls = []
    render_widget = w._styles_cache.render_widget
    w._styles_cache.render_widget = lambda *a: (calls.append(a[1]), render_widget(*a))[1]
    return calls


def _texts(strips):
    return [s.text.strip("│ ╭╮╰╯─").rstrip() for s in strips]


async def test_unchanged_lines_skip_textual_and_equal_what_textual_returns():
    app = _Three()
    async with app.run_test(size=(30, 14)) as pilot:
        await pilot.pause()
        q = app.query_one("#q")
        crop = Region(0, 0, q.outer_size.width, q.outer_size.height)
        first = q.render_lines(crop)
        calls = _counting(q)
        again = q.render_lines(crop)
        assert calls == []                                     # served without Textual's styling work
        assert again == first == Widget.render_lines(q, crop)  # ...and the strips Textual returns
        assert _texts(again)[1:4] == ["a 1", "b 2", "c 3"]


async def test_a_changed_line_goes_through_textual_and_shows_the_new_text():
    app = _Three()
    async with app.run_test(size=(30, 14)) as pilot:
        await pilot.pause()
        q = app.query_one("#q")
        crop = Region(0, 0, q.outer_size.width, q.outer_size.height)
        first = q.render_lines(crop)
        calls = _counting(q)
        q.set_row(1, "b 22")
        got = q.render_lines(crop)
        assert len(calls) == 1
        assert _texts(got)[1:4] == ["a 1", "b 22", "c 3"]
        assert got[1] is first[1] and got[3] is first[3]     # the unchanged lines kept their strips
        calls.clear()
        assert q.render_lines(crop) == got and calls == []    # and now the new line is served quickly


async def test_a_resize_or_a_horizontal_crop_is_rendered_by_textual():
    app = _Three()
    async with app.run_test(size=(30, 14)) as pilot:
        await pilot.pause()
        q = app.query_one("#q")
        q.render_lines(Region(0, 0, q.outer_size.width, 5))
        calls = _counting(q)
        part = q.render_lines(Region(2, 0, 5, 5))
        assert len(calls) == 1 and [s.cell_length for s in part] == [5] * 5
        await pilot.resize_terminal(20, 14)
        await pilot.pause()
        lines = q.render_lines(Region(0, 0, q.outer_size.width, 5))
        assert [s.cell_length for s in lines] == [20] * 5      # not the strips of the old width
        assert _texts(lines)[1:4] == ["a 1", "b 2", "c 3"]


def _cells(strips):
    return [[(ch, seg.style) for seg in strip for ch in seg.text] for strip in strips]


async def test_text_lines_own_path_draws_what_textual_draws_and_follows_the_theme():
    app = _Three()
    async with app.run_test(size=(30, 14)) as pilot:
        await pilot.pause()
        for wid in ("#t", "#p"):   # a plain box (its own path) and a padded, bordered one (Textual's)
            t = app.query_one(wid, TextLines)
            crop = Region(0, 0, t.outer_size.width, t.outer_size.height)
            t.update(Text("x 1\ny 2\nz 3", no_wrap=True))
            ours = t.render_lines(crop)
            t._styles_cache.clear()
            assert _cells(ours) == _cells(Widget.render_lines(t, crop)), wid
        t = app.query_one("#t", TextLines)
        crop = Region(0, 0, t.outer_size.width, 3)
        before = t.render_lines(crop)[0]
        app.theme = "textual-light" if app.theme != "textual-light" else "textual-dark"
        await pilot.pause()
        after = t.render_lines(crop)[0]
        assert after.text == before.text and _cells([after]) != _cells([before])
        assert {seg.style.bgcolor for seg in after} == {t.rich_style.bgcolor}


async def test_on_the_dashboard_every_quick_widget_draws_what_textual_draws():
    """After steps (changed lines, a moved loss curve), each QuickLines widget's lines, served
    by its own path, have the cells Textual's Widget.render_lines gives from scratch."""
    from tests.tui.app_helpers import make_app

    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        for _ in range(12):
            await pilot.press("space")
        await pilot.pause()
        widgets = [w for w in app.screen.walk_children() if isinstance(w, QuickLines) and w.region.area]
        names = {type(w).__name__ for w in widgets}
        assert {"LossPlot", "TextLines", "LossPanel", "DiagnosticsPanel", "StatusBar"} <= names
        for w in widgets:
            crop = Region(0, 0, w.outer_size.width, w.outer_size.height)
            ours = w.render_lines(crop)
            w._styles_cache.clear()
            assert _cells(ours) == _cells(Widget.render_lines(w, crop)), w
