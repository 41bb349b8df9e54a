"""One session's app: a process group on its own pseudo-terminal, and the bytes in and out.

The child leads its own session and process group with the pty as controlling terminal (so
SIGWINCH and SIGHUP reach it), and its whole group is hung up, then killed, when the session
ends. Keyboard input passes an InputGate (a paste flood cannot grow the app without bound);
what the app writes to its error pipe (tracebacks, see app_main.py) comes back to the
server's log, never to the student's screen.
"""

from __future__ import annotations

import asyncio
import fcntl
import os
import signal
import struct
import subprocess
import termios
import time

from tui.serve.app_main import CRASH_STATUS
from tui.serve.config import INPUT_BURST, INPUT_RATE

ERROR_KEEP = 16 << 10        # bytes of a child's error output kept for the log (the tail)
PASTE_START, PASTE_END = b"\x1b[200~", b"\x1b[201~"


class InputGate:
    """A token bucket over one session's keyboard input.

    Up to `burst` bytes pass at once, refilled at `rate` bytes a second; input beyond that is
    dropped (a person typing, or pasting a page, never comes near it; an 8 MB paste does).
    When a bracketed paste is cut short, its end marker still passes, or the app would take
    every later key as part of the paste.
    """

    def __init__(self, burst: int = INPUT_BURST, rate: int = INPUT_RATE, clock=time.monotonic):
        self.burst, self.rate, self.clock = burst, rate, clock
        self.tokens = float(burst)
        self.stamp = clock()
        self.dropped = 0            # bytes dropped in all
        self.in_paste = False       # a paste start passed and its end has not
        self._tail = b""            # the last dropped bytes: a marker may span two packets

    def admit(self, data: bytes) -> bytes:
        now = self.clock()
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        head = b""
        if self._tail:
            # The end of a paste cut across the last dropped packet and this one.
            window = self._tail + data
            at = window.find(PASTE_END)
            if 0 <= at < len(self._tail):
                data = window[at + len(PASTE_END):]
                if self.in_paste:
                    head, self.in_paste = PASTE_END, False
            self._tail = b""
        keep = min(len(data), int(self.tokens))
        if keep < len(data):
            escape = data.rfind(b"\x1b", max(0, keep - 8), keep)
            if escape >= 0:
                keep = escape          # never hand the app half an escape sequence
        passed, dropped = data[:keep], data[keep:]
        self.tokens -= len(passed)
        self._track(passed)
        if dropped:
            self.dropped += len(dropped)
            if PASTE_END in dropped and self.in_paste:
                passed += PASTE_END
                self.in_paste = False
            self._tail = dropped[-(len(PASTE_END) - 1):]
        return head + passed

    def _track(self, passed: bytes) -> None:
        start, end = passed.rfind(PASTE_START), passed.rfind(PASTE_END)
        if start > end:
            self.in_paste = True
        elif end > start:
            self.in_paste = False


def _set_winsize(fd: int, cols: int, rows: int) -> None:
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))


def _raw_input(fd: int) -> None:
    """Raw input from the start, output processing kept (a traceback still reads right).

    Keys a student types while the app is still starting wait, unechoed, for the app;
    Ctrl-C and Ctrl-S reach the app as keys instead of killing it or freezing the output.
    """
    attrs = termios.tcgetattr(fd)
    attrs[0] &= ~(termios.BRKINT | termios.ICRNL | termios.INLCR | termios.IGNCR | termios.INPCK |
                  termios.ISTRIP | termios.IXON | termios.IXOFF)
    attrs[3] &= ~(termios.ECHO | termios.ECHONL | termios.ICANON | termios.IEXTEN | termios.ISIG)
    attrs[6][termios.VMIN], attrs[6][termios.VTIME] = 1, 0
    termios.tcsetattr(fd, termios.TCSANOW, attrs)


def _clamp_size(cols: int, rows: int) -> tuple[int, int]:
    cols = cols if 0 < cols <= 1000 else 80
    rows = rows if 0 < rows <= 1000 else 24
    return cols, rows


