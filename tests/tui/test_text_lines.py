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


# ----- the fast path: segments built from the spans, not by Rich's Text.render (issue 14) -----

from rich.console import Console  # noqa: E402
from rich.style import Style  # noqa: E402
from textual.strip import Strip  # noqa: E402

from tui.widgets.text_lines import text_strip  # noqa: E402


def _cells(strip):
    """What a strip puts on screen: one (character, style) per cell."""
    out = []
    for seg in strip:
        for ch in seg.text:
            out.append((ch, seg.style or Style()))   # None and the null style draw alike
    return out


def _rich_strip(t: Text, base: Style, width: int, console) -> Strip:
    """The old way (Rich renders, then the widget's style under it), with the Text's own style
    carried by a span so Rich draws it even where the Text has no spans."""
    t = t.copy()
    if t.cell_len > width:
        t.truncate(width, overflow="ellipsis")
    carried = Text(t.plain)
    carried.stylize(t.style)
    for span in t.spans:
        carried.stylize(span.style, span.start, span.end)
    strip = Strip(carried.render(console), carried.cell_len).apply_style(base)
    return strip.adjust_cell_length(width, base)


def _varied_texts():
    plain = Text("plain text, no style at all", no_wrap=True)
    own = Text("▲ layer 2: 40% of units are dead", style="bold yellow", no_wrap=True)
    spans = Text(no_wrap=True)
    spans.append("━", style="#fad7aa bold")
    spans.append("loss ")
    spans.append("0.1234", style="bold")
    spans.append(" ━", style="#50c878 bold")
    spans.append("acc ")
    spans.append("97.5%", style="bold")
    nested = Text("outer inner outer", style="dim", no_wrap=True)
    nested.stylize("bold", 0, 17)
    nested.stylize("red on white", 6, 11)       # over the bold: both apply
    nested.stylize("italic", 8, 30)            # past the end of the text
    nested.stylize("underline", 3, 3)          # empty: draws nothing
    wide = Text("漢字 and 😀 wide", no_wrap=True)
    wide.stylize("bold magenta", 0, 2)
    wide.stylize("cyan", 7, 9)
    long = Text("a line much longer than the panel is wide, cut with an ellipsis", no_wrap=True,
                overflow="ellipsis")
    long.stylize("bold", 2, 6)
    long.stylize("green", 20, 60)
    long_wide = Text("漢字漢字漢字漢字漢字漢字漢字漢字漢字", style="yellow", no_wrap=True, overflow="ellipsis")
    style_obj = Text("Style objects as spans", no_wrap=True)
    style_obj.stylize(Style(color="red", bgcolor="black"), 0, 5)
    return [plain, own, spans, nested, wide, long, long_wide, style_obj, Text(""), Text(" ")]


def test_fast_strips_show_the_same_cells_as_rich_renders():
    console = Console(width=80)
    for base in (Style(), Style(color="#e0e0e0", bgcolor="#1e1e2e"), Style(bold=True, bgcolor="red")):
        for t in _varied_texts():
            for width in (10, 17, 24, 40, 80):
                cut = t.copy()
                if cut.cell_len > width:
                    cut.truncate(width, overflow="ellipsis")
                new = text_strip(cut, base, width, console)
                old = _rich_strip(t, base, width, console)
                assert new.cell_length == old.cell_length == width, (t.plain, width)
                assert _cells(new) == _cells(old), (t.plain, width, str(base))


async def test_a_text_with_its_own_style_and_no_spans_is_drawn_in_that_style():
    """Bug fix: Rich's Text.render drops a Text's own style when it has no spans, so the
    diagnostics' warnings (Text(message, style="bold yellow")) were drawn in plain colours."""
    app = _One()
    async with app.run_test(size=(40, 6)) as pilot:
        t = app.query_one("#t", TextLines)
        t.update([Text("▲ a warning", style="bold yellow"), Text("plain", no_wrap=True)])
        await pilot.pause()
        first = t.render_line(0)
        styled = [seg for seg in first if seg.text.strip()]
        assert styled and all(seg.style.bold and seg.style.color.name == "yellow" for seg in styled)
        assert not any(seg.style.bold for seg in t.render_line(1))
