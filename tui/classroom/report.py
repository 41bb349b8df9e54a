"""Every student's lesson progress, read from their folders without a server running.

`netstep serve` gives each student a folder `DATA/users/<name>/` with their own
`progress.sqlite3` (tui/store.py). This module opens each one read-only (SQLite's
`mode=ro`, so a report taken while the class is working never writes, locks or
migrates a student's database) and reduces it to one row per student: the lessons
finished, where they are now and when they were last seen. What a running server
publishes per session (DATA/classroom/status/<name>.json, tui/serve/hub.py) is read too:
whether the student is connected now, the lesson step on their screen (which the store
only records when a step is entered) and their last keypress, which counts as seen.

Standard library only: `netstep class report` runs on a machine without Textual.
"""

from __future__ import annotations

import csv
import io
import os
import sqlite3
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from tui.store import FILENAME

COLUMNS = ("name", "lessons_done", "lesson", "step", "steps", "checks_met", "last_seen", "error", "connected")
STALE_AFTER = 15.0    # a "connected" status the server has not rewritten for this long is from a server gone


@dataclass
class StudentRow:
    name: str
    lessons_done: int = 0
    lesson: str | None = None        # the lesson worked on most recently (None: not started)
    step: int | None = None          # 1-based step the student is on in that lesson
    steps: int | None = None         # how many steps that lesson has (None when unknown)
    checks_met: int = 0              # steps whose checks held, over every lesson
    last_seen: str | None = None     # ISO 8601 UTC of the latest progress write
    error: str | None = None         # why this student's store could not be read
    connected: bool = False          # in a session now (from the server's status file)
    done: list = field(default_factory=list)   # ids of finished lessons

    def to_dict(self) -> dict:
        return asdict(self)


def _iso(ts) -> str | None:
    if ts is None:
        return None
    return datetime.fromtimestamp(float(ts), tz=timezone.utc).isoformat(timespec="seconds")


def _read(path: Path, name: str, steps_of: dict) -> StudentRow:
    row = StudentRow(name)
    uri = Path(path).resolve().as_uri() + "?mode=ro"
    try:
        db = sqlite3.connect(uri, uri=True, timeout=2.0)
    except sqlite3.Error as e:
        row.error = f"cannot open {FILENAME}: {e}"
        return row
    try:
        progress = db.execute("SELECT lesson_id, step, done, updated_at FROM progress").fetchall()
        try:
            row.checks_met = int(db.execute("SELECT COUNT(*) FROM step_checks").fetchone()[0])
        except sqlite3.OperationalError:  # schema version 1: no ticks yet
            row.checks_met = 0
    except sqlite3.DatabaseError as e:
        row.error = f"{FILENAME} is unreadable: {e}"
        return row
    finally:
        db.close()
    if not progress:
        return row
    row.done = sorted(lesson for lesson, _, done, _ in progress if done)
    row.lessons_done = len(row.done)
    lesson, step, done, at = max(progress, key=lambda r: r[3] or 0)
    row.lesson, row.step, row.steps = lesson, int(step) + 1, steps_of.get(lesson)
    row.last_seen = _iso(max(r[3] or 0 for r in progress))
    return row


def students(data: Path) -> list[tuple[str, Path]]:
    """(name, store path) for each student folder under DATA/users (or DATA itself)."""
    data = Path(data)
    base = data / "users" if (data / "users").is_dir() else data
    out = []
    for entry in sorted(os.scandir(base), key=lambda e: e.name):
        if entry.is_dir(follow_symlinks=False) and not entry.name.startswith("."):
            out.append((entry.name, Path(entry.path) / FILENAME))
    return out


def report(data, steps_of: dict | None = None) -> list[StudentRow]:
    """One row per student folder, sorted by name. A folder without a store is a student
    who has not opened a lesson yet (zero everywhere), not an error."""
    data = Path(data)
    if not data.is_dir():
        raise FileNotFoundError(f"{data} is not a folder (give the folder `netstep serve` keeps, its --data)")
    rows = []
    for name, path in students(data):
        row = _read(path, name, steps_of or {}) if path.is_file() else StudentRow(name)
        _published(row, data / "classroom" / "status" / f"{name}.json")
        rows.append(row)
    return rows


def _published(row: StudentRow, path: Path) -> None:
    """Merge what the server publishes for this student's session, when there is one."""
    import json
    import time

    try:
        status = json.loads(path.read_text())
    except (OSError, ValueError):
        return
    if not isinstance(status, dict):
        return
    updated = float(status.get("updated") or 0)
    row.connected = bool(status.get("connected")) and time.time() - updated < STALE_AFTER
    seen = max(float(status.get("last_key_at") or 0), updated if row.connected else 0)
    if seen and (row.last_seen is None or _iso(seen) > row.last_seen):
        row.last_seen = _iso(seen)
    if row.connected and status.get("lesson") and status.get("step"):
        row.lesson, row.step = status["lesson"], int(status["step"])
        row.steps = status.get("steps") or row.steps


def to_csv(rows) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(COLUMNS)
    for r in rows:
        d = r.to_dict()
        writer.writerow(["" if d[c] is None else d[c] for c in COLUMNS])
    return buf.getvalue()


def to_table(rows) -> str:
    head = ("NAME", "DONE", "LESSON", "STEP", "LAST SEEN (UTC)")
    body = []
    for r in rows:
        step = "" if r.step is None else (f"{r.step}/{r.steps}" if r.steps else str(r.step))
        seen = "" if r.last_seen is None else r.last_seen.replace("T", " ").replace("+00:00", "")
        body.append((r.name, str(r.lessons_done), r.lesson or "(not started)" if not r.error else f"! {r.error}",
                     step, seen))
    widths = [max(len(x) for x in col) for col in zip(head, *body)] if body else [len(h) for h in head]
    lines = ["  ".join(c.ljust(w) for c, w in zip(line, widths)).rstrip() for line in [head, *body]]
    return "\n".join(lines) + "\n"
