"""The classroom channel: two pipes between the server and one session's app, JSON lines.

The pty carries the screen and the keys; this carries what the classroom needs beside them.
Each session child gets NETSTEP_STATUS_FD (it writes: its lesson, step, check, steps; a
teacher's class view writes its requests: watch, send, keys) and NETSTEP_CONTROL_FD (it
reads: "watched by", what the teacher sent, the server's load; a teacher's view gets the
watched screen). Only the server holds the other ends, so no student can reach another's
session through it, and nothing is shared and writable between students.

`Channel` is the server's end (asyncio, non-blocking, bounded); `ChildEnd` the app's end (a
reader thread, writes that never block the app). Standard library only.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import threading

log = logging.getLogger("netstep.serve")

MAX_LINE = 256 << 10       # a longer line from a session is dropped, not buffered without end
MAX_PENDING = 4 << 20      # bytes queued to a session that does not read; beyond, messages are dropped


def open_pipes() -> tuple[int, int, int, int]:
    """(server reads, child writes, child reads, server writes); all close-on-exec until the
    spawn passes the child's two by number (Popen pass_fds)."""
    status_r, status_w = os.pipe()
    control_r, control_w = os.pipe()
    return status_r, status_w, control_r, control_w


def encode(message: dict) -> bytes:
    return json.dumps(message, separators=(",", ":")).encode() + b"\n"


def split_lines(buffer: bytearray, data: bytes) -> list[dict]:
    """Append `data` and take every whole JSON object line out of `buffer`; junk is skipped."""
    buffer += data
    out = []
    while True:
        at = buffer.find(b"\n")
        if at < 0:
            if len(buffer) > MAX_LINE:
                buffer.clear()
            return out
        line = bytes(buffer[:at])
        del buffer[:at + 1]
        if len(line) > MAX_LINE:
            continue
        try:
            message = json.loads(line)
        except ValueError:
            continue
        if isinstance(message, dict):
            out.append(message)


class Channel:
    """The server's end: messages from the child arrive as `on_message(dict)` calls."""

    def __init__(self, read_fd: int, write_fd: int, on_message):
        self.read_fd, self.write_fd = read_fd, write_fd
        self.on_message = on_message
        self._in = bytearray()
        self._out = bytearray()
        self._writing = False
        self.dropped = 0
        self._loop = asyncio.get_running_loop()
        os.set_blocking(read_fd, False)
        os.set_blocking(write_fd, False)
        self._loop.add_reader(read_fd, self._readable)

    @property
    def open(self) -> bool:
        return self.write_fd is not None

    def pending(self) -> int:
        return len(self._out)

    def _readable(self) -> None:
        try:
            data = os.read(self.read_fd, 65536)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            self._stop_reading()
            return
        for message in split_lines(self._in, data):
            try:
                self.on_message(message)
            except Exception:   # one bad message must not end the session or the server
                log.exception("classroom channel: message %r", message.get("kind"))

    def _stop_reading(self) -> None:
        if self.read_fd is not None:
            self._loop.remove_reader(self.read_fd)
            os.close(self.read_fd)
            self.read_fd = None

    def send(self, message: dict) -> bool:
        """Queue one message; False when it was dropped (the child is not reading)."""
        if self.write_fd is None:
            return False
        data = encode(message)
        if len(self._out) + len(data) > MAX_PENDING:
            self.dropped += 1
            return False
        self._out += data
        self._flush()
        return True

    def _flush(self) -> None:
        while self._out and self.write_fd is not None:
            try:
                n = os.write(self.write_fd, self._out)
            except BlockingIOError:
                break
            except OSError:     # the child is gone
                self._out.clear()
                break
            del self._out[:n]
        want = bool(self._out) and self.write_fd is not None
        if want and not self._writing:
            self._loop.add_writer(self.write_fd, self._flush)
            self._writing = True
        elif not want and self._writing:
            self._loop.remove_writer(self.write_fd)
            self._writing = False

    def close(self) -> None:
        # What the child wrote just before it ended still counts (its last status).
        while self.read_fd is not None:
            try:
                data = os.read(self.read_fd, 65536)
            except OSError:
                data = b""
            if not data:
                break
            for message in split_lines(self._in, data):
                try:
                    self.on_message(message)
                except Exception:
                    log.exception("classroom channel: message %r", message.get("kind"))
        self._stop_reading()
        if self.write_fd is not None:
            if self._writing:
                self._loop.remove_writer(self.write_fd)
                self._writing = False
            os.close(self.write_fd)
            self.write_fd = None


class ChildEnd:
    """The app's end, from NETSTEP_STATUS_FD / NETSTEP_CONTROL_FD (None when not served).

    A daemon thread reads the server's messages and hands each to `on_message` (which must
    be thread-safe: the app passes App.call_from_thread). Writes never block: a server that
    does not read costs the app a dropped status line, not a frozen screen.
    """

    def __init__(self, write_fd: int, read_fd: int):
        self.write_fd, self.read_fd = write_fd, read_fd
        os.set_inheritable(write_fd, False)   # the app's own subprocesses do not get them
        os.set_inheritable(read_fd, False)
        os.set_blocking(write_fd, False)
        self._lock = threading.Lock()
        self._thread = None

    @classmethod
    def from_env(cls, environ=None) -> "ChildEnd | None":
        environ = os.environ if environ is None else environ
        try:
            w, r = int(environ["NETSTEP_STATUS_FD"]), int(environ["NETSTEP_CONTROL_FD"])
            os.fstat(w)
            os.fstat(r)
        except (KeyError, ValueError, OSError):
            return None
        return cls(w, r)

    def send(self, message: dict) -> bool:
        data = encode(message)
        with self._lock:
            try:
                return os.write(self.write_fd, data) == len(data)
            except (BlockingIOError, OSError):
                return False

    def listen(self, on_message) -> None:
        def run():
            buffer = bytearray()
            while True:
                try:
                    data = os.read(self.read_fd, 65536)
                except InterruptedError:
                    continue
                except OSError:
                    return
                if not data:
                    return
                for message in split_lines(buffer, data):
                    try:
                        on_message(message)
                    except Exception:   # the app went away under us: stop quietly
                        return

        self._thread = threading.Thread(target=run, name="netstep-classroom", daemon=True)
        self._thread.start()