class Child:
    """One process group on one pseudo-terminal; output and exit arrive as callbacks."""

    def __init__(self, env, cwd, size, on_output, on_exit, on_input_drained, gate: InputGate | None = None,
                 on_message=None):
        self.env, self.cwd = env, cwd
        # The classroom channel (tui/serve/channel.py): two pipes beside the pty, JSON lines.
        self.on_message = on_message
        self.channel = None
        self.argv = None
        self.tty = None
        self.gate = gate or InputGate()
        self.errors = bytearray()   # the tail of what the app wrote to its error pipe
        self._errors_fd = None
        self.size = _clamp_size(*size)
        self.on_output, self.on_exit, self.on_input_drained = on_output, on_exit, on_input_drained
        self.pid = None
        self.returncode = None
        self.master = None
        self._pidfd = None
        self._proc = None
        self._inbuf = bytearray()
        self._reading = False
        self._writing = False
        self._kill_timer = None
        self._loop = asyncio.get_running_loop()

    @property
    def running(self) -> bool:
        return self.pid is not None and self.returncode is None

    def start(self, make_argv) -> None:
        """Open the pty, then run `make_argv(tty path, error fd)` on it."""
        master, slave = os.openpty()  # both non-inheritable: other sessions' children never hold them
        errors_r, errors_w = os.pipe()
        ends = None
        if self.on_message is not None:
            from tui.serve.channel import open_pipes

            ends = open_pipes()   # (ours to read, theirs to write, theirs to read, ours to write)
        try:
            self.tty = os.ttyname(slave)
            _set_winsize(slave, *self.size)
            _raw_input(slave)
            self.argv = make_argv(self.tty, errors_w)   # (it may add to self.env)
            if ends:
                self.env = dict(self.env, NETSTEP_STATUS_FD=str(ends[1]), NETSTEP_CONTROL_FD=str(ends[2]))
            self._proc = subprocess.Popen(self.argv, stdin=slave, stdout=slave, stderr=slave, cwd=self.cwd,
                                          env=self.env, start_new_session=True, close_fds=True,
                                          pass_fds=(errors_w,) + (ends[1:3] if ends else ()))
        except BaseException:
            os.close(master)
            os.close(errors_r)
            if ends:
                os.close(ends[0])
                os.close(ends[3])
            raise
        finally:
            os.close(slave)  # else reading the master never reports the child's end
            os.close(errors_w)
            if ends:
                os.close(ends[1])
                os.close(ends[2])
        if ends:
            from tui.serve.channel import Channel

            self.channel = Channel(ends[0], ends[3], self.on_message)
        self.pid = self._proc.pid
        self.master = master
        self._errors_fd = errors_r
        try:
            os.set_blocking(master, False)
            os.set_blocking(errors_r, False)
            self._loop.add_reader(errors_r, self._read_errors)
            self._pidfd = os.pidfd_open(self.pid)
            self._loop.add_reader(self._pidfd, self._exited)
        except BaseException:   # never leave a child nobody watches
            self._signal_group(signal.SIGKILL)
            self._proc.wait()
            os.close(master)
            self._close_errors()
            self.master = None
            raise
        self.resume_output()

    def _read_errors(self) -> None:
        try:
            data = os.read(self._errors_fd, 65536)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            self._close_errors()
            return
        self.errors += data
        del self.errors[:-ERROR_KEEP]

    def _close_errors(self) -> None:
        if self._errors_fd is not None:
            self._loop.remove_reader(self._errors_fd)
            os.close(self._errors_fd)
            self._errors_fd = None

    # -- bytes in and out

    def pause_output(self) -> None:
        if self._reading:
            self._loop.remove_reader(self.master)
            self._reading = False

    def resume_output(self) -> None:
        if not self._reading and self.master is not None and self.returncode is None:
            self._loop.add_reader(self.master, self._readable)
            self._reading = True

    def _readable(self) -> None:
        try:
            data = os.read(self.master, 65536)
        except BlockingIOError:
            return
        except OSError:      # EIO: every slave fd is closed; the exit arrives on the pidfd
            data = b""
        if not data:
            self.pause_output()
            return
        self.on_output(data)

    def write(self, data: bytes) -> int:
        """Queue keystrokes for the child; returns how many bytes are still waiting."""
        if self.master is None or self.returncode is not None:
            return 0
        self._inbuf += self.gate.admit(data)
        self._flush()
        return len(self._inbuf)

    def _flush(self) -> None:
        while self._inbuf and self.master is not None:
            try:
                n = os.write(self.master, self._inbuf)
            except BlockingIOError:
                break
            except OSError:
                self._inbuf.clear()
                break
            del self._inbuf[:n]
        want = bool(self._inbuf) and self.master is not None
        if want and not self._writing:
            self._loop.add_writer(self.master, self._flush)
            self._writing = True
        elif not want and self._writing:
            self._loop.remove_writer(self.master)
            self._writing = False
            self.on_input_drained()

    def resize(self, cols: int, rows: int) -> None:
        self.size = _clamp_size(cols, rows)
        if self.master is not None and self.returncode is None:
            # The kernel sends SIGWINCH to the terminal's foreground group when the size changes.
            _set_winsize(self.master, *self.size)

    # -- ending

    def _signal_group(self, sig) -> None:
        try:
            os.killpg(self.pid, sig)
        except (ProcessLookupError, PermissionError):
            pass

    def terminate(self, grace: float) -> None:
        """Hang up the whole group; whatever is left after `grace` seconds is killed."""
        if not self.running or self._kill_timer is not None:
            return
        self._signal_group(signal.SIGHUP)
        self._signal_group(signal.SIGCONT)  # a stopped process must wake to see the hang-up
        self._kill_timer = self._loop.call_later(grace, self.kill)

    def kill(self) -> None:
        if self.running:
            self._signal_group(signal.SIGKILL)

    def _exited(self) -> None:
        self._loop.remove_reader(self._pidfd)
        os.close(self._pidfd)
        # The group leader is a zombie until reaped, so its group id cannot be reused yet:
        # anything it left behind in the group goes now.
        self._signal_group(signal.SIGKILL)
        self.returncode = self._proc.wait()
        if self._kill_timer is not None:
            self._kill_timer.cancel()
        if self._reading:   # what the app wrote just before it ended
            for _ in range(64):
                try:
                    data = os.read(self.master, 65536)
                except OSError:
                    break
                if not data:
                    break
                self.on_output(data)
        self.pause_output()
        if self._writing:
            self._loop.remove_writer(self.master)
            self._writing = False
        os.close(self.master)
        self.master = None
        for _ in range(64):      # the app's last error lines (its pipe closed as it ended)
            if self._errors_fd is None:
                break
            self._read_errors()
        self._close_errors()
        if self.channel is not None:
            self.channel.close()
        self.on_exit(self.returncode)


def describe_exit(returncode: int, cpu_limit: int) -> tuple[str, str | None]:
    """(reason for the log, line for the student or None) for a child's exit status."""
    if returncode == 0:
        return "app exited", None
    if returncode == CRASH_STATUS:
        return ("app crashed", "netstep: the app hit an error and stopped; the details are in the server's "
                "log for your instructor. Reconnect to start again.")
    if returncode > 0:
        return f"app exited with status {returncode}", f"netstep: the app stopped (status {returncode})."
    sig = -returncode
    try:
        name = signal.Signals(sig).name
    except ValueError:
        name = f"signal {sig}"
    if sig == signal.SIGXCPU:
        return (f"CPU time limit ({cpu_limit} s) reached",
                f"netstep: this session used up its CPU time ({cpu_limit} s) and was stopped; "
                "reconnect for a fresh one.")
    return f"app ended by {name}", f"netstep: the app ended unexpectedly ({name}); reconnect to start again."


