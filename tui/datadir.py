"""Where netstep keeps a user's files (lesson progress, saved runs, the server's host key).

One rule for every part of the app: $NETSTEP_DATA_DIR if set, else $XDG_DATA_HOME/netstep,
else ~/.local/share/netstep. `netstep serve` sets NETSTEP_DATA_DIR in each session's
child to that user's own folder, so the app needs no idea of "served" or "local".
Standard library only: the progress store and the SSH server both import it.
"""

from __future__ import annotations

import os
import re
import unicodedata
from pathlib import Path

_UNSAFE = re.compile(r"[^\w.-]+")  # \w: letters and digits of any script, and '_' 


def data_root() -> Path:
    explicit = os.environ.get("NETSTEP_DATA_DIR")
    if explicit:
        return Path(explicit).expanduser()
    xdg = os.environ.get("XDG_DATA_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".local" / "share"
    return base / "netstep"


def safe_name(text: str | None, fallback: str = "user", limit: int = 48) -> str:
    """`text` as one harmless path component: letters, digits, '_', '-' and inner dots.

    No separators, no leading dot (so never '.', '..' or a hidden name), at most `limit`
    characters; `fallback` when nothing is left.
    """
    text = unicodedata.normalize("NFC", text or "")
    name = _UNSAFE.sub("-", text).strip(".-")[:limit].strip(".-")
    return name or fallback


def inside(root: Path, name: str) -> Path:
    """root/safe_name(name), checked to resolve inside root (symlinks included)."""
    root = Path(root)
    path = root / safe_name(name)
    real_root = os.path.realpath(root)
    if os.path.commonpath([real_root, os.path.realpath(path)]) != real_root or \
            os.path.realpath(path) == real_root:
        raise ValueError(f"{name!r} does not name a folder inside {root}")
    return path


def served() -> bool:
    """True inside a `netstep serve` session (the server sets NETSTEP_SERVED)."""
    return bool(os.environ.get("NETSTEP_SERVED"))


def confine(text: str) -> Path:
    """The file a path typed in the app names; inside a served session, only in the user's folder.

    Locally any path is the user's business. Served, a relative path is taken from the
    user's folder (NETSTEP_DATA_DIR) and anything resolving outside it ('..', an absolute
    path, a symlink), or named like code or the progress database (see `reserved`), raises
    ValueError with a line to show the student.
    """
    path = Path(text.strip()).expanduser()
    if not served():
        return path
    root = os.path.realpath(data_root())
    real = os.path.realpath(path if path.is_absolute() else Path(root) / path)
    if os.path.commonpath([root, real]) != root or real == root:
        raise ValueError("files live in your own folder here: type a plain name such as run.npz")
    refused = reserved(real)
    if refused:
        raise ValueError(refused)
    return Path(real)


# The app's own progress database, and anything Python could run: never a user's file name.
_RESERVED_NAMES = ("progress.sqlite3", "progress.sqlite3-journal", "progress.sqlite3-wal", "progress.sqlite3-shm")
_RESERVED_SUFFIXES = (".py", ".pyc", ".pth", ".so")


def reserved(path) -> str | None:
    """Why `path` may not be written (or read) as a user's file, or None when it may."""
    name = os.path.basename(str(path)).lower()
    if name in _RESERVED_NAMES:
        return "that is where netstep keeps your progress: choose another name"
    if name.endswith(_RESERVED_SUFFIXES):
        suffix = "." + name.rsplit(".", 1)[1]
        return f"names ending in {suffix} are not allowed: use .npz, .csv or .json"
    return None
