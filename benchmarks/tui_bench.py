"""Trainer app benchmark through a real pseudo-terminal: what the screen costs.

    .venv/bin/python benchmarks/tui_bench.py            # every size, default and digits (a few minutes)
    .venv/bin/python benchmarks/tui_bench.py --quick    # fewer presses, shorter plays
    .venv/bin/python benchmarks/tui_bench.py --runs 3   # every case three times; targets from the medians

Each case starts the real `netstep --preset P` in a pty of the given size (os.openpty,
TIOCSWINSZ; TERM=xterm-256color), reads every byte it writes from the master side and
keeps a pyte screen of it, so the frames are encoded and written exactly as a user's
terminal receives them (Textual's headless driver skips that, which hid much of the
cost). Per case it measures:

1. First frame: a fresh `netstep --preset P`, exactly what a user types (no other flag:
   a flag is checked before any screen, so it imports the engine first), from process
   start to the dashboard on screen: its status line and the title of every panel the
   layout shows, with or without numbers yet (the app paints the dashboard's frame,
   "building the run", before importing the engine). Also the child's CPU seconds then
   (/proc; they hold up under load where the wall clock does not), and "ready": until
   the run is in it (PAUSED on the status line). Includes Python start-up and imports.
2. CPU per paused `space`: the child's utime + stime (/proc/PID/stat, all its threads)
   over N presses spaced SPACING apart, less the child's CPU over an idle window of the
   same length, divided by N. Also the key-to-screen latency: from writing the key to
   the screen's status line showing the new step (median, p95).
3. Playing: `p`, PLAY seconds, `p`; steps per second read from the status line against
   a plain loop of Trainer.step() on the same run in this process (half run before the
   app starts and half after it has quit, so the two never share the cores), screen
   updates per second (output bursts at least 10 ms apart), and each of the app's threads'
   share of a core (/proc/PID/task: main = the event loop and drawing, worker = training).
   `--play-only` measures only this, at 120x40.

Then it prints each issue-14 target with the measured value and value / target (a ratio
<= 1 meets a "at most" target; >= 1 meets an "at least" one). Nothing here is a test.
The machine is shared: the load average is printed beside the results.
"""

from __future__ import annotations

import argparse
import fcntl
import os
import platform
import re
import select
import statistics
import struct
import subprocess
import sys
import termios
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, os.pardir))
# The headless loop runs with one BLAS thread, as the app does (tui/cli.py), so the ratio
# compares the same arithmetic.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import engine  # noqa: E402

SIZES = ((80, 24), (120, 40), (200, 60))
PRESETS = ("default", "digits")
SPACING = 0.25          # seconds between paused presses: every frame of one press is written by then
TICK = os.sysconf("SC_CLK_TCK")
STEP_RE = re.compile(r"step ([\d,]+)")

# issue 14's targets: (label, preset, size or None, kind, target, "max" or "min")
TARGETS = [
    ("CPU per paused space, default, 120x40 (ms)", "default", (120, 40), "cpu", 8.0, "max"),
    ("CPU per paused space, default, 200x60 (ms)", "default", (200, 60), "cpu", 15.0, "max"),
    ("CPU per paused space, digits, 80x24 (ms)", "digits", (80, 24), "cpu", 20.0, "max"),
    ("CPU per paused space, digits, 120x40 (ms)", "digits", (120, 40), "cpu", 20.0, "max"),
    ("CPU per paused space, digits, 200x60 (ms)", "digits", (200, 60), "cpu", 20.0, "max"),
    ("playing / headless throughput, default, 120x40", "default", (120, 40), "ratio", 0.95, "min"),
    ("playing / headless throughput, digits, 120x40", "digits", (120, 40), "ratio", 0.90, "min"),
    ("screen updates per second while playing, default, 120x40", "default", (120, 40), "hz", 12.0, "min"),
    ("first frame, default, 120x40 (s)", "default", (120, 40), "first", 0.5, "max"),
    ("first frame, digits, 120x40 (s)", "digits", (120, 40), "first", 0.5, "max"),
]


