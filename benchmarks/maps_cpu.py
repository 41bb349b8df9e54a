"""CPU per paused space spent on the map panels (unit diagram, decision boundary, heatmaps),
ours against another checkout, alternately in one run.

    .venv/bin/python benchmarks/maps_cpu.py [--preset digits] [--size 200x60] [--before OLD] [--runs 3]

Runs the app headless (App.run_test), posts a space key every --spacing seconds and, per
press, charges the process CPU time of the map panels' draw() (NetworkPanel,
PredictionsPanel, WeightsPanel) and of their widgets' render_lines (UnitDiagram,
BoundaryMap, ConfusionMatrix, Heatmap) to that press. Prints medians over the presses
(a garbage collection or another engineer's burst lands on a few presses, not the median),
and with --before the same numbers for that tree (run right after ours, in its own process,
each run) and the ratio ours / before. CPU time, not wall time: it holds up on a shared machine.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time

PANELS = [("tui.widgets.network.network_panel", "NetworkPanel"),
          ("tui.widgets.boundary.predictions_panel", "PredictionsPanel"),
          ("tui.widgets.weights.weights_panel", "WeightsPanel")]
WIDGETS = ("UnitDiagram", "BoundaryMap", "ConfusionMatrix", "Heatmap")


async def _measure(preset, size, presses, spacing):
    import importlib

    from textual import events
    from textual.widget import Widget

    from app_helpers import make_app

    acc = {}

    def timed(cls, name, label):
        f = getattr(cls, name)

        def wrapper(*a, **k):
            t = time.process_time()
            try:
                return f(*a, **k)
            finally:
                acc[label] = acc.get(label, 0.0) + time.process_time() - t
        setattr(cls, name, wrapper)

    for module, name in PANELS:
        timed(getattr(importlib.import_module(module), name), "draw", f"draw {name}")
    render_lines = Widget.render_lines

    def lines(self, crop):
        name = type(self).__name__
        if name not in WIDGETS:
            return render_lines(self, crop)
        t = time.process_time()
        try:
            return render_lines(self, crop)
        finally:
            acc[f"render {name}"] = acc.get(f"render {name}", 0.0) + time.process_time() - t
    Widget.render_lines = lines

    app = make_app(preset)
    per_press, totals = [], []
    async with app.run_test(size=size) as pilot:
        await pilot.pause(0.5)
        for _ in range(3):
            await pilot.press("space")
            await pilot.pause()
        await asyncio.sleep(0.3)
        start = app.state.trainer.step_count
        for _ in range(presses):
            acc.clear()
            t = time.process_time()
            app.post_message(events.Key("space", " "))
            await asyncio.sleep(spacing)
            totals.append(time.process_time() - t)
            per_press.append(dict(acc))
        assert app.state.trainer.step_count == start + presses, "a press did not step (raise --spacing)"
    labels = sorted({k for p in per_press for k in p})
    out = {k: statistics.median(p.get(k, 0.0) for p in per_press) * 1000 for k in labels}
    out["maps total"] = statistics.median(sum(p.values()) for p in per_press) * 1000
    out["whole press (app CPU in the window)"] = statistics.median(totals) * 1000
    return out


def _child(args):
    sys.path.insert(0, os.getcwd())
    sys.path.insert(0, os.path.join(os.getcwd(), "tests", "tui"))
    size = tuple(int(v) for v in args.size.split("x"))
    print(json.dumps(asyncio.run(_measure(args.preset, size, args.presses, args.spacing))))


def _run(tree, args):
    env = dict(os.environ, PYTHONPATH=tree)
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        env.setdefault(var, "1")   # as the netstep command runs (tui/cli.py)
    cmd = [sys.executable, os.path.abspath(__file__), "--child", "--preset", args.preset, "--size", args.size,
           "--presses", str(args.presses), "--spacing", str(args.spacing)]
    done = subprocess.run(cmd, cwd=tree, env=env, capture_output=True, text=True)
    if done.returncode:
        sys.exit(f"{tree}: the measurement failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--preset", default="default")
    p.add_argument("--size", default="120x40")
    p.add_argument("--presses", type=int, default=40)
    p.add_argument("--spacing", type=float, default=0.12, help="seconds between presses (longer for digits)")
    p.add_argument("--runs", type=int, default=1)
    p.add_argument("--before", metavar="TREE", help="another checkout, measured right after ours each run")
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        return _child(args)
    ours = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    trees = [ours] + ([os.path.abspath(args.before)] if args.before else [])
    results = {t: [] for t in trees}
    for _ in range(args.runs):
        for tree in trees:
            results[tree].append(_run(tree, args))
    print(f"map panels, CPU ms per paused space (median over {args.presses} presses, then over {args.runs} runs), "
          f"{args.size}, {args.preset}")
    labels = sorted({k for r in results[ours] for k in r} | {k for t in trees for r in results[t] for k in r},
                    key=lambda k: (k.startswith("whole"), k == "maps total", k))
    head = f"  {'':40s} {'ours':>8s}" + (f" {'before':>8s} {'ratio':>6s}" if args.before else "")
    print(head)
    for k in labels:
        vals = [statistics.median(r.get(k, 0.0) for r in results[t]) for t in trees]
        line = f"  {k:40s} {vals[0]:8.2f}"
        if args.before:
            line += f" {vals[1]:8.2f} {vals[0] / vals[1] if vals[1] else float('nan'):6.2f}"
        print(line)


if __name__ == "__main__":
    main()
