"""`netstep lessons --check` on screen: every step shows what its text points at.

For each lesson, at 120x40 and at 80x24 (the smallest terminal netstep supports),
the real lesson screen is driven headless the way a learner drives it: enter the
step, look, press its keys until its check holds (the session's simulate(), the
same code `--check` runs), look again, move on. Each look verifies that every
panel the step shows, and every panel its text names ("the diagnostics panel",
"the status line"), is on screen: displayed, inside the terminal, tall enough to
hold a row, and with none of its content cut off below its border (a row the text
points at must not be below the fold).
"""

from __future__ import annotations

import asyncio

SIZES = ((120, 40), (80, 24))
MIN_ROWS = 3          # a panel with its border needs at least one row of content


def _widget(screen, name):
    from textual.css.query import NoMatches

    try:
        return screen.query_one("#status" if name == "status" else f"#panel-{name}")
    except NoMatches:
        return None


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
        elif name in named and name != "status" and _clipped(w):
            out.append(f"{where} has rows below its border, out of sight")
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


def check_all_screens(lessons, sizes=SIZES) -> dict[str, list[str]]:
    """{lesson id: problems} over every lesson and size (asyncio.run per lesson and size)."""
    out = {}
    for lesson in lessons:
        out[lesson.id] = []
        for size in sizes:
            out[lesson.id] += asyncio.run(check_screens(lesson, size))
    return out
