"""What the class view shows, read in one place: `load_class(DATA)`.

Two sources, both read-only: each student's progress store (tui/classroom/report.py, which
opens it with SQLite's mode=ro), and the status the server writes for each session under
DATA/classroom/status/<name>.json (tui/serve/hub.py: connected since, lesson and step, how
long on it, whether its check holds, steps trained, last key, who watches) plus
DATA/classroom/server.json (the machine's load). Students known to the server are the
folders under DATA/users and the status files, connected or not.

No Textual here: the class view calls this once a second, and the tests call it without SSH.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from tui.classroom.report import StudentRow, _read, students
from tui.store import FILENAME

STUCK_AFTER = 300.0     # seconds on one step, its check not met, before a student counts as stuck
STALE_AFTER = 15.0      # a "connected" status not rewritten for this long is from a server gone


@dataclass
class Row:
    name: str
    connected: bool = False
    since: float | None = None          # connected since (epoch seconds)
    lesson: str | None = None
    title: str | None = None
    step: int | None = None             # 1-based
    steps: int | None = None
    on_step: float | None = None        # seconds on this step (connected only)
    check: bool | None = None           # the step's check holds now (None: no check / not in a lesson)
    trained: int | None = None          # steps trained in the run on screen
    last_key: str | None = None
    last_key_ago: float | None = None
    watched_by: list = field(default_factory=list)
    playing: bool = False
    lessons_done: int = 0
    done: list = field(default_factory=list)
    error: str | None = None

    @property
    def waiting(self) -> float:
        """Seconds on a lesson step whose check is not met (0 on the dashboard, or once it is met)."""
        if not self.connected or self.lesson is None or self.check is True:
            return 0.0
        return self.on_step or 0.0

    @property
    def stuck(self) -> bool:
        return self.waiting >= STUCK_AFTER


@dataclass
class ClassState:
    rows: list
    connected: int
    stuck: int
    finished: dict            # lesson id -> students who finished it
    load: float | None        # the machine's busy CPU share (0..1), None when unknown
    busy: bool
    sessions: int
    cores: int | None
    taken_at: float

    def summary(self) -> str:
        parts = [f"{self.connected} of {len(self.rows)} connected", f"{self.stuck} stuck over {STUCK_AFTER / 60:g} min"]
        if self.finished:
            parts.append("finished: " + ", ".join(f"{k} {v}" for k, v in sorted(self.finished.items())))
        return " · ".join(parts)

    def load_text(self) -> str:
        if self.load is None:
            return "server load: unknown"
        cores = f" of {self.cores} cores" if self.cores else ""
        note = " · busy: playing sessions draw less often" if self.busy else ""
        return f"server load {self.load * 100:.0f}%{cores} · {self.sessions} sessions{note}"


class _StoreCache:
    """Each store read again only when its file (or its WAL) changed."""

    def __init__(self):
        self._rows: dict[Path, tuple] = {}

    def read(self, path: Path, name: str, steps_of: dict) -> StudentRow:
        stamp = []
        for p in (path, path.with_name(path.name + "-wal")):
            try:
                st = os.stat(p)
                stamp.append((st.st_mtime_ns, st.st_size))
            except OSError:
                stamp.append(None)
        if stamp[0] is None:
            return StudentRow(name)
        cached = self._rows.get(path)
        if cached is not None and cached[0] == stamp:
            return cached[1]
        row = _read(path, name, steps_of)
        self._rows[path] = (stamp, row)
        return row


_cache = _StoreCache()


def _json(path: Path):
    try:
        with open(path) as f:
            data = json.load(f)
        return data if isinstance(data, dict) else None
    except (OSError, ValueError):
        return None


def load_class(data, steps_of: dict | None = None, now: float | None = None, cache: _StoreCache | None = None) -> ClassState:
    """Every student known to the server, the longest-stuck connected ones first."""
    data = Path(data)
    now = time.time() if now is None else now
    cache = cache or _cache
    steps_of = steps_of or {}
    status_dir = data / "classroom" / "status"
    known = dict(students(data)) if (data / "users").is_dir() else {}
    statuses = {}
    if status_dir.is_dir():
        for path in status_dir.glob("*.json"):
            record = _json(path)
            if record is not None:
                statuses[path.stem] = record
    rows = []
    for name in sorted(set(known) | set(statuses)):
        store = known.get(name, data / "users" / name / FILENAME)
        progress = cache.read(store, name, steps_of)
        row = Row(name, lessons_done=progress.lessons_done, done=progress.done, error=progress.error,
                  lesson=progress.lesson, step=progress.step, steps=progress.steps)
        s = statuses.get(name)
        if s is not None and s.get("connected") and now - float(s.get("updated") or 0) < STALE_AFTER:
            row.connected = True
            row.since = s.get("since")
            if s.get("lesson"):
                row.lesson, row.step, row.steps, row.title = s.get("lesson"), s.get("step"), s.get("steps"), s.get("title")
                row.check = s.get("check")
            else:
                row.lesson = row.step = row.steps = None   # on the dashboard, not in a lesson
            row.on_step = max(0.0, now - float(s.get("step_since") or now))
            row.trained = s.get("trained")
            row.playing = bool(s.get("playing"))
            row.watched_by = list(s.get("watched_by") or [])
        if s is not None:
            row.last_key = s.get("last_key")
            if s.get("last_key_at"):
                row.last_key_ago = max(0.0, now - float(s["last_key_at"]))
        rows.append(row)
    # Connected first, the longest on one lesson step (its check not met) at the top; then by name.
    rows.sort(key=lambda r: (not r.connected, -r.waiting, r.name))
    finished: dict = {}
    for r in rows:
        for lesson in r.done:
            finished[lesson] = finished.get(lesson, 0) + 1
    server = _json(data / "classroom" / "server.json") or {}
    fresh = now - float(server.get("updated") or 0) < STALE_AFTER
    return ClassState(
        rows=rows, connected=sum(r.connected for r in rows), stuck=sum(r.stuck for r in rows), finished=finished,
        load=server.get("load") if fresh else None, busy=bool(server.get("busy")) and fresh,
        sessions=int(server.get("sessions") or 0) if fresh else 0, cores=server.get("cores"), taken_at=now)