def percentile(xs, p):
    xs = sorted(xs)
    k = (len(xs) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (k - lo)


def child_cpu(pid, tid=None) -> float:
    """utime + stime of the process (every thread), or of one of its threads, in seconds."""
    path = f"/proc/{pid}/stat" if tid is None else f"/proc/{pid}/task/{tid}/stat"
    try:
        with open(path) as f:
            fields = f.read().rpartition(")")[2].split()
    except OSError:   # the thread ended
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICK


def thread_cpus(pid) -> dict:
    """{thread id: CPU seconds} for every thread of the process."""
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return {}
    return {int(t): child_cpu(pid, t) for t in tids}


class Term:
    """The real netstep in a pty, with a pyte screen of everything it wrote."""

    def __init__(self, argv, size):
        import pyte

        self.cols, self.rows = size
        self.screen = pyte.Screen(self.cols, self.rows)
        self.stream = pyte.ByteStream(self.screen)
        master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", self.rows, self.cols, 0, 0))
        env = dict(os.environ, TERM="xterm-256color", COLUMNS=str(self.cols), LINES=str(self.rows))
        self.t0 = time.perf_counter()
        self.proc = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, env=env, start_new_session=True)
        os.close(slave)
        self.master = master
        self.bursts = []        # perf_counter of each read that was >= 10 ms after the previous one
        self.written = 0

    def pump(self, timeout) -> bool:
        """Read what is there (waiting up to timeout for the first bytes). False at EOF."""
        ready, _, _ = select.select([self.master], [], [], timeout)
        if not ready:
            return True
        try:
            data = os.read(self.master, 1 << 16)
        except OSError:
            return False
        if not data:
            return False
        now = time.perf_counter()
        if not self.bursts or now - self.bursts[-1] >= 0.01:
            self.bursts.append(now)
        self.written += len(data)
        self.stream.feed(data)
        return True

    def wait_for(self, test, timeout) -> float | None:
        """Pump until test(screen text) holds; the perf_counter time it did, or None."""
        end = time.perf_counter() + timeout
        while time.perf_counter() < end:
            if not self.pump(0.02):
                return None
            if test("\n".join(self.screen.display)):
                return time.perf_counter()
        return None

    def drain(self, seconds):
        end = time.perf_counter() + seconds
        while time.perf_counter() < end:
            if not self.pump(max(0.0, min(0.02, end - time.perf_counter()))):
                return

    def step(self) -> int | None:
        """The step number on the status line (the last line that has one)."""
        for line in reversed(self.screen.display):
            if "PAUSED" in line or "PLAYING" in line or "STOPPED" in line:
                m = STEP_RE.search(line)
                return int(m.group(1).replace(",", "")) if m else None
        return None

    def key(self, k: bytes):
        os.write(self.master, k)

    def close(self):
        try:
            self.key(b"q")
            self.drain(0.3)
            self.proc.wait(timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            self.proc.kill()
            self.proc.wait()
        os.close(self.master)


def netstep_argv(preset, tree=None, epochs=True):
    """The app's command line; `tree`: a source tree (another commit's) run with this Python."""
    run = ["--preset", preset] + (["--epochs", "1000000000"] if epochs else [])
    if tree is not None:
        return [sys.executable, "-c", f"import sys; sys.path.insert(0, {tree!r}); from tui.cli import entry; entry()",
                *run]
    script = os.path.join(os.path.dirname(sys.executable), "netstep")
    base = [script] if os.path.exists(script) else [sys.executable, "-m", "tui"]
    return base + run


# The panels' titles (tui/screens/building.py's TITLES; digits' predictions panel says
# "Predictions", the others "Decision boundary"); at 110x32 and up all five show.
FRAME_TITLES = ("Network", "Loss", "Weights & gradients", "Diagnostics")


# The floor: a bare Textual app (one Static with the same words), started the same way.
BARE_APP = ("from textual.app import App\nfrom textual.widgets import Static\n"
            "class Bare(App):\n    def compose(self):\n"
            "        yield Static('PAUSED building the run Network Loss Weights & gradients Diagnostics Predictions')\n"
            "Bare().run()\n")


def first_frame(preset, size, tree=None):
    """Seconds (and child CPU seconds) from starting `netstep --preset P` to the dashboard on
    screen (status line and every title the layout shows), and to the run in it (PAUSED)."""
    titles = FRAME_TITLES if size[0] >= 110 and size[1] >= 32 else ("Loss",)

    def dashboard(text):
        return (("PAUSED" in text or "building the run" in text) and all(t in text for t in titles)
                and ("Decision boundary" in text or "Predictions" in text))

    argv = [sys.executable, "-c", BARE_APP] if tree == "bare" else netstep_argv(preset, tree, epochs=False)
    term = Term(argv, size)
    out = {}
    seen = term.wait_for(dashboard, 60)
    if seen is not None:
        out["first"] = seen - term.t0
        out["first_cpu"] = child_cpu(term.proc.pid)
        ready = term.wait_for(lambda s: "PAUSED" in s, 60)
        if ready is not None:
            out["ready"] = ready - term.t0
            out["ready_cpu"] = child_cpu(term.proc.pid)
    term.close()
    return out


def headless_rate(preset, seconds):
    trainer = engine.build(engine.presets[preset].replace(epochs=10**9))
    perf, n = time.perf_counter, 0
    for _ in range(20):
        trainer.step()
    t0 = perf()
    end = t0 + seconds
    while True:
        trainer.step()
        n += 1
        if n % 16 == 0 and perf() >= end:
            return n / (perf() - t0)


def run_case(preset, size, presses, play, tree=None, play_only=False):
    # The headless loop runs half before the app and half after (never beside it): the
    # machine's load drifts, and the mean of the two brackets the app's play.
    pre = headless_rate(preset, play / 2) if play else None
    term = Term(netstep_argv(preset, tree), size)
    out = {"preset": preset, "size": size, "tree": tree}
    seen = term.wait_for(lambda s: "PAUSED" in s, 60)
    if seen is None:
        term.close()
        out["error"] = "the dashboard never appeared"
        return out
    term.drain(1.5)                         # let start-up work (first evaluations, timers) settle
    pid = term.proc.pid
    if play_only:
        presses = 0
    c0 = child_cpu(pid)
    term.drain(presses * SPACING)
    idle = child_cpu(pid) - c0
    lat = []
    c0 = child_cpu(pid)
    for _ in range(presses):
        before = term.step() or 0
        t = time.perf_counter()
        term.key(b" ")
        done = term.wait_for(lambda s: (term.step() or 0) > before, 5)
        if done is not None:
            lat.append(done - t)
        term.drain(max(0.0, SPACING - (time.perf_counter() - t)))
    busy = child_cpu(pid) - c0
    if presses:
        out["cpu_ms"] = max(0.0, busy - idle) / presses * 1000
        out["idle_ms"] = idle / presses * 1000
    out["latency"] = lat
    if play:
        s0 = term.step() or 0
        term.key(b"p")
        term.drain(0.3)                     # the worker thread exists now
        s0, t0 = term.step() or s0, time.perf_counter()
        c0 = thread_cpus(pid)
        b0 = len(term.bursts)
        term.drain(play)
        s1, t1 = term.step() or s0, time.perf_counter()
        c1 = thread_cpus(pid)
        hz = (len(term.bursts) - b0) / (t1 - t0)
        term.key(b"p")
        term.drain(0.8)
        out["app_rate"] = (s1 - s0) / (t1 - t0)
        out["hz"] = hz
        # Per thread, CPU share of the wall time: the main thread (event loop: drawing, the
        # compositor), the busiest other one (the training worker) and the rest (the writer).
        used = {tid: c1[tid] - c0.get(tid, 0.0) for tid in c1}
        main = used.pop(pid, 0.0)
        worker = max(used.values(), default=0.0)
        out["cpu_main"] = main / (t1 - t0)
        out["cpu_worker"] = worker / (t1 - t0)
        out["cpu_other"] = (sum(used.values()) - worker) / (t1 - t0)
    term.close()
    if play:
        out["loop_rate"] = (pre + headless_rate(preset, play / 2)) / 2
        out["ratio"] = out["app_rate"] / out["loop_rate"]
    out.update(first_frame(preset, size, tree))   # its own process: the flags above are checked first
    if "first" not in out:
        out["error"] = "the first frame never appeared"
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer presses, shorter plays")
    parser.add_argument("--presets", default=",".join(PRESETS))
    parser.add_argument("--sizes", default=",".join(f"{c}x{r}" for c, r in SIZES))
    parser.add_argument("--runs", type=int, default=1, help="repeat every case; the targets use the medians")
    parser.add_argument("--before", metavar="TREE",
                        help="also run each case on this source tree (e.g. `git archive OLD | tar -x -C TREE`), "
                             "interleaved with ours, and print its medians as 'before'")
    parser.add_argument("--targets-only", action="store_true", help="only the cases the issue-14 targets name")
    parser.add_argument("--first-only", action="store_true",
                        help="only the first frame of each preset at 120x40 (seconds), a few seconds per run")
    parser.add_argument("--play-only", action="store_true",
                        help="only the playing cases (120x40), no paused presses: the app's threads' CPU while playing")
    args = parser.parse_args()
    if args.first_only:
        return first_only(args)
    presses, play = (10, 2.0) if args.quick else (30, 4.0)
    presets = args.presets.split(",")
    sizes = [tuple(int(v) for v in s.split("x")) for s in args.sizes.split(",")]

    print(f"netstep app through a pty  (python {platform.python_version()}, {platform.machine()}, "
          f"{os.cpu_count()} cpus, load average {' '.join(f'{x:.2f}' for x in os.getloadavg())})")
    print(f"{presses} paused presses {SPACING:g} s apart per case; CPU from /proc/PID/stat at {TICK} ticks/s "
          f"(resolution {1000 / TICK / presses:.1f} ms per press); playing {play:g} s where shown\n")
    head = (f"{'preset':8s} {'size':>7s} {'first s':>8s} {'cpu/space ms':>13s} {'idle ms':>8s} "
            f"{'key->screen med/p95 ms':>23s} {'play/loop':>10s} {'app st/s':>9s} {'loop st/s':>10s} {'upd/s':>6s}")
    print(head)
    if args.before:
        print(f"(* = the --before tree, {os.path.abspath(args.before)}, run right after ours)")
    cases = [(p, s) for p in presets for s in sizes]
    if args.targets_only:
        named = {(t[1], t[2]) for t in TARGETS}
        cases = [c for c in cases if c in named]
    if args.play_only:
        cases = [c for c in cases if c[1] == (120, 40)]
    trees = [None] + ([os.path.abspath(args.before)] if args.before else [])
    runs = {}
    for run in range(args.runs):
        if args.runs > 1:
            print(f"run {run + 1} of {args.runs}")
        for preset, size in cases:
            for tree in trees:   # before and after back to back: the same machine load
                r = run_case(preset, size, presses, play if size == (120, 40) else 0, tree, args.play_only)
                runs.setdefault((tree, preset, size), []).append(r)
                _print_case(r)
    results = {(p, s): _median(rs) for (tree, p, s), rs in runs.items() if tree is None}
    before = {(p, s): _median(rs) for (tree, p, s), rs in runs.items() if tree is not None}
    if args.runs > 1:
        print(f"\nmedians of {args.runs} runs")
        for r in list(results.values()) + list(before.values()):
            _print_case(r)

    print(f"\nissue 14 targets (value / target: <= 1 meets an 'at most', >= 1 an 'at least'"
          f"{f'; median of {args.runs} runs' if args.runs > 1 else ''})")
    keys = {"cpu": "cpu_ms", "ratio": "ratio", "hz": "hz", "first": "first"}
    for label, preset, size, kind, target, how in TARGETS:
        r = results.get((preset, size))
        if r is None or keys[kind] not in r:
            print(f"  {label:58s} not measured")
            continue
        v = r[keys[kind]]
        met = v <= target if how == "max" else v >= target
        b = before.get((preset, size), {}).get(keys[kind])
        was = "" if b is None else f"  (before: {b:8.3f}, ratio {b / target:6.2f})"
        print(f"  {label:58s} {v:8.3f}  target {'<=' if how == 'max' else '>='} {target:g}  "
              f"ratio {v / target:6.2f}  {'met' if met else 'MISSED'}{was}")


def first_only(args):
    """The first-frame targets alone: `netstep --preset P` at 120x40, ours and --before's
    interleaved, every run; the medians, and the ratio ours / before of each number."""
    trees = [None] + ([os.path.abspath(args.before)] if args.before else [])
    presets = args.presets.split(",")
    floor = []
    print(f"first frame through a pty, 120x40  (load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}); "
          f"'first': to the dashboard on screen, '_cpu': the child's CPU seconds then, 'ready': to PAUSED")
    got = {}
    for run in range(args.runs):
        floor.append(first_frame("bare", (120, 40), "bare")["first"])
        print(f"  run {run + 1}  bare Textual app (the floor): first {floor[-1]:.3f}", flush=True)
        for preset in presets:
            for tree in trees:
                r = first_frame(preset, (120, 40), tree)
                got.setdefault((preset, tree), []).append(r)
                name = preset + ("*" if tree else "")
                print(f"  run {run + 1}  {name:9s} " + "  ".join(f"{k} {r.get(k, float('nan')):.3f}"
                                                                 for k in ("first", "first_cpu", "ready", "ready_cpu")), flush=True)
    print(f"\nmedians of {args.runs} runs" + (f"  (* = {os.path.abspath(args.before)})" if args.before else ""))
    med = {}
    for (preset, tree), rs in got.items():
        med[preset, tree] = {k: statistics.median(r[k] for r in rs if k in r)
                             for k in ("first", "first_cpu", "ready", "ready_cpu") if any(k in r for r in rs)}
        m = med[preset, tree]
        line = f"  {preset + ('*' if tree else ''):9s} " + "  ".join(f"{k} {v:.3f}" for k, v in m.items())
        print(line)
    bare = statistics.median(floor)
    print(f"  bare Textual app: first {bare:.3f}")
    for preset in presets:
        m = med[preset, None]
        line = (f"  first frame, {preset}, 120x40: {m['first']:.3f} s, target <= 0.5 s, ratio {m['first'] / 0.5:.2f}; "
                f"ours / bare Textual {m['first'] / bare:.2f}")
        if args.before:
            b = med[preset, trees[-1]]
            line += "; ours / before: " + ", ".join(f"{k} {m[k] / b[k]:.2f}" for k in m if k in b)
        print(line)


def _median(rs):
    """One case's runs as one: the median of each number (latencies pooled)."""
    ok = [r for r in rs if "error" not in r]
    if not ok:
        return rs[0]
    out = dict(ok[0])
    for k in ("first", "first_cpu", "ready", "cpu_ms", "idle_ms", "app_rate", "hz", "loop_rate", "ratio", "cpu_main",
              "cpu_worker", "cpu_other"):
        if all(k in r for r in ok):
            out[k] = statistics.median(r[k] for r in ok)
    out["latency"] = [x for r in ok for x in r["latency"]]
    return out


def _print_case(r):
    preset, size = r["preset"], r["size"]
    tag = f"{size[0]}x{size[1]}"
    if r.get("tree"):
        preset += "*"   # the --before tree
    if "error" in r:
        print(f"{preset:8s} {tag:>7s}  {r['error']}")
        return
    lat = [x * 1000 for x in r["latency"]] or [float("nan")]
    nan = float("nan")
    line = (f"{preset:8s} {tag:>7s} {r['first']:8.2f} {r.get('cpu_ms', nan):13.1f} {r.get('idle_ms', nan):8.1f} "
            f"{statistics.median(lat):11.1f} / {percentile(lat, 95):7.1f}")
    if "ratio" in r:
        line += f" {r['ratio']:10.3f} {r['app_rate']:9,.0f} {r['loop_rate']:10,.0f} {r['hz']:6.1f}"
        line += (f"   threads' CPU share: main {r['cpu_main']:.3f} worker {r['cpu_worker']:.3f} "
                 f"other {r['cpu_other']:.3f}")
    line += f"   first frame cpu {r.get('first_cpu', float('nan')):.2f} s, run ready {r.get('ready', float('nan')):.2f} s"
    print(line, flush=True)

if __name__ == "__main__":
    main()
