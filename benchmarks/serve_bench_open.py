"""serve_bench.py's open-loop modes: fixed-rate (issue 14) and classroom (issue 15).

Open loop: each session's keys are sent on a fixed schedule whatever its screen shows, so a
server that falls behind is measured as falling behind (a closed loop, press-wait-press,
slows its own clients down and hides it). Each press of space is timed from its write to
the first frame whose status line shows the step it asked for. Run through serve_bench.py.
"""

from __future__ import annotations

import asyncio
import os
import platform
import random
import re
import statistics
import tempfile
import time
from pathlib import Path

from serve_bench import WAIT, Client, children_of, cpu_seconds, memory_mb, percentile, start_server


BADGE = re.compile(rb"PLAYING|PAUSED|STOPPED")


class OpenClient:
    """A Client whose output is read all the time by its own task, resolving pending presses."""

    def __init__(self, client: Client):
        self.c = client
        self.pending: list[tuple[int, float]] = []   # (step asked for, when the key was written)
        self.latencies: list[float] = []
        self.lost = 0
        self.ended = False
        self.badge = None                            # the status line's latest PLAYING / PAUSED
        self.replays = 0
        self._reader = asyncio.get_running_loop().create_task(self._read())

    async def _read(self):
        while True:
            try:
                data = await self.c.process.stdout.read(65536)
            except Exception:
                data = b""
            if not data:
                self.ended = True
                return
            self.c._take(data)
            badges = BADGE.findall(data)
            if badges:
                self.badge = badges[-1]
            now = time.perf_counter()
            step = self.c.step or 0
            while self.pending and self.pending[0][0] <= step:
                self.latencies.append(now - self.pending.pop(0)[1])

    async def press_every(self, interval: float, seconds: float):
        """Space every `interval` s for `seconds`, on an absolute schedule from a random phase."""
        loop = asyncio.get_running_loop()
        await asyncio.sleep(random.uniform(0, interval))
        start = loop.time()
        target = self.c.step or 0
        k = 0
        while loop.time() - start < seconds and not self.ended:
            target += 1
            self.pending.append((target, time.perf_counter()))
            self.c.process.stdin.write(b" ")
            k += 1
            await asyncio.sleep(max(0.0, start + k * interval - loop.time()))

    async def keep_playing(self, seconds: float):
        """A student who plays: p, and p again whenever the run has stopped (after its epochs,
        playing stops by itself; p plays on), so the session trains at full speed throughout."""
        loop = asyncio.get_running_loop()
        end = loop.time() + seconds
        while loop.time() < end and not self.ended:
            if self.badge != b"PLAYING":
                self.c.process.stdin.write(b"p")
                self.replays += 1
            await asyncio.sleep(1.0)

    async def settle(self, timeout=10.0):
        loop = asyncio.get_running_loop()
        end = loop.time() + timeout
        while self.pending and loop.time() < end and not self.ended:
            await asyncio.sleep(0.05)
        self.lost += len(self.pending)
        self.pending.clear()

    def close(self):
        self._reader.cancel()
        self.c.close()


async def _open(port, keys, n):
    clients = await asyncio.gather(*(Client.open(port, keys[i]) for i in range(n)))
    await asyncio.gather(*(c.until_step(0) for c in clients))
    for _ in range(2):   # warm up: the first steps pay for imports and first layouts
        await asyncio.gather(*(c.press_space() for c in clients))
    await asyncio.gather(*(c.drain(1.0) for c in clients))
    return [OpenClient(c) for c in clients]


def _children_cpu(server_pid):
    return {pid: cpu_seconds(pid) for pid in children_of(server_pid)}


def _stats(lat_ms):
    if not lat_ms:
        return "no presses answered"
    return (f"p50 {statistics.median(lat_ms):6.1f}  p95 {percentile(lat_ms, 0.95):6.1f}  "
            f"p99 {percentile(lat_ms, 0.99):6.1f}  max {max(lat_ms):6.1f} ms")


def _header(mode):
    print(f"netstep serve benchmark, {mode}: space (one training step, default run) -> the frame showing that step")
    print(f"machine: {os.cpu_count()} cores, load average {' '.join(f'{x:.2f}' for x in os.getloadavg())} at "
          f"start (other work shares this machine); Python {platform.python_version()}; clients in this process")


async def _close_all(clients, server_pid):
    for c in clients:
        c.close()
    for _ in range(400):
        if not children_of(server_pid):
            break
        await asyncio.sleep(0.05)


