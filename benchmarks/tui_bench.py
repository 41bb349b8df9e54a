"""Trainer app benchmark: what the dashboard costs training, and how fast it answers.

    /work/venv/bin/python benchmarks/tui_bench.py            # full run (about a minute)
    /work/venv/bin/python benchmarks/tui_bench.py --quick    # fewer rounds, for a smoke check

1. Throughput while playing: steps per second of the app's training worker (the app
   running headless under App.run_test at 120x40, every panel drawing) against a plain
   loop of Trainer.step() on the same run, and how often the screen was refreshed
   meanwhile (calls that hand a rendered update to the driver). Target: ratio >= 0.8 with
   >= 10 refreshes a second. Each round times one block of each, order alternating, so both
   see the same machine load; the headline is the median of per-round ratios (quartiles
   beside it) and best/best, the ratio of the two fastest blocks.
2. Keypress to updated screen for one step (space, paused): from the key's press to the
   first screen refresh showing the new step. Median and p95; target median < 50 ms.
3. Launch to first frame: the real `netstep` command in a pseudo-terminal at 120x40, from
   process start to the first output holding the dashboard. Median of a few launches;
   target < 1.5 s. Includes Python start-up and every import.

Ratios and percentiles are printed; nothing here is a pass/fail test. The machine is
shared, so the output also prints the load average it ran under.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir))

import engine  # noqa: E402

SIZE = (120, 40)


def quartiles(xs):
    xs = sorted(xs)
    if len(xs) < 2:
        return xs[0], xs[0], xs[0]
    q = statistics.quantiles(xs, n=4, method="inclusive")
    return q[0], statistics.median(xs), q[2]


def percentile(xs, p):
    xs = sorted(xs)
    k = (len(xs) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (k - lo)


def hook_display(app):
    """Record (time, step) for every screen refresh handed to the driver."""
    log = []
    original = app._display

    def display(screen, renderable):
        if renderable is not None:
            log.append((time.perf_counter(), app.state.trainer.step_count))
        return original(screen, renderable)

    app._display = display
    return log


def headless_block(trainer, seconds):
    perf = time.perf_counter
    step = trainer.step
    n = 0
    t0 = perf()
    end = t0 + seconds
    while True:
        step()
        n += 1
        if n % 64 == 0 and perf() >= end:
            break
    return n / (perf() - t0)


async def throughput(preset, rounds, seconds):
    from tui.app import NetstepApp

    config = engine.presets[preset].replace(epochs=10**9)
    app = NetstepApp(engine.build(config))
    peer = engine.build(config)
    rows = []
    async with app.run_test(size=SIZE) as pilot:
        log = hook_display(app)
        await pilot.press("space")
        headless_block(peer, 0.2)  # warm both up
        for r in range(rounds):
            order = ("app", "loop") if r % 2 == 0 else ("loop", "app")
            result = {}
            for which in order:
                if which == "loop":
                    result["loop"] = headless_block(peer, seconds)
                    continue
                await pilot.press("p")
                s0, t0, f0 = app.state.trainer.step_count, time.perf_counter(), len(log)
                await asyncio.sleep(seconds)
                s1, t1, f1 = app.state.trainer.step_count, time.perf_counter(), len(log)
                await pilot.press("p")
                await app.pause()
                result["app"] = (s1 - s0) / (t1 - t0)
                result["hz"] = (f1 - f0) / (t1 - t0)
            rows.append(result)
        slowdown = app.slowdown
    ratios = [r["app"] / r["loop"] for r in rows]
    best = max(r["app"] for r in rows) / max(r["loop"] for r in rows)
    return {
        "ratio": quartiles(ratios), "best": best,
        "app": statistics.median(r["app"] for r in rows), "loop": statistics.median(r["loop"] for r in rows),
        "hz": quartiles([r["hz"] for r in rows]), "slowdown": slowdown, "describe": config.describe(),
    }


async def latency(presses):
    from tui.app import NetstepApp

    app = NetstepApp(engine.build(engine.presets["default"]))
    out = []
    async with app.run_test(size=SIZE) as pilot:
        log = hook_display(app)
        await pilot.pause()
        for _ in range(presses):
            target = app.state.trainer.step_count + 1
            t0 = time.perf_counter()
            await pilot.press("space")
            while not any(s >= target and t >= t0 for t, s in log[-5:]):
                await asyncio.sleep(0.0005)
            t1 = next(t for t, s in log if s >= target and t >= t0)
            out.append(t1 - t0)
            await pilot.pause(0.02)
    return out


def launch(times):
    import fcntl
    import pty
    import select
    import struct
    import subprocess
    import termios

    script = os.path.join(os.path.dirname(sys.executable), "netstep")
    argv = [script] if os.path.exists(script) else [sys.executable, "-m", "tui"]
    out = []
    for _ in range(times):
        master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", SIZE[1], SIZE[0], 0, 0))
        env = dict(os.environ, TERM="xterm-256color")
        t0 = time.perf_counter()
        proc = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, env=env, start_new_session=True)
        os.close(slave)
        seen, t1 = b"", None
        deadline = t0 + 60
        while time.perf_counter() < deadline:
            ready, _, _ = select.select([master], [], [], 0.05)
            if ready:
                try:
                    seen += os.read(master, 65536)
                except OSError:
                    break
                if b"Weights & gradients" in seen and b"PAUSED" in seen:
                    t1 = time.perf_counter()
                    break
        os.write(master, b"q")
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        os.close(master)
        if t1 is not None:
            out.append(t1 - t0)
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds")
    args = parser.parse_args()
    rounds, seconds, presses, launches = (3, 1.0, 30, 3) if args.quick else (6, 2.0, 100, 5)

    print(f"netstep trainer app benchmark  (python {platform.python_version()}, {platform.machine()}, "
          f"{os.cpu_count()} cpus, load average {' '.join(f'{x:.2f}' for x in os.getloadavg())})")
    try:
        from threadpoolctl import threadpool_info
        blas = ", ".join(f"{i['internal_api']} {i['num_threads']} threads" for i in threadpool_info())
        print(f"BLAS: {blas or 'none found'} (left as is: these networks are too small for BLAS threads)")
    except ImportError:
        pass

    print(f"\n1. Throughput while playing ({rounds} rounds of {seconds:g} s each side, terminal {SIZE[0]}x{SIZE[1]})")
    print(f"   {'run':9s} {'app/loop median [q1, q3]':>28s} {'best/best':>10s} {'app steps/s':>12s} "
          f"{'loop steps/s':>13s} {'refreshes/s median [q1, q3]':>29s}  target")
    for preset in ("default", "spiral"):
        res = asyncio.run(throughput(preset, rounds, seconds))
        q1, med, q3 = res["ratio"]
        h1, hm, h3 = res["hz"]
        ok = "met" if med >= 0.8 and hm >= 10 else "MISSED"
        print(f"   {preset:9s} {med:>12.3f} [{q1:.3f}, {q3:.3f}] {res['best']:>10.3f} {res['app']:>12,.0f} "
              f"{res['loop']:>13,.0f} {hm:>14.1f} [{h1:.1f}, {h3:.1f}]  >= 0.8 at >= 10/s: {ok}")
        print(f"   {'':9s} ({res['describe']}; panel slowdown factor at the end {res['slowdown']:.2f})")

    lat = asyncio.run(latency(presses))
    ms = [x * 1000 for x in lat]
    med, p95 = statistics.median(ms), percentile(ms, 95)
    print(f"\n2. Keypress (space) to updated screen, paused, default run, {len(ms)} presses")
    print(f"   median {med:.1f} ms   p95 {p95:.1f} ms   max {max(ms):.1f} ms   "
          f"target median < 50 ms: {'met' if med < 50 else 'MISSED'}")

    times = launch(launches)
    if times:
        med = statistics.median(times)
        print(f"\n3. Launch to first frame (`netstep` in a {SIZE[0]}x{SIZE[1]} pty), {len(times)} launches")
        print(f"   median {med:.2f} s   min {min(times):.2f} s   max {max(times):.2f} s   "
              f"target < 1.5 s: {'met' if med < 1.5 else 'MISSED'}")
    else:
        print("\n3. Launch to first frame: the dashboard never appeared")


if __name__ == "__main__":
    main()
