"""Files the app opens on a user's behalf: regular files only, bounded, optionally confined.

Every path a user names (a config, a CSV, a saved run to load; a file to save or export)
goes through `open_user_file` or `write_user_file`:

- FIFOs, devices, sockets and directories are refused with one line. The path is opened
  with O_NONBLOCK (so a FIFO cannot block the open) and checked with fstat on the open
  descriptor, so a file swapped in between a check and the open is still caught.
- A file larger than `max_bytes` is refused before a byte of it is read.
- When NETSTEP_CONFINE_DIR is set (netstep serve sets it for each session to the
  student's folder), a path that resolves outside that folder is refused.
- Writes go to a temporary file beside the target, renamed into place; names ending in
  .py (they would shadow the app's own modules) or naming progress.sqlite3 are refused.
"""

from __future__ import annotations

import os
import stat
import tempfile

from .errors import NetstepError

CONFINE_ENV = "NETSTEP_CONFINE_DIR"
# The app's progress database, and anything Python could run: never a name the app writes for a
# user (tui/datadir.py holds the same two lists for the served paths; a test keeps them equal).
RESERVED_NAMES = ("progress.sqlite3", "progress.sqlite3-journal", "progress.sqlite3-wal", "progress.sqlite3-shm")
RESERVED_SUFFIXES = (".py", ".pyc", ".pth", ".so")


class UnsafeFileError(NetstepError):
    """A path the app will not open for the user: what it is and what is expected."""


def _kind(mode: int) -> str | None:
    """What a non-regular file is, in words; None for a regular file."""
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def confine_dir() -> str | None:
    folder = os.environ.get(CONFINE_ENV, "").strip()
    return os.path.realpath(folder) if folder else None


def _confined(path: str, purpose: str) -> str:
    """The path, resolved; UnsafeFileError when it leaves NETSTEP_CONFINE_DIR."""
    folder = confine_dir()
    if folder is None:
        return path
    full = os.path.realpath(os.path.join(folder, path))
    if full != folder and not full.startswith(folder.rstrip(os.sep) + os.sep):
        raise UnsafeFileError(f"{purpose} {path}: only files inside your own folder can be used")
    return full


def _size(n: int) -> str:
    from .limits import human

    return human(n)


def open_user_file(path, max_bytes: int, purpose: str = "file"):
    """A binary file object for reading `path`: a regular file of at most max_bytes.

    `purpose` names the file in messages ("config file", "csv file", "saved run").
    Raises UnsafeFileError (a NetstepError) with one line naming what is wrong.
    """
    path = os.fspath(path)
    real = _confined(path, purpose)
    try:
        before = os.stat(real)
    except FileNotFoundError:
        raise UnsafeFileError(f"cannot read {purpose} {path}: not found") from None
    except OSError as e:
        raise UnsafeFileError(f"cannot read {purpose} {path}: {e.strerror or e}") from None
    kind = _kind(before.st_mode)
    if kind:
        raise UnsafeFileError(f"cannot read {purpose} {path}: it is {kind}; expected a regular file")
    try:
        fd = os.open(real, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0))
    except OSError as e:
        raise UnsafeFileError(f"cannot read {purpose} {path}: {e.strerror or e}") from None
    try:
        st = os.fstat(fd)
        kind = _kind(st.st_mode)
        if kind:
            raise UnsafeFileError(f"cannot read {purpose} {path}: it is {kind}; expected a regular file")
        if st.st_size > max_bytes:
            raise UnsafeFileError(f"{purpose} {path} is {_size(st.st_size)}; at most {_size(max_bytes)} is read")
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def read_user_file(path, max_bytes: int, purpose: str = "file") -> bytes:
    """The whole content of a regular file of at most max_bytes (it may not grow while read)."""
    with open_user_file(path, max_bytes, purpose) as f:
        data = f.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise UnsafeFileError(f"{purpose} {path} grew past {_size(max_bytes)} while it was read")
    return data


def check_write_target(path, purpose: str = "file", code: bool = False) -> str:
    """The path to write (resolved when confined); UnsafeFileError for names the app must not write.

    `code=True` is for a script the user asked for by name (`netstep export-code -o net.py`):
    a .py name is the point there, so only the progress database stays refused."""
    path = os.fspath(path)
    base = os.path.basename(path)
    if not base:
        raise UnsafeFileError(f"{purpose} {path!r} names a folder; expected a file name")
    suffix = next((x for x in RESERVED_SUFFIXES if base.lower().endswith(x)), None)
    if suffix and not (code and suffix == ".py"):
        raise UnsafeFileError(f"{purpose} {path}: a name ending in {suffix} could be run as Python code; "
                              f"choose another name")
    if base.lower() in RESERVED_NAMES:
        raise UnsafeFileError(f"{purpose} {path}: {base} holds your progress; choose another name")
    real = _confined(path, purpose)
    try:
        st = os.stat(real)
    except FileNotFoundError:
        return real
    except OSError as e:
        raise UnsafeFileError(f"cannot write {purpose} {path}: {e.strerror or e}") from None
    kind = _kind(st.st_mode)
    if kind:
        raise UnsafeFileError(f"{purpose} {path} is {kind}; expected a regular file to write")
    return real


def replace_atomically(path, write, private: bool = False, durable: bool = True, prefix: str = ".netstep-",
                       what: str | None = None) -> None:
    """Call write(fileobj) on a temp file beside `path`, then rename it over `path`.

    A reader (or a crash) sees the old file or the new one, never half of one. private: the
    file stays owner-only (mkstemp's 0600) instead of taking the mode an ordinary open() would;
    durable: fsync before the rename (skip it for files rewritten every second, such as
    a session's status). No checks on `path`: for user-chosen names, write_user_file (whose
    `what`, e.g. "run net.npz", turns a folder that cannot take the temp file into one
    UnsafeFileError line)."""
    try:
        fd, tmp = tempfile.mkstemp(prefix=prefix, suffix=".tmp", dir=os.path.dirname(os.path.abspath(path)))
    except OSError as e:
        if what is None:
            raise
        raise UnsafeFileError(f"cannot write {what}: {e.strerror or e}") from None
    try:
        if not private:
            umask = os.umask(0)
            os.umask(umask)
            os.fchmod(fd, 0o666 & ~umask)
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            if durable:
                os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def write_user_file(path, write, purpose: str = "file", code: bool = False) -> str:
    """Call write(fileobj) on a temp file beside `path`, then rename it into place.

    A crash mid-write leaves the old file (or none), never half a file. Returns the path written.
    """
    real = check_write_target(path, purpose, code)
    replace_atomically(real, write, what=f"{purpose} {path}")
    return real


def write_user_text(path, text: str, purpose: str = "file") -> str:
    return write_user_file(path, lambda f: f.write(text.encode("utf-8")), purpose)


__all__ = ["CONFINE_ENV", "UnsafeFileError", "open_user_file", "read_user_file", "check_write_target",
           "write_user_file", "write_user_text", "replace_atomically", "confine_dir"]
