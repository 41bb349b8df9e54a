"""CPU per space press in the paused dashboard, and where it goes.

    .venv/bin/python benchmarks/keypress_cpu.py [--presses 50] [--preset digits] [--size 200x60]

Runs the app headless (App.run_test at 120x40 unless --size, default run unless --preset), posts a space key, lets
the event loop run for 0.1 s, and charges the process CPU time of that window (less
the same window idle) to the press. Pilot.press/pause are not used for the measured
presses: their waits post a callback to every widget and cost more than the app does.
Then a second pass splits the time: the compositor's render (every changed widget's
lines), the panels' draw() calls, and each widget's render_lines. Numbers only; the
machine is shared, so expect a few ms of noise between runs.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import importlib
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "tui"))
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")   # as the netstep command runs (tui/cli.py)

from textual import events  # noqa: E402

PANELS = [("tui.widgets.loss.loss_panel", "LossPanel"), ("tui.widgets.boundary.predictions_panel", "PredictionsPanel"),
          ("tui.widgets.weights.weights_panel", "WeightsPanel"),
          ("tui.widgets.diagnostics.diagnostics_panel", "DiagnosticsPanel"),
          ("tui.widgets.network.network_panel", "NetworkPanel"), ("tui.widgets.status.status_bar", "StatusBar")]


def _timed(cls, name, label, acc):
    f = getattr(cls, name)

    def wrapper(*a, **k):
        t = time.process_time()
        try:
            return f(*a, **k)
        finally:
            acc[label] += time.process_time() - t
    setattr(cls, name, wrapper)
    return f


SPACING = 0.1


async def _presses(app, n):
    t = time.process_time()
    await asyncio.sleep(n * SPACING)
    idle = time.process_time() - t
    start = app.state.trainer.step_count
    t = time.process_time()
    for _ in range(n):
        app.post_message(events.Key("space", " "))
        await asyncio.sleep(SPACING)
    busy = time.process_time() - t
    assert app.state.trainer.step_count == start + n, "a press did not step"
    return (busy - idle) / n


async def main(n, preset="default", size=(120, 40)):
    from app_helpers import make_app
    app = make_app(preset)
    async with app.run_test(size=size) as pilot:
        await pilot.pause(0.5)
        for _ in range(5):
            await pilot.press("space")
            await pilot.pause()
        await asyncio.sleep(0.3)
        per = await _presses(app, n)
        print(f"app CPU per space press (paused, {size[0]}x{size[1]}, {preset} run): {per * 1000:.1f} ms over {n} presses")

        import textual._compositor as compositor
        from textual.widget import Widget
        import tui.app
        areas, widgets = collections.Counter(), collections.Counter()
        _timed(compositor.Compositor, "render_update", "compositor render (includes the render lines)", areas)
        _timed(tui.app.NetstepApp, "show_all", "show_all (the draws below)", areas)
        for module, name in PANELS:
            _timed(getattr(importlib.import_module(module), name), "draw", f"  draw {name}", areas)
        render_lines = Widget.render_lines

        def timed_lines(self, crop):
            t = time.process_time()
            try:
                return render_lines(self, crop)
            finally:
                widgets[f"  render {type(self).__name__}#{self.id}"] += time.process_time() - t
        Widget.render_lines = timed_lines
        try:
            await _presses(app, n)
        finally:
            Widget.render_lines = render_lines
        print("split (ms per press, second pass):")
        for label, v in list(areas.most_common()) + widgets.most_common(10):
            print(f"  {label:48s} {v / n * 1000:6.2f}")


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--presses", type=int, default=50)
    p.add_argument("--preset", default="default")
    p.add_argument("--size", default="120x40")
    p.add_argument("--spacing", type=float, default=0.1, help="seconds between presses (longer for digits)")
    a = p.parse_args()
    SPACING = a.spacing
    asyncio.run(main(a.presses, a.preset, tuple(int(v) for v in a.size.split("x"))))
