"""End to end: the real `netstep` command in a pseudo-terminal, driven by keystrokes."""

from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import shutil
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest

HANG_GUARD = 120.0  # seconds: so a broken build fails instead of hanging; not a speed check
ANSI = re.compile(rb"\x1b\[[0-9;?<>=]*[ -/]*[@-~]|\x1b[()][0-9A-Za-z]|\x1b[=>78]|\x1b\][^\x07]*\x07")


def _command():
    script = Path(sys.executable).with_name("netstep")
    if script.exists():
        return [str(script)]
    found = shutil.which("netstep")
    if found:
        return [found]
    pytest.skip("the netstep console script is not installed (pip install -e .)")


class Terminal:
    """A child process on a pty of a fixed size, with everything it wrote."""

    def __init__(self, argv, cols=120, rows=40):
        self.master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        env = dict(os.environ, TERM="xterm-256color", COLUMNS=str(cols), LINES=str(rows))
        env.pop("TEXTUAL", None)
        self.proc = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, env=env,
                                     start_new_session=True, close_fds=True)
        os.close(slave)
        self.raw = b""

    def _read(self, timeout):
        ready, _, _ = select.select([self.master], [], [], timeout)
        if ready:
            try:
                data = os.read(self.master, 65536)
            except OSError:  # the child closed the pty
                return False
            self.raw += data
            return bool(data)
        return True

    def text(self) -> str:
        return ANSI.sub(b"", self.raw).decode("utf-8", "replace")

    def expect(self, pattern):
        deadline = time.monotonic() + HANG_GUARD
        while not re.search(pattern, self.text()):
            if time.monotonic() > deadline or not self._read(0.1) and self.proc.poll() is not None:
                raise AssertionError(f"never saw {pattern!r}; the screen said: {self.text()[-2000:]!r}")

    def send(self, data: bytes):
        os.write(self.master, data)

    def wait(self):
        deadline = time.monotonic() + HANG_GUARD
        while self.proc.poll() is None and time.monotonic() < deadline:
            self._read(0.1)
        return self.proc.wait(timeout=1)

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        os.close(self.master)


def test_netstep_in_a_terminal_steps_and_quits_cleanly():
    term = Terminal(_command())
    try:
        term.expect(r"Weights & gradients")
        term.expect(r"PAUSED")
        term.expect(r"step\s+0\b")
        term.send(b" ")
        term.expect(r"step\s+1\b")      # the status line after one cycle
        term.expect(r"dW1 \(2, 4\)\s+±")  # the gradient heatmap has a scale: there is a gradient
        term.send(b"q")
        assert term.wait() == 0
    finally:
        term.close()


def test_a_bad_flag_exits_2_with_one_line_before_any_screen():
    result = subprocess.run(_command() + ["--lr", "-1"], capture_output=True, text=True, timeout=HANG_GUARD)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "lr" in result.stderr
    assert "Traceback" not in result.stderr
