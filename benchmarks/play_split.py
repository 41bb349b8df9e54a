"""Where the CPU goes while the app plays: the training thread (stepping vs snapshots) and the UI thread.

    .venv/bin/python benchmarks/play_split.py [--preset digits] [--size 120x40] [--seconds 4] [--before TREE]

Runs the app headless (App.run_test, so no terminal encoding or writing: tui_bench.py measures
those through a real pty), presses p, lets it play, and reports per second of play:
- the training thread's CPU, split into stepping and snapshot() (and inside snapshot: the
  full-data evaluate, diagnostics.measure, the plane / confusion, the history curve, the rest);
- the UI thread's CPU (the event loop: drawing, the compositor) and per frame;
- steps per second and frames (snapshots shown) per second;
then a plain Trainer.step() loop on the same run for the same time in this process, and the
ratio. With --before, the same on another source tree (a subprocess), back to back.
CPU times are thread clocks (time.thread_time), which hold up under the machine's load;
throughput ratios do not fully. Numbers only; nothing here is a test.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import os
import subprocess
import sys
import time

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")   # as the netstep command runs (tui/cli.py)


async def _play(preset, size, seconds):
    import engine
    import engine.diagnostics
    from tui.app import NetstepApp

    app = NetstepApp(engine.build(engine.presets[preset].replace(epochs=10**9)))
    async with app.run_test(size=size) as pilot:
        await pilot.pause(0.5)
        state = app.state
        import threading
        main = threading.get_ident()
        # Sub-parts of snapshot(), charged only when the worker thread takes the snapshot.
        worker_acc = collections.Counter()

        def only_worker(label):
            def add(dt):
                if threading.get_ident() != main:
                    worker_acc[label] += dt
            return add

        for obj, name, label in ((state, "snapshot", "snapshot"), (state.planes, "take", "  plane/confusion")):
            f = getattr(obj, name)

            def wrapper(*a, f=f, label=label, **k):
                t = time.thread_time()
                try:
                    return f(*a, **k)
                finally:
                    only_worker(label)(time.thread_time() - t)
            setattr(obj, name, wrapper)
        trainer = state.trainer
        for obj, name, label in ((trainer, "evaluate", "  evaluate*"), (trainer.history, "curve", "  curve")):
            f = getattr(obj, name)

            def wrapper(*a, f=f, label=label, **k):
                t = time.thread_time()
                try:
                    return f(*a, **k)
                finally:
                    only_worker(label)(time.thread_time() - t)
            setattr(obj, name, wrapper)
        measure = engine.diagnostics.measure

        def timed_measure(*a, **k):
            t = time.thread_time()
            try:
                return measure(*a, **k)
            finally:
                only_worker("  diagnostics")(time.thread_time() - t)
        engine.diagnostics.measure = timed_measure

        from tui.widgets.panel import Panel
        draws = collections.Counter()
        panel_show = Panel.show

        def counted_show(self, snap, force=False):
            drew = panel_show(self, snap, force)
            if drew:
                draws[type(self).__name__] += 1
            return drew
        Panel.show = counted_show
        show_all = app.show_all
        ui = collections.Counter()

        def timed_show_all(*a, **k):
            t = time.thread_time()
            try:
                return show_all(*a, **k)
            finally:
                ui["show_all"] += time.thread_time() - t
        app.show_all = timed_show_all

        await pilot.press("p")
        await asyncio.sleep(0.5)            # past the first frames
        s0, f0 = trainer.step_count, app.frames
        w0, ui0, t0, p0 = state.worker_cpu, time.thread_time(), time.perf_counter(), time.process_time()
        sub0 = dict(worker_acc)
        d0 = dict(draws)
        show0 = ui["show_all"]
        await asyncio.sleep(seconds)
        s1, f1 = trainer.step_count, app.frames
        w1, ui1, t1, p1 = state.worker_cpu, time.thread_time(), time.perf_counter(), time.process_time()
        sub1 = dict(worker_acc)
        d1 = dict(draws)
        show1 = ui["show_all"]
        await pilot.press("p")
        await pilot.pause(0.3)
    wall = t1 - t0
    out = {"wall": wall, "steps_per_s": (s1 - s0) / wall, "frames_per_s": (f1 - f0) / wall,
           "worker_cpu": (w1 - w0) / wall, "ui_cpu": (ui1 - ui0) / wall, "process_cpu": (p1 - p0) / wall,
           "show_all": (show1 - show0) / wall}
    out["draws"] = {k: (d1[k] - d0.get(k, 0)) / wall for k in d1}
    for k in sub1:
        out[k] = (sub1[k] - sub0.get(k, 0.0)) / wall
    out["loop"], out["loop_per_cpu"] = _headless(preset, seconds)
    return out


def _headless(preset, seconds):
    import engine
    trainer = engine.build(engine.presets[preset].replace(epochs=10**9))
    for _ in range(20):
        trainer.step()
    perf, n = time.perf_counter, 0
    t0, c0 = perf(), time.thread_time()
    while True:
        trainer.step()
        n += 1
        if n % 16 == 0 and perf() - t0 >= seconds:
            return n / (perf() - t0), n / (time.thread_time() - c0)


def _report(tag, r):
    frames = max(r["frames_per_s"], 1e-9)
    print(f"{tag}: {r['steps_per_s']:,.0f} steps/s in the app, {r['loop']:,.0f} headless "
          f"(ratio {r['steps_per_s'] / r['loop']:.3f}); {r['frames_per_s']:.1f} frames/s")
    per_cpu = r["steps_per_s"] / max(r["worker_cpu"], 1e-9)
    print(f"  steps per CPU second: training thread {per_cpu:,.0f}, headless loop {r['loop_per_cpu']:,.0f} "
          f"(ratio {per_cpu / r['loop_per_cpu']:.3f})")
    # With the GIL, the UI thread's CPU is time the training thread cannot run: on 2 free cores
    # the app plays at about (1 - UI share) x the training thread's efficiency of the headless loop.
    print(f"  GIL-bound estimate of play/headless on free cores: "
          f"{(1 - r['ui_cpu']) * per_cpu / r['loop_per_cpu']:.3f}")
    print(f"  training thread CPU   {r['worker_cpu'] * 1000:7.1f} ms/s")
    snap = r.get("snapshot", 0.0)
    print(f"    snapshot()          {snap * 1000:7.1f} ms/s")
    for k in ("  evaluate*", "  diagnostics", "  plane/confusion", "  curve"):
        print(f"    {k:20s}{r.get(k, 0.0) * 1000:7.1f} ms/s")
    print(f"    stepping and rest   {(r['worker_cpu'] - snap) * 1000:7.1f} ms/s")
    print("    (* evaluate: the snapshots' and the trainer's own scheduled ones, inside its steps)")
    print(f"  UI thread CPU         {r['ui_cpu'] * 1000:7.1f} ms/s  ({r['ui_cpu'] / frames * 1000:.1f} ms/frame; "
          f"show_all {r['show_all'] / frames * 1000:.1f} ms/frame)")
    print("  panel draws per second: " + ", ".join(f"{k} {v:.1f}" for k, v in sorted(r.get("draws", {}).items())))
    print(f"  process CPU           {r['process_cpu'] * 1000:7.1f} ms/s")


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--preset", default="default")
    p.add_argument("--size", default="120x40")
    p.add_argument("--seconds", type=float, default=4.0)
    p.add_argument("--before", metavar="TREE", help="also measure this source tree (run in a subprocess)")
    p.add_argument("--json", action="store_true", help=argparse.SUPPRESS)
    a = p.parse_args()
    size = tuple(int(v) for v in a.size.split("x"))
    r = asyncio.run(_play(a.preset, size, a.seconds))
    if a.json:
        print(json.dumps(r))
        return
    print(f"{a.preset} at {a.size}, {a.seconds:g} s of play (load average {os.getloadavg()[0]:.2f})")
    _report("this tree", r)
    if a.before:
        argv = [sys.executable, __file__, "--preset", a.preset, "--size", a.size, "--seconds", str(a.seconds), "--json"]
        env = dict(os.environ, PLAY_SPLIT_TREE=os.path.abspath(a.before))
        out = subprocess.run(argv, capture_output=True, text=True, check=True, env=env)
        _report("before", json.loads(out.stdout.strip().splitlines()[-1]))


if __name__ == "__main__":
    here = os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir)
    sys.path.insert(0, os.environ.get("PLAY_SPLIT_TREE") or here)  # --before: the other tree
    main()