async def fixed_rate(args):
    counts = [int(x) for x in (args.sessions or "16,32").split(",")]
    intervals = [float(x) for x in (args.interval or "0.2,2").split(",")]
    if len(intervals) == 1:
        intervals *= len(counts)
    seconds = args.seconds or 20.0
    targets = {(16, 0.2): 250.0, (32, 2.0): 150.0}
    _header("fixed-rate (open loop)")
    random.seed(0)
    with tempfile.TemporaryDirectory(prefix="netstep-serve-bench-") as tmp:
        proc, port, keys = await start_server(Path(tmp), max(counts), max(counts))
        try:
            for n, interval in zip(counts, intervals):
                clients = await _open(port, keys, n)
                cpu0, t0 = _children_cpu(proc.pid), time.perf_counter()
                await asyncio.gather(*(c.press_every(interval, seconds) for c in clients))
                await asyncio.gather(*(c.settle() for c in clients))
                wall = time.perf_counter() - t0
                cpu1 = _children_cpu(proc.pid)
                lat = [x * 1000 for c in clients for x in c.latencies]
                lost = sum(c.lost for c in clients)
                cores = sum(cpu1.get(p, 0) - cpu0.get(p, 0) for p in cpu1) / wall
                target = targets.get((n, interval))
                verdict = "" if target is None else (
                    f"  target p95 < {target:.0f} ms: {'met' if lat and percentile(lat, 0.95) < target else 'NOT met'}"
                    f" ({percentile(lat, 0.95) / target:.2f}x the target)" if lat else "")
                print(f"{n:>3} sessions, a key every {interval:g} s ({n / interval:.1f} keys/s): {len(lat)} presses, "
                      f"{lost} unanswered; {_stats(lat)}; app CPU {cores:.2f} cores{verdict}", flush=True)
                await _close_all(clients, proc.pid)
        finally:
            proc.terminate()
            await asyncio.wait_for(proc.wait(), WAIT)


async def classroom(args):
    seconds = args.seconds or 60.0
    n_press, n_play = 24, 8
    _header(f"classroom: {n_press} pressing space every 2 s + {n_play} playing, {seconds:g} s")
    random.seed(0)
    with tempfile.TemporaryDirectory(prefix="netstep-serve-bench-") as tmp:
        proc, port, keys = await start_server(Path(tmp), n_press + n_play, n_press + n_play)
        try:
            clients = await _open(port, keys, n_press + n_play)
            pressers, players = clients[:n_press], clients[n_press:]
            for c in players:
                c.c.process.stdin.write(b"p")
            await asyncio.sleep(2.0)   # playing has begun
            cpu0, t0 = _children_cpu(proc.pid), time.perf_counter()
            await asyncio.gather(*(c.press_every(2.0, seconds) for c in pressers),
                                 *(c.keep_playing(seconds) for c in players))
            await asyncio.gather(*(c.settle() for c in pressers))
            wall = time.perf_counter() - t0
            cpu1 = _children_cpu(proc.pid)
            kids = children_of(proc.pid)
            mem = [memory_mb(pid)[0] for pid in kids]
            alive = sum(not c.ended for c in clients)
            lat = [x * 1000 for c in pressers for x in c.latencies]
            lost = sum(c.lost for c in pressers)
            per = sorted((cpu1.get(p, 0) - cpu0.get(p, 0)) / wall * 100 for p in cpu1)
            server_cpu = cpu_seconds(proc.pid)
            print(f"key-to-screen latency of the {n_press} pressing: {len(lat)} presses, {lost} unanswered; {_stats(lat)}")
            print(f"CPU per session: the {n_play} busiest (the playing ones) mean {statistics.mean(per[-n_play:]):.1f}% "
                  f"of a core, the other {len(per) - n_play} mean {statistics.mean(per[:-n_play]):.1f}% (max "
                  f"{per[-n_play - 1]:.1f}%); all sessions {sum(per) / 100:.2f} cores; server process "
                  f"{server_cpu:.1f} s CPU since start; p pressed {sum(c.replays for c in players)} times to keep "
                  f"{n_play} playing")
            print(f"RSS per session: mean {statistics.mean(mem):.0f} MB, max {max(mem):.0f} MB")
            print(f"sessions alive at the end: {alive} of {len(clients)} ({len(kids)} app processes)")
            p95 = percentile(lat, 0.95) if lat else float("inf")
            print(f"targets: p95 {p95:.0f} ms vs 250 ms ({'met' if p95 < 250 else 'NOT met'}, {p95 / 250:.2f}x); "
                  f"alive {alive}/32 ({'met' if alive == 32 else 'NOT met'}); max RSS {max(mem):.0f} MB vs 150 MB "
                  f"({'met' if max(mem) < 150 else 'NOT met'})", flush=True)
            await _close_all(clients, proc.pid)
        finally:
            proc.terminate()
            await asyncio.wait_for(proc.wait(), WAIT)
