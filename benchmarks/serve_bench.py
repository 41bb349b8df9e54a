"""`netstep serve` under a class: keystroke-to-screen latency and memory per session.

Starts `netstep serve` (the real command, the real app on the default run) on a free
loopback port, then for 1, 8 and 16 concurrent sessions each client presses space (one
training step) and waits until the app's status bar in its output shows the next step
number. Latency is measured from writing the key to reading that frame: SSH both ways, the
server's pump, the app's step and render. The client finds the number with one regex over
the raw bytes, because a full terminal emulator (pyte) costs ~1.5 ms per KB of output in
this same process and would dominate on 2 cores; at the end one session's whole stream is
replayed through pyte to check that the screen agrees.
Two loads: a quick student (a random 0.2-0.6 s pause between presses) and a stress run
with no pause at all. Memory is each session child's RSS and PSS from /proc.

Targets (issue 7): p95 under 250 ms at 16 sessions on 2 cores, under 120 MB per session.

`--mode fixed-rate` (issue 14): every session presses space every --interval seconds whatever
its screen shows (an open loop: a slow server cannot slow the clients down), each press
timed to the first frame showing its step. Default: 16 sessions at 5 keys/s, then 32 at one
key every 2 s (targets p95 < 250 ms and < 150 ms).
`--mode classroom` (issue 15): 32 sessions for 60 s, 24 pressing space every 2 s and 8
playing (p once, then only reading); prints latency p50/p95/p99 of the 24, CPU and RSS per
session and the sessions alive at the end (targets p95 < 250 ms, all 32 alive, < 150 MB RSS).
Not part of the test suite. Run: python benchmarks/serve_bench.py [--mode think|fixed-rate|classroom]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import asyncssh
import pyte

COLS, ROWS = 120, 36
# The status bar: "step", then style changes, then the number ("steps/s" does not match).
STEP = re.compile(rb"step (?:\x1b\[[0-9;]*m)*(\d+)")
WAIT = 120.0


def percentile(values, q):
    values = sorted(values)
    k = (len(values) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (k - lo)


class Client:
    """One student's terminal: an SSH session on a PTY; tracks the step its screen shows."""

    def __init__(self, conn, process, keep=False):
        self.conn, self.process = conn, process
        self.step = None
        self.tail = b""
        self.received = 0
        self.raw = bytearray() if keep else None
        self.latencies = []

    @classmethod
    async def open(cls, port, key, keep=False):
        conn = await asyncssh.connect("127.0.0.1", port, username="student", client_keys=[key],
                                      known_hosts=None, agent_path=None)
        process = await conn.create_process(term_type="xterm-256color", term_size=(COLS, ROWS), encoding=None)
        return cls(conn, process, keep)

    def _take(self, data):
        self.received += len(data)
        if self.raw is not None:
            self.raw += data
        text = self.tail + data
        for found in STEP.finditer(text):
            value = int(found.group(1))
            self.step = value if self.step is None else max(self.step, value)
        self.tail = text[-64:]   # a match split across two reads is found next time

    async def until_step(self, step):
        while self.step is None or self.step < step:
            data = await asyncio.wait_for(self.process.stdout.read(65536), WAIT)
            if not data:
                raise RuntimeError("session ended before step %d" % step)
            self._take(data)
        return self.step

    def screen_step(self):
        """The step on the status bar of the screen pyte rebuilds from everything received."""
        screen = pyte.Screen(COLS, ROWS)
        pyte.ByteStream(screen).feed(bytes(self.raw))
        found = re.search(r"\bstep (\d+)\b", "\n".join(screen.display))
        return int(found.group(1)) if found else None

    async def press_space(self):
        current = self.step or 0
        t0 = time.perf_counter()
        self.process.stdin.write(b" ")
        await self.until_step(current + 1)
        return time.perf_counter() - t0

    async def drain(self, seconds):
        """Keep reading for `seconds` (the app keeps drawing); returns bytes received."""
        before = self.received
        loop = asyncio.get_running_loop()
        end = loop.time() + seconds
        while (left := end - loop.time()) > 0:
            try:
                data = await asyncio.wait_for(self.process.stdout.read(65536), left)
            except asyncio.TimeoutError:
                break
            if not data:
                break
            self._take(data)
        return self.received - before

    async def run(self, presses, think):
        for _ in range(presses):
            self.latencies.append(await self.press_space())
            if think:
                await asyncio.sleep(random.uniform(*think))
                # Read what arrived meanwhile, so the next press starts from a current screen.
                await self.drain(0)

    def close(self):
        self.conn.close()


