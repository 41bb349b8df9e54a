"""TextLines (tui/widgets/text_lines.py): a changed line repaints that line only."""

from __future__ import annotations

from rich.text import Text
from textual.app import App

from tui.widgets.text_lines import TextLines


class _One(App):
    def compose(self):
        yield TextLines(Text("a 1\nb 2\nc 3", no_wrap=True), id="t")


async def test_only_the_changed_line_is_repainted_and_what_shows_is_the_new_text():
    app = _One()
    async with app.run_test(size=(40, 6)) as pilot:
        t = app.query_one("#t", TextLines)
        await pilot.pause()
        assert [t.render_line(y).text.rstrip() for y in range(3)] == ["a 1", "b 2", "c 3"]
        dirty = []
        refresh = t.refresh
        t.refresh = lambda *regions, **kw: (dirty.append((regions, kw)), refresh(*regions, **kw))[1]
        t.update(Text("a 1\nb 20\nc 3", no_wrap=True))
        assert [[r.y for r in regions] for regions, _ in dirty] == [[1]]    # one call, for line 1
        assert [t.render_line(y).text.rstrip() for y in range(3)] == ["a 1", "b 20", "c 3"]
        dirty.clear()
        t.update(Text("a 1\nb 20\nc 3", no_wrap=True))                     # the same text: nothing
        assert dirty == []
        t.update(Text("a 1\nb 20\nc 3\nd 4", no_wrap=True))                # a line more: a new layout
        assert dirty and dirty[-1][1].get("layout")


async def test_a_long_line_ends_in_an_ellipsis_and_prose_wraps():
    app = _One()
    async with app.run_test(size=(12, 8)) as pilot:
        t = app.query_one("#t", TextLines)
        t.update([Text("a line far too long", no_wrap=True, overflow="ellipsis"), Text("words that wrap here")])
        await pilot.pause()
        lines = [t.render_line(y).text.rstrip() for y in range(len(t.lines))]
        assert lines[0].endswith("…") and len(lines[0]) <= 12
        assert len(lines) >= 3 and " ".join(lines[1:]).split() == "words that wrap here".split()


async def test_changed_lines_are_repainted_in_one_call_with_adjacent_lines_merged():
    """Behaviour change (issue 14): one refresh per update, runs of changed lines as one region."""
    app = _One()
    async with app.run_test(size=(40, 8)) as pilot:
        t = app.query_one("#t", TextLines)
        t.update(Text("a 1\nb 2\nc 3\nd 4\ne 5", no_wrap=True))
        await pilot.pause()
        dirty = []
        refresh = t.refresh
        t.refresh = lambda *regions, **kw: (dirty.append((regions, kw)), refresh(*regions, **kw))[1]
        t.update(Text("a 1\nb 9\nc 9\nd 4\ne 9", no_wrap=True))
        assert [[(r.y, r.height) for r in regions] for regions, _ in dirty] == [[(1, 2), (4, 1)]]
        await pilot.pause()
        assert [t.render_line(y).text.rstrip() for y in range(5)] == ["a 1", "b 9", "c 9", "d 4", "e 9"]
