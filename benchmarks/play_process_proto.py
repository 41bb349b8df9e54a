"""Prototype: what training in a subprocess would give the app while it plays (issue 14 item 5).

    .venv/bin/python benchmarks/play_process_proto.py [--preset digits] [--seconds 3] [--runs 3] [--ui-ms 5]

The app trains on a thread of its own process, so every millisecond of pure-Python drawing
on the UI thread holds the GIL the training thread needs. This measures, back to back per
round (same machine load), the steps per second of:
- headless: a plain Trainer.step() loop;
- thread:   the same loop on a thread (chunks of CHUNK_SECONDS, a snapshot on request: a copy of
            theta, the history's curve, a full-data evaluate at most 4 a second), while the main
            thread asks for a snapshot FRAME_HZ times a second and burns --ui-ms of pure-Python
            CPU per frame (what a playing frame costs the app's UI thread: benchmarks/play_split.py);
- process:  the same loop in a forked child process, the snapshot pickled over a pipe, the same
            UI load in the parent.
It prints each one's rate and its ratio to headless in the same round, and the medians.
Not the app: a stand-in for its threads, to size the gain before building it.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import statistics
import sys
import threading
import time

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir))

import engine  # noqa: E402

CHUNK_SECONDS = 0.01
FRAME_HZ = 13
EVAL_INTERVAL = 0.25


def _trainer(preset):
    t = engine.build(engine.presets[preset].replace(epochs=10**9))
    for _ in range(20):
        t.step()
    return t


def _snapshot(t, state):
    now = time.perf_counter()
    if now - state.get("eval_at", -1e9) >= EVAL_INTERVAL:
        state["eval_at"] = now
        state["metrics"] = t.evaluate(record=False)
    return {"step": t.step_count, "theta": t.net.theta.copy(), "curve": t.history.curve(),
            "metrics": dict(state["metrics"])}


def _loop(t, stop, want, deliver, cpu=None):
    """The worker: chunks of steps; between chunks, a snapshot if asked for."""
    state = {}
    c0 = time.thread_time()
    perf = time.perf_counter
    while not stop():
        end = perf() + CHUNK_SECONDS
        while perf() < end:
            t.step()
        if want():
            deliver(_snapshot(t, state))
        if cpu is not None:
            cpu[0] = time.thread_time() - c0


def _burn(seconds):
    """Pure-Python CPU on this thread (holds the GIL), as a frame's drawing does."""
    end = time.thread_time() + seconds
    x = 0
    while time.thread_time() < end:
        for i in range(200):
            x += i * i
    return x


def _ui(seconds, ui_s, ask, take):
    """The UI thread: FRAME_HZ frames a second, each asking for a snapshot and drawing ui_s of CPU.
    Returns (frames per second, the UI thread's share of a core)."""
    period = 1 / FRAME_HZ
    t0 = time.perf_counter()
    c0 = time.thread_time()
    nxt = t0
    frames = 0
    while time.perf_counter() - t0 < seconds:
        nxt += period
        ask()
        take()
        _burn(ui_s)
        frames += 1
        time.sleep(max(0.0, nxt - time.perf_counter()))
    wall = time.perf_counter() - t0
    return frames / wall, (time.thread_time() - c0) / wall


def headless(preset, seconds, ui_s):
    t = _trainer(preset)
    s0, t0, c0 = t.step_count, time.perf_counter(), time.thread_time()
    while time.perf_counter() - t0 < seconds:
        for _ in range(16):
            t.step()
    n = t.step_count - s0
    return n / (time.perf_counter() - t0), n / (time.thread_time() - c0), None


def threaded(preset, seconds, ui_s):
    t = _trainer(preset)
    flags = {"stop": False, "want": False}
    box = []

    def deliver(snap):
        flags["want"] = False
        box.append(snap)

    def want():
        return flags["want"]

    cpu = [0.0]
    worker = threading.Thread(target=_loop, args=(t, lambda: flags["stop"], want, deliver, cpu))
    s0, t0 = t.step_count, time.perf_counter()
    worker.start()
    fps, ui = _ui(seconds, ui_s, lambda: flags.__setitem__("want", True), lambda: box[-1:] and box.clear())
    flags["stop"] = True
    steps = t.step_count - s0
    wall = time.perf_counter() - t0
    worker.join()
    return steps / wall, steps / cpu[0], (fps, ui)


def _child(preset, conn):
    t = _trainer(preset)
    asked = [False]
    cpu = [0.0]

    def want():
        while conn.poll():
            msg = conn.recv()
            if msg == "stop":
                conn.send((t.step_count, cpu[0]))
                raise SystemExit
            asked[0] = True
        return asked[0]

    def deliver(snap):
        asked[0] = False
        conn.send(snap)

    conn.send(t.step_count)
    try:
        _loop(t, lambda: False, want, deliver, cpu)
    except SystemExit:
        pass


def process(preset, seconds, ui_s):
    ctx = mp.get_context("fork")
    parent, child = ctx.Pipe()
    p = ctx.Process(target=_child, args=(preset, child))
    p.start()
    s0 = parent.recv()
    t0 = time.perf_counter()

    def take():
        while parent.poll():
            parent.recv()

    fps, ui = _ui(seconds, ui_s, lambda: parent.send("want"), take)
    parent.send("stop")
    wall = time.perf_counter() - t0
    while True:
        msg = parent.recv()
        if isinstance(msg, tuple):
            break
    p.join()
    steps = msg[0] - s0
    return steps / wall, steps / msg[1], (fps, ui)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--preset", default="default")
    ap.add_argument("--seconds", type=float, default=3.0)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--ui-ms", type=float, default=5.0, help="UI-thread CPU per frame (ms)")
    a = ap.parse_args()
    print(f"{a.preset}: {FRAME_HZ} frames/s with {a.ui_ms:g} ms of UI CPU each, {a.seconds:g} s per case "
          f"(load average {os.getloadavg()[0]:.2f})")
    print("  per case: steps/s (/ headless), steps per CPU second of the training loop (/ headless), "
          "frames/s, UI share of a core")
    ratios = {"thread": [], "process": []}
    est = {"thread": [], "process": []}
    for run in range(a.runs):
        base, base_cpu, _ = headless(a.preset, a.seconds, a.ui_ms / 1000)
        line = f"  round {run + 1}: headless {base:8,.0f} ({base_cpu:8,.0f}/cpu s)"
        for name, fn in (("thread", threaded), ("process", process)):
            rate, per_cpu, (fps, ui) = fn(a.preset, a.seconds, a.ui_ms / 1000)
            ratios[name].append(rate / base)
            eff = per_cpu / base_cpu
            # On free cores: a thread gets the GIL only while the UI thread does not hold it
            # (1 - UI share); a process runs beside it. Both at their own efficiency.
            est[name].append(eff * (1 - ui) if name == "thread" else eff)
            line += (f" | {name} {rate:8,.0f} ({rate / base:.2f}) {per_cpu:8,.0f}/cpu s ({eff:.3f}) "
                     f"{fps:.1f} f/s ui {ui:.3f}")
        print(line, flush=True)
    print("  medians, wall clock (load-dependent): " +
          "   ".join(f"{k} / headless {statistics.median(v):.3f}" for k, v in ratios.items()))
    print("  medians, estimate for free cores (CPU clocks: efficiency x the GIL's share): " +
          "   ".join(f"{k} / headless {statistics.median(v):.3f}" for k, v in est.items()))


if __name__ == "__main__":
    main()
