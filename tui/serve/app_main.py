"""What a `netstep serve` session runs: the netstep app, its errors kept for the server's log.

`python -P -s -m tui.serve.app_main [ARGS]` runs `netstep ARGS` with the student's terminal
as usual, but with Python's stderr going to NETSTEP_ERROR_FD, a pipe the server reads and
logs. A crash (an uncaught exception, or a traceback Textual printed on its way out) never
reaches the student's screen, where it would show the server's paths: the session ends with
status CRASH_STATUS and the server shows one line. Short messages of a failed command (a
lesson id that does not exist) still reach the student. The app draws on the terminal
through sys.__stderr__, which stays the terminal.

`--script PATH ARGS` runs a script instead of the app (the tests' stand-in);
`--class-view DATA` runs a teacher's class view (tui/classroom/app.py) on the server's data folder.
"""

from __future__ import annotations

import io
import os
import runpy
import sys
import traceback

CRASH_STATUS = 70   # a session's app ended by an uncaught error (EX_SOFTWARE)
KEEP = 16 << 10


class _Capture(io.TextIOBase):
    """stderr for the app: every write goes to the server's pipe; the tail is kept."""

    def __init__(self, fd: int):
        self.pipe = None
        if fd >= 0:
            try:
                os.set_inheritable(fd, False)    # the app's own subprocesses do not get it
                self.pipe = os.fdopen(fd, "w", buffering=1, encoding="utf-8", errors="replace")
            except OSError:
                pass
        self.kept = ""

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        if self.pipe is not None:
            try:
                self.pipe.write(text)
            except (OSError, ValueError):
                self.pipe = None
        self.kept = (self.kept + text)[-KEEP:]
        return len(text)

    def flush(self) -> None:
        if self.pipe is not None:
            try:
                self.pipe.flush()
            except (OSError, ValueError):
                self.pipe = None

    def isatty(self) -> bool:
        return False


def _run(argv: list[str]) -> int:
    if argv[:1] == ["--script"]:
        sys.argv = argv[1:]
        runpy.run_path(argv[1], run_name="__main__")
        return 0
    if argv[:1] == ["--class-view"] and len(argv) == 2:
        from tui.classroom.app import main as class_view

        return class_view(argv[1])
    from tui.cli import main

    return main(argv)


def main() -> int:
    try:
        fd = int(os.environ.pop("NETSTEP_ERROR_FD", "-1"))
    except ValueError:
        fd = -1
    terminal = sys.stderr
    capture = sys.stderr = _Capture(fd)
    try:
        status = _run(sys.argv[1:])
    except SystemExit as e:
        status = e.code
        if isinstance(status, str):
            print(status, file=capture)
            status = 1
    except BaseException:   # a crash, KeyboardInterrupt included: the log gets the traceback
        traceback.print_exc(file=capture)
        status = CRASH_STATUS
    finally:
        capture.flush()
        sys.stderr = terminal
    status = status or 0
    if "Traceback (most recent call last)" in capture.kept:
        status = CRASH_STATUS   # Textual prints a crash and returns normally: it is still a crash
    elif status and capture.kept.strip() and len(capture.kept) < 2000:
        terminal.write(capture.kept.replace("\n", "\r\n"))   # a short message from the app, for the student
        terminal.flush()
    return status


if __name__ == "__main__":
    sys.exit(main())