def children_of(pid):
    kids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    stat = f.read()
            except OSError:
                continue
            if int(stat[stat.rindex(")") + 2:].split()[1]) == pid:
                kids.append(int(entry))
    return kids


def cpu_seconds(pid):
    """User + system CPU time of one process so far."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            stat = f.read()
    except OSError:
        return 0.0
    fields = stat[stat.rindex(")") + 2:].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_snapshot(server_pid):
    """(app children, server, this client process) CPU seconds."""
    me = os.times()
    return (sum(cpu_seconds(pid) for pid in children_of(server_pid)), cpu_seconds(server_pid),
            me.user + me.system)


def memory_mb(pid):
    """(RSS, PSS) of one process in MB."""
    rss = pss = 0
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1]) / 1024
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    pss = int(line.split()[1]) / 1024
    except OSError:
        pss = float("nan")
    return rss, pss


async def start_server(tmp, n_keys, max_sessions):
    keys = []
    lines = []
    for i in range(n_keys):
        key = asyncssh.generate_private_key("ssh-ed25519", comment=f"student{i:02d}")
        keys.append(key)
        lines.append(key.export_public_key().decode())
    (tmp / "authorized_keys").write_text("".join(lines))
    env = dict(os.environ, NETSTEP_DATA_DIR=str(tmp / "data"))
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tui", "serve", "--port", "0", "--authorized-keys", str(tmp / "authorized_keys"),
        "--max-sessions", str(max_sessions), "--max-per-address", "0",
        # a whole class logs in at once here: no random early drop of the 21st login
        "--max-startups", f"{max(20, n_keys)}:30:{max(100, 2 * n_keys)}", stderr=subprocess.PIPE, env=env)
    while True:
        line = (await asyncio.wait_for(proc.stderr.readline(), WAIT)).decode()
        if not line:
            raise RuntimeError("netstep serve exited before listening")
        found = re.search(r"listening on 127\.0\.0\.1:(\d+)", line)
        if found:
            break

    async def swallow():  # keep the log pipe flowing
        while await proc.stderr.readline():
            pass

    asyncio.get_running_loop().create_task(swallow())
    return proc, int(found.group(1)), keys


async def measure(port, keys, server_pid, n, presses, think_modes):
    clients = await asyncio.gather(*(Client.open(port, keys[i], keep=(i == 0)) for i in range(n)))
    await asyncio.gather(*(c.until_step(0) for c in clients))
    # Warm up: the first steps pay for imports and first layouts.
    for _ in range(2):
        await asyncio.gather(*(c.press_space() for c in clients))
    await asyncio.gather(*(c.drain(1.0) for c in clients))   # let the last frames settle
    idle = await asyncio.gather(*(c.drain(2.0) for c in clients))
    rows = []
    for label, think in think_modes:
        for c in clients:
            c.latencies = []
        started, cpu0 = time.perf_counter(), cpu_snapshot(server_pid)
        await asyncio.gather(*(c.run(presses, think) for c in clients))
        wall, cpu1 = time.perf_counter() - started, cpu_snapshot(server_pid)
        lat = [x * 1000 for c in clients for x in c.latencies]
        per_key = [(b - a) * 1000 / len(lat) for a, b in zip(cpu0, cpu1)]
        rows.append((label, lat, len(lat) / wall, per_key))
    await clients[0].drain(0.5)
    agrees = clients[0].screen_step() == clients[0].step
    kids = children_of(server_pid)
    mem = [memory_mb(pid) for pid in kids]
    server_rss = memory_mb(server_pid)[0]
    for c in clients:
        c.close()
    for _ in range(400):   # until the server has ended every child
        if not children_of(server_pid):
            break
        await asyncio.sleep(0.05)
    return rows, mem, server_rss, statistics.mean(idle) / 2.0 / 1024, agrees


async def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--mode", choices=("think", "fixed-rate", "classroom"), default="think",
                   help="think: press, wait for the frame, pause (default); fixed-rate: a key every "
                        "--interval s whatever the screen does; classroom: 24 pressing + 8 playing, 60 s")
    p.add_argument("--sessions", default=None, help="comma list of concurrent session counts "
                   "(think: 1,8,16; fixed-rate: 16,32 with --interval 0.2,2)")
    p.add_argument("--presses", type=int, default=20, help="measured presses per session per load (think)")
    p.add_argument("--interval", default=None, help="fixed-rate: seconds between one session's keys, one per "
                   "session count (default 0.2,2)")
    p.add_argument("--seconds", type=float, default=None, help="fixed-rate: 20 per load; classroom: 60")
    args = p.parse_args(argv)
    if args.mode != "think":
        from serve_bench_open import classroom, fixed_rate

        return await (fixed_rate(args) if args.mode == "fixed-rate" else classroom(args))
    counts = [int(x) for x in (args.sessions or "1,8,16").split(",")]
    random.seed(0)
    think_modes = [("think 0.2-0.6 s", (0.2, 0.6)), ("no think (stress)", None)]

    print("netstep serve benchmark: space (one training step on the default run) -> screen shows the new step")
    print(f"machine: {os.cpu_count()} cores, load average {' '.join(f'{x:.2f}' for x in os.getloadavg())} "
          f"at start (other work shares this machine); Python {platform.python_version()}; "
          f"children run nice 10, 1 BLAS thread each; terminal {COLS}x{ROWS}; the clients run in this "
          "process, on the same cores")
    header = (f"{'sessions':>8}  {'load':<18} {'presses':>7} {'keys/s':>7} {'median ms':>9} {'p95 ms':>7} "
              f"{'max ms':>7}  {'CPU ms/key app+server+client':>28}  {'RSS/session MB':>15} {'PSS/session MB':>14} "
              f"{'server MB':>9} {'idle KB/s':>9} {'pyte':>4}")
    print(header)
    print("-" * len(header))
    with tempfile.TemporaryDirectory(prefix="netstep-serve-bench-") as tmp:
        proc, port, keys = await start_server(Path(tmp), max(counts), max(counts))
        results = {}
        try:
            for n in counts:
                rows, mem, server_rss, idle_kbs, agrees = await measure(port, keys, proc.pid, n, args.presses, think_modes)
                rss = [m[0] for m in mem]
                pss = [m[1] for m in mem]
                for label, lat, rate, per_key in rows:
                    med, p95 = statistics.median(lat), percentile(lat, 0.95)
                    results[(n, label)] = (p95, max(rss))
                    print(f"{n:>8}  {label:<18} {len(lat):>7} {rate:>7.1f} {med:>9.1f} {p95:>7.1f} {max(lat):>7.1f}  "
                          f"{'%5.1f + %4.1f + %4.1f' % tuple(per_key):>28}  "
                          f"{statistics.mean(rss):>7.1f} (max {max(rss):>4.0f}) {statistics.mean(pss):>14.1f} "
                          f"{server_rss:>9.1f} {idle_kbs:>9.1f} {'ok' if agrees else 'DIFF':>4}", flush=True)
        finally:
            proc.terminate()
            await asyncio.wait_for(proc.wait(), WAIT)
    top = max(counts)
    p95, rss = results[(top, think_modes[0][0])]
    p95_stress = results[(top, think_modes[1][0])][0]
    print(f"targets at {top} sessions: p95 {p95:.0f} ms vs 250 ms ({'met' if p95 < 250 else 'NOT met'}; "
          f"stress {p95_stress:.0f} ms), largest session RSS {rss:.0f} MB vs 120 MB "
          f"({'met' if rss < 120 else 'NOT met'})")
    if 1 in counts:
        base = results[(1, think_modes[0][0])][0]
        print(f"p95 ratio {top} sessions / 1 session (think load): {p95 / base:.2f}x")


if __name__ == "__main__":
    asyncio.run(main())
