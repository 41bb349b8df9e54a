"""What Textual itself costs per key: the floor under issue 14's CPU-per-key targets.

    python benchmarks/textual_floor.py [--size 120x40] [--presses 30]

A bare Textual app (no netstep code) fills the screen with one-line line-API widgets that
serve a prebuilt Strip; a key changes the text of K of them and refreshes just that line
(the cheapest repaint Textual offers). The CPU per key, for K = 1 up to every line, is what
any Textual app pays to show K changed lines, before drawing anything of its own. Then the
same for netstep's dashboard: how many screen rows a paused step actually changes (the
composed screen compared row by row before and after), so the two can be read together. Headless (App.run_test), as
keypress_cpu.py: the pty's encoding and writing come on top.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

from rich.segment import Segment  # noqa: E402
from textual import events  # noqa: E402
from textual.app import App  # noqa: E402
from textual.geometry import Region  # noqa: E402
from textual.strip import Strip  # noqa: E402
from textual.widget import Widget  # noqa: E402

SPACING = 0.1


class Line(Widget):
    DEFAULT_CSS = "Line { height: 1; }"

    def __init__(self, **kw):
        super().__init__(**kw)
        self._strip = None

    def show(self, text):
        width = self.size.width
        self._strip = Strip([Segment(text.ljust(width)[:width])], width)
        self.refresh(Region(0, 0, width, 1))

    def render_line(self, y):
        width = self.size.width
        return self._strip if self._strip is not None else Strip.blank(width)


class Block(Widget):
    """The whole screen as one line-API widget: a key changes K of its lines."""

    DEFAULT_CSS = "Block { height: 1fr; }"

    def __init__(self, **kw):
        super().__init__(**kw)
        self._strips = {}

    def show(self, y, text):
        width = self.size.width
        self._strips[y] = Strip([Segment(text.ljust(width)[:width])], width)
        self.refresh(Region(0, y, width, 1))

    def render_line(self, y):
        return self._strips.get(y) or Strip.blank(self.size.width)


class Floor(App):
    BINDINGS = [("space", "step", "")]

    def __init__(self, rows, k, one_widget=False):
        super().__init__()
        self.rows, self.k, self.n, self.one = rows, k, 0, one_widget

    def compose(self):
        if self.one:
            yield Block()
            return
        for i in range(self.rows):
            yield Line(id=f"l{i}")

    def on_mount(self):
        self.lines = list(self.query(Line))
        self.block = None if not self.one else self.query_one(Block)

    def action_step(self):
        self.n += 1
        # spread the changed lines over the screen, as a dashboard's are
        for i in range(self.k):
            y = (i * self.rows) // self.k
            if self.block is not None:
                self.block.show(y, f"line {i} at step {self.n}")
            else:
                self.lines[y].show(f"line {i} at step {self.n}")


async def _cpu_per_key(app, n):
    t = time.process_time()
    await asyncio.sleep(n * SPACING)
    idle = time.process_time() - t
    t = time.process_time()
    for _ in range(n):
        app.post_message(events.Key("space", " "))
        await asyncio.sleep(SPACING)
    return ((time.process_time() - t) - idle) / n


async def floor(size, k, n, one_widget=False):
    app = Floor(size[1], k, one_widget)
    async with app.run_test(size=size) as pilot:
        await pilot.pause(0.3)
        for _ in range(3):
            await pilot.press("space")
        return await _cpu_per_key(app, n)


async def dashboard_lines(size, n, preset="default"):
    """(screen rows that differ after a paused step, on average; CPU per step) on netstep's dashboard."""
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "tui"))
    from app_helpers import make_app

    app = make_app(preset)
    async with app.run_test(size=size) as pilot:
        await pilot.pause(0.5)
        for _ in range(5):
            await pilot.press("space")
            await pilot.pause()
        await asyncio.sleep(0.3)
        cpu = await _cpu_per_key(app, n)

        def rows():
            return [tuple((t, str(st)) for t, st, _ in strip) for strip in app.screen._compositor.render_strips()]

        changed = []
        before = rows()
        for _ in range(10):
            app.post_message(events.Key("space", " "))
            await asyncio.sleep(SPACING)
            after = rows()
            changed.append(sum(a != b for a, b in zip(before, after)))
            before = after
    return sum(changed) / len(changed), cpu


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--size", default="120x40")
    p.add_argument("--presses", type=int, default=30)
    p.add_argument("--preset", default="default")
    a = p.parse_args()
    size = tuple(int(v) for v in a.size.split("x"))
    rows = size[1]
    print(f"bare Textual app, {a.size}: a key changes K screen lines (CPU per key, ms): as K one-line "
          f"widgets of {rows} / as K lines of one widget")
    for k in sorted({1, max(1, rows // 8), rows // 4, rows // 2, rows}):
        many = asyncio.run(floor(size, k, a.presses)) * 1000
        one = asyncio.run(floor(size, k, a.presses, one_widget=True)) * 1000
        print(f"  K = {k:3d} changed lines   {many:6.2f} ms / {one:6.2f} ms")
    changed, cpu = asyncio.run(dashboard_lines(size, a.presses, a.preset))
    print(f"netstep dashboard ({a.preset}, {a.size}), paused space: {changed:.1f} of {rows} screen rows change a step, "
          f"{cpu * 1000:.2f} ms of CPU a step")


if __name__ == "__main__":
    main()
