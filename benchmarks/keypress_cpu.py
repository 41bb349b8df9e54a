"""CPU per space press in the paused dashboard, and where it goes.

    .venv/bin/python benchmarks/keypress_cpu.py [--presses 50] [--preset digits] [--size 200x60]
    .venv/bin/python benchmarks/keypress_cpu.py --before /work/wt3/old --runs 3   # old and new, alternately

Runs the app headless (App.run_test at 120x40 unless --size, default run unless --preset), posts a space key, lets
the event loop run for 0.1 s, and charges the process CPU time of that window (less
the same window idle) to the press. Pilot.press/pause are not used for the measured
presses: their waits post a callback to every widget and cost more than the app does.
Then a second pass splits the time: the compositor's render (every changed widget's
lines), the panels' draw() calls, and each widget's render_lines (the outermost call of
whichever class defines it, so widgets with their own render_lines, such as TextLines and
QuickLines users, are counted too; "served" counts calls answered without Textual's styling).

--before DIR runs this script on the tree at DIR and on this tree in turn, --runs times,
each in its own process, and prints the medians and their ratio: on a shared machine only
numbers from the same run compare.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import importlib
import json
import os
import statistics
import subprocess
import sys
import time

ROOT = os.path.abspath(os.environ.get("KEYPRESS_TREE") or os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
sys.path[:0] = [ROOT, os.path.join(ROOT, "tests", "tui")]
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
IDLE = []       # per pass: the idle CPU subtracted, per press
RESULT = None   # --json: where a run writes its numbers (used by --before)


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
    IDLE.append(idle / n)
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
        owners = {k for w in app.screen.walk_children(with_self=True) for k in type(w).__mro__
                  if "render_lines" in k.__dict__}
        depth, calls, textual_calls = [0], collections.Counter(), collections.Counter()
        saved = {k: k.__dict__["render_lines"] for k in owners}

        def timed(f):
            def timed_lines(self, crop):
                if depth[0]:   # an inner call (super().render_lines): counted in the outer one
                    if f is saved.get(Widget):
                        textual_calls[f"{type(self).__name__}#{self.id}"] += 1
                    return f(self, crop)
                depth[0] += 1
                t = time.process_time()
                try:
                    if f is saved.get(Widget):
                        textual_calls[f"{type(self).__name__}#{self.id}"] += 1
                    return f(self, crop)
                finally:
                    depth[0] -= 1
                    label = f"{type(self).__name__}#{self.id}"
                    widgets[label] += time.process_time() - t
                    calls[label] += 1
            return timed_lines
        for k, f in saved.items():
            setattr(k, "render_lines", timed(f))
        try:
            per2 = await _presses(app, n)
        finally:
            for k, f in saved.items():
                setattr(k, "render_lines", f)
        print(f"split (ms per press, second pass: {per2 * 1000:.1f} ms a press with the timers on; idle CPU subtracted"
              f" {IDLE[0] * 1000:.1f} and {IDLE[1] * 1000:.1f} ms a press):")
        for label, v in areas.most_common():
            print(f"  {label:48s} {v / n * 1000:6.2f}")
        print(f"  render_lines of {len(widgets)} widgets (total {sum(widgets.values()) / n * 1000:.2f} ms; calls a press,"
              " of them served without Textual's Widget.render_lines):")
        for label, v in widgets.most_common():
            print(f"    {label:46s} {v / n * 1000:6.2f}   {calls[label] / n:4.1f} calls,"
                  f" {(calls[label] - textual_calls[label]) / n:4.1f} served")
        if RESULT:
            with open(RESULT, "w") as f:
                json.dump({"per_press_ms": per * 1000, "second_pass_ms": per2 * 1000, "idle_ms": IDLE[0] * 1000, "areas": {k.strip(): v / n * 1000 for k, v in areas.items()},
                           "render_lines_ms": sum(widgets.values()) / n * 1000,
                           "widgets": {k: v / n * 1000 for k, v in widgets.items()}}, f)


def compare(a) -> None:
    """This script on the old tree and on this one, alternately, a.runs times each: medians and ratios."""
    import tempfile
    here = os.path.abspath(__file__)
    results = {"before": [], "now": []}
    for run in range(a.runs):
        for name, tree in (("before", os.path.abspath(a.before)), ("now", ROOT)):
            with tempfile.NamedTemporaryFile(suffix=".json") as out:
                env = dict(os.environ, KEYPRESS_TREE=tree, PYTHONPATH=tree)
                cmd = [sys.executable, here, "--presses", str(a.presses), "--preset", a.preset, "--size", a.size,
                       "--spacing", str(a.spacing), "--json", out.name]
                subprocess.run(cmd, env=env, check=True, cwd=tree, stdout=subprocess.DEVNULL)
                with open(out.name) as f:
                    got = json.load(f)
            results[name].append(got)
            print(f"run {run + 1} {name:6s}: {got['per_press_ms']:.1f} ms a press", flush=True)
    print(f"medians over {a.runs} runs ({a.size}, {a.preset}; ms of CPU per paused space):")
    rows = [("per press", lambda r: r["per_press_ms"]), ("per press, second pass (timers on)", lambda r: r["second_pass_ms"]),
            ("idle CPU subtracted, per press", lambda r: r["idle_ms"]), ("render_lines (all widgets)", lambda r: r["render_lines_ms"])]
    rows += [(k, (lambda k: lambda r: r["areas"].get(k, 0.0))(k)) for k in results["now"][0]["areas"]]
    names = sorted({k for r in results["now"] for k in r["widgets"]},
                   key=lambda k: -statistics.median(r["widgets"].get(k, 0.0) for r in results["now"]))
    rows += [(f"  render {k}", (lambda k: lambda r: r["widgets"].get(k, 0.0))(k)) for k in names[:16]]
    for label, get in rows:
        before = statistics.median(get(r) for r in results["before"])
        now = statistics.median(get(r) for r in results["now"])
        ratio = f"{now / before:.2f}x" if before else "-"
        print(f"  {label:46s} before {before:6.2f}  now {now:6.2f}  {ratio}")


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--presses", type=int, default=50)
    p.add_argument("--preset", default="default")
    p.add_argument("--size", default="120x40")
    p.add_argument("--spacing", type=float, default=0.1, help="seconds between presses (longer for digits)")
    p.add_argument("--before", help="an older tree to compare with, run alternately with this one")
    p.add_argument("--runs", type=int, default=3, help="with --before: runs of each tree (medians)")
    p.add_argument("--json", help=argparse.SUPPRESS)
    a = p.parse_args()
    SPACING = a.spacing
    RESULT = a.json
    if a.before:
        compare(a)
    else:
        asyncio.run(main(a.presses, a.preset, tuple(int(v) for v in a.size.split("x"))))
