"""Repainting only what changed leaves the terminal exactly as a full repaint would.

The real `netstep` in a pseudo-terminal, read into a pyte screen: after steps that
repaint only changed lines (the loss plot's rows, the diagnostics' lines, the border row
with the step in it, the status line), the screen must equal what the app draws when it
repaints everything (after a resize there and back)."""

from __future__ import annotations

import fcntl
import os
import signal
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest

pyte = pytest.importorskip("pyte")

HANG_GUARD = 120.0  # seconds: so a broken build fails instead of hanging; not a speed check
QUIET = 0.6         # seconds without output: the app has drawn everything it had to


class Screen:
    def __init__(self, argv, cols, rows):
        self.cols, self.rows = cols, rows
        self.screen = pyte.Screen(cols, rows)
        self.stream = pyte.ByteStream(self.screen)
        self.master, slave = os.openpty()
        self._size(slave, cols, rows)
        # No COLUMNS/LINES: the app must take its size from the terminal (and its resizes).
        env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES", "TEXTUAL")}
        env["TERM"] = "xterm-256color"
        self.proc = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, env=env,
                                     start_new_session=True, close_fds=True)
        os.close(slave)

    @staticmethod
    def _size(fd, cols, rows):
        fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))

    def resize(self, cols, rows):
        self._size(self.master, cols, rows)
        self.screen.resize(rows, cols)
        os.killpg(self.proc.pid, signal.SIGWINCH)

    def settle(self, until=None):
        """Read until `until` (a text, or a test) is on screen, if given, and nothing came
        for QUIET seconds."""
        import select
        deadline = time.monotonic() + HANG_GUARD
        last = time.monotonic()
        while time.monotonic() < deadline:
            ready, _, _ = select.select([self.master], [], [], 0.05)
            if ready:
                try:
                    data = os.read(self.master, 1 << 16)
                except OSError:
                    data = b""
                if not data:
                    break
                self.stream.feed(data)
                last = time.monotonic()
            elif time.monotonic() - last > QUIET and self._holds(until):
                return
        assert self._holds(until), f"never saw {until!r}:\n{self.text()}"

    def _holds(self, until):
        return until is None or (until() if callable(until) else until in self.text())

    def text(self):
        return "\n".join(self.screen.display)

    def colours(self):
        return [[(c.fg, c.bg, c.bold) for c in (self.screen.buffer[y][x] for x in range(self.cols))]
                for y in range(self.rows)]

    def close(self):
        if self.proc.poll() is None:
            os.write(self.master, b"q")
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        os.close(self.master)


def _command():
    script = Path(sys.executable).with_name("netstep")
    if not script.exists():
        pytest.skip("the netstep console script is not installed (pip install -e .)")
    return [str(script)]


@pytest.mark.parametrize("preset", ["default", "digits"])
def test_steps_drawn_by_changed_lines_equal_a_full_repaint(preset):
    term = Screen(_command() + ["--preset", preset], 120, 40)
    try:
        term.settle("PAUSED")
        for n in range(1, 4):
            os.write(term.master, b" ")
            term.settle(f"step {n} ")
        partial, partial_colours = term.text(), term.colours()
        assert "step 3 ·" in partial          # the diagnostics' border row names the step
        term.resize(100, 40)
        term.settle()
        term.resize(120, 40)
        # The full repaint at 120x40 comes in pieces (a layout, then each panel's redraw): read
        # until it shows the same screen, or until the hang guard (a stale line never goes).
        term.settle(lambda: (term.text(), term.colours()) == (partial, partial_colours))
        assert term.text() == partial
        assert term.colours() == partial_colours
    finally:
        term.close()


def _read_for(term, seconds):
    import select
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        ready, _, _ = select.select([term.master], [], [], 0.05)
        if ready:
            term.stream.feed(os.read(term.master, 1 << 16))


def test_after_playing_with_panels_drawn_from_credit_the_screen_equals_a_full_repaint():
    """While playing, panels other than the status line draw only from the UI's CPU credit
    (tui/app.py); once paused, the screen must be exactly what a full repaint draws."""
    term = Screen(_command() + ["--preset", "default", "--epochs", "1000000000"], 120, 40)
    try:
        term.settle("PAUSED")
        os.write(term.master, b"p")
        _read_for(term, 1.5)                  # playing: never quiet, so no settle() here
        assert "PLAYING" in term.text()
        os.write(term.master, b"p")
        term.settle("PAUSED")
        partial, partial_colours = term.text(), term.colours()
        term.resize(100, 40)
        term.settle()
        term.resize(120, 40)
        term.settle(lambda: (term.text(), term.colours()) == (partial, partial_colours))
        assert term.text() == partial
        assert term.colours() == partial_colours
    finally:
        term.close()
