"""`netstep lessons --check` on screen: every step shows what its text points at.

For each lesson, at 120x40 and at 80x24 (the smallest terminal netstep supports),
the real lesson screen is driven headless the way a learner drives it: enter the
step, look, press its keys until its check holds (the session's simulate(), the
same code `--check` runs), look again, move on. Each look verifies that every
panel the step shows, and every panel its text names ("the diagnostics panel",
"the status line"), is on screen: displayed, inside the terminal and tall enough to
hold a row; and that every row the text points at is in sight, not below the
panel's border: the diagnostics rows it names (ROWS) and, when the text names the
outputs panel, every example's row.
"""

from __future__ import annotations

import asyncio

SIZES = ((120, 40), (80, 24))
MIN_ROWS = 3          # a panel with its border needs at least one row of content

# Rows a text points at inside a panel: (panel, words that name the row in the text, its label on screen).
ROWS = (
    ("diagnostics", ("gradient norm", "|grad|"), "|grad|"),
    ("diagnostics", ("dead",), "dead"),
    ("diagnostics", ("saturat",), "saturated"),
    ("diagnostics", ("clipped",), "clipped"),
)


def _widget(screen, name):
    from textual.css.query import NoMatches

    try:
        return screen.query_one("#status" if name == "status" else f"#panel-{name}")
    except NoMatches:
        return None


def _visible_text(panel) -> str:
    """The text of the panel's content that is in sight (inside its border, scrolled as it is)."""
    from textual.geometry import Region

    top, bottom = panel.content_region.y, panel.content_region.bottom
    lines = []
    for child in panel.walk_children():
        if not child.display or child.children or not child.region.height:
            continue
        y0 = child.region.y
        rows = max(0, min(child.size.height, bottom - y0))
        skip = max(0, top - y0)
        strips = child.render_lines(Region(0, 0, child.size.width, child.size.height))
        lines += [strip.text for strip in strips[skip:rows]]
    return "\n".join(lines)


def _clipped(widget) -> bool:
    """Whether any of the widget's content lies below its visible area."""
    from textual.containers import ScrollableContainer

    bottom = widget.content_region.bottom
    for child in widget.walk_children():
        if not child.display:
            continue
        if isinstance(child, ScrollableContainer) and child.max_scroll_y > 0:
            return True
        if child.region.height and child.region.bottom > bottom:
            return True
    return False


def problems(screen) -> list[str]:
    """What the current step needs that is not on screen (empty when all is well)."""
    from tui.lessons.loader import panels_named

    step = screen.session.step
    shown = list(getattr(screen, "_panel_names", None) or step.panels)
    named = panels_named(step.text)
    width, height = screen.size
    out = []
    for name in dict.fromkeys(shown + named):
        w = _widget(screen, name)
        where = f"the {name} panel" if name != "status" else "the status line"
        if w is None or not w.display or w.region.area == 0:
            out.append(f"{where} is not shown")
            continue
        r = w.region
        if r.right > width or r.bottom > height:
            out.append(f"{where} runs off the screen")
        elif name != "status" and r.height < MIN_ROWS:
            out.append(f"{where} is {r.height} rows tall")
        elif name == "outputs" and name in named and _clipped(w):
            out.append(f"{where} has examples below its border, out of sight")
        else:
            text = " ".join(step.text.lower().split())
            wanted = [label for panel, words, label in ROWS if panel == name and name in named
                      and any(word in text for word in words)]
            if wanted:
                seen = _visible_text(w)
                out += [f"the {label!r} row of {where} is out of sight" for label in wanted if label not in seen]
    return out


async def _settle(pilot, screen, timeout=30.0):
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while screen.busy and loop.time() < end:
        await pilot.pause(0.02)
    await pilot.pause()


async def check_screens(lesson, size) -> list[str]:
    """Drive `lesson` through the real screen at `size`; one message per problem found."""
    from tui.lessons.app import LessonApp
    from tui.screens.lesson import LessonScreen
    from tui.store import ProgressStore

    store = ProgressStore(":memory:", user="checker")
    app = LessonApp(lessons=[lesson], store=store)
    found = []
    async with app.run_test(size=size) as pilot:
        screen = LessonScreen(lesson, store, start_index=0)
        await app.push_screen(screen)
        await _settle(pilot, screen)
        while True:
            s = screen.session
            label = f"{lesson.id} step {s.index + 1} at {size[0]}x{size[1]}"
            found += [f"{label}: {p}" for p in problems(screen)]
            s.simulate()
            screen._refresh()
            await pilot.pause()
            found += [f"{label}, after its keys: {p}" for p in problems(screen)]
            if s.is_last:
                break
            index = s.index
            await screen.action_next_step()
            await _settle(pilot, screen)
            if screen.session.index == index:
                found.append(f"{label}: could not move on to the next step")
                break
    return list(dict.fromkeys(found))


def check_screens_of(lesson, sizes=SIZES) -> list[str]:
    """Every problem found for one lesson over every size."""
    found = []
    for size in sizes:
        found += asyncio.run(check_screens(lesson, size))
    return found


def check_all_screens(lessons, sizes=SIZES) -> dict[str, list[str]]:
    """{lesson id: problems} over every lesson and size."""
    return {lesson.id: check_screens_of(lesson, sizes) for lesson in lessons}
