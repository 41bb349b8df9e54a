"""The classroom in the server: what each session publishes, teachers' requests, the load.

Every session's app reports over its channel (tui/serve/channel.py) where it is: lesson,
step, whether the step's check holds, steps trained. The hub adds what only the server
knows (connected since, the last key and when, how long on this step, who watches) and
writes one status file per student, atomically, under DATA/classroom/status/ (the server's
folder: no student session can read or write it; a teacher's class view reads it), and
DATA/classroom/server.json with the machine's load once a second.

Teachers' views send requests over their own channel: watch a student (the hub sends the
student's virtual screen, tui/serve/vscreen.py, whenever it changes, at most WATCH_HZ a
second, and tells the student "watched by"), stop watching, send a lesson or preset to every
connected student, and (with --teachers-can-type) type into the watched session.

Scale: when the machine's CPU is busier than config.busy_load, every student session is told
so, and playing sessions draw less often (keypresses are not slowed: they are answered at
once whatever the frame rate).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import sys
import time
from pathlib import Path
from typing import Protocol

from engine.safefile import replace_atomically
from tui.datadir import inside
from tui.serve.config import ServeError
from tui.serve.identity import Identity
from tui.serve.vscreen import VScreen

log = logging.getLogger("netstep.serve")

WATCH_HZ = 10            # screen updates a second to a watching teacher
LOAD_EVERY = 1.0         # seconds between load measurements and server.json writes
STATUS_EVERY = 0.5       # at most this often a student's status file is rewritten...
REFRESH_EVERY = 5.0      # ...and at least this often (a reader takes an old file as a server gone)
_ID = re.compile(r"[A-Za-z0-9_.-]{1,64}")

_KEYS = {b"\r": "enter", b"\n": "enter", b"\x1b": "esc", b"\t": "tab", b" ": "space", b"\x7f": "backspace",
         b"\x1b[A": "up", b"\x1b[B": "down", b"\x1b[C": "right", b"\x1b[D": "left",
         b"\x1bOA": "up", b"\x1bOB": "down", b"\x1bOC": "right", b"\x1bOD": "left"}


def key_name(data: bytes) -> str | None:
    """A readable name for the last key in a chunk of keyboard input ("p", "space", "ctrl+s")."""
    if not data:
        return None
    if data in _KEYS:
        return _KEYS[data]
    if data.startswith(b"\x1b[200~"):
        return "paste"
    if data.startswith(b"\x1b"):
        return _KEYS.get(data[-3:], "esc-seq") if len(data) >= 3 else "esc"
    last = data[-1:]
    if last in _KEYS:
        return _KEYS[last]
    c = last[0]
    if c < 32:
        return f"ctrl+{chr(c + 96)}"
    try:
        return data.decode("utf-8")[-1]
    except UnicodeDecodeError:
        return "?"


def check_teachers(teachers, keys) -> None:
    """A key in both files would make a student's key open the class view: refused."""
    if teachers is None or keys is None:
        return
    both = set(teachers.entries) & set(keys.entries)
    if both:
        names = ", ".join(sorted(keys.entries[k].name for k in both))
        raise ServeError(f"--teachers and --authorized-keys share keys ({names}); a key is a student's "
                         f"or a teacher's, not both")


def teacher_identity(root: Path, entry, key) -> Identity:
    """Teachers' folders are apart from the students': a teacher named like a student never
    shares that student's folder or status."""
    (root / "teachers").mkdir(mode=0o700, exist_ok=True)
    folder = inside(root / "teachers", entry.name)
    folder.mkdir(mode=0o700, exist_ok=True)
    return Identity(entry.name, folder, False, f"teacher key {entry.fingerprint}", key, teacher=True)


def teacher_session(root: Path, config, env: dict) -> tuple[list, list, list]:
    """(command, its arguments, extra sandbox rules) of a teacher's session: whatever the
    students run, it is the class view, which reads every student's progress and status and
    writes none of it."""
    if config.teachers_can_type:
        env["NETSTEP_TEACHERS_CAN_TYPE"] = "1"
    command = [sys.executable, "-P", "-s", "-B", "-m", "tui.serve.app_main"]
    reads = [(str((root / sub).resolve()), "read") for sub in ("users", "classroom")]
    return command, ["--class-view", str(root)], reads


def write_json(path: Path, data) -> None:
    """Atomically: a reader sees the old file or the new one, never half of one (rewritten
    every second, so not fsynced: after a crash the next second rewrites it)."""
    replace_atomically(path, lambda f: f.write(json.dumps(data).encode()), private=True, durable=False,
                       prefix=".tmp-")


class CpuMeter:
    """The machine's busy share of CPU between two reads of /proc/stat."""

    def __init__(self, path="/proc/stat"):
        self.path = path
        self._last = self._read()

    def _read(self):
        try:
            with open(self.path) as f:
                values = [int(v) for v in f.readline().split()[1:]]
        except (OSError, ValueError):
            return None
        idle = values[3] + (values[4] if len(values) > 4 else 0)
        return sum(values[:8]), idle

    def busy(self) -> float | None:
        now = self._read()
        last, self._last = self._last, now
        if now is None or last is None or now[0] <= last[0]:
            return None
        return 1.0 - (now[1] - last[1]) / (now[0] - last[0])


class ClassSession(Protocol):
    """What the hub needs of a session, SSH (protocol._Session) or browser (web.WebSession)."""

    identity: Identity
    size: tuple[int, int]                # columns, rows of its terminal

    @property
    def channel(self):                   # channel.Channel to its app, None before it runs
        ...

    def inject(self, data: bytes) -> None:   # a teacher's keys into its app (--teachers-can-type)
        ...


class Seat:
    """One session as the classroom sees it."""

    def __init__(self, session: ClassSession):
        identity = session.identity
        self.session = session
        self.name = identity.name
        self.teacher = bool(getattr(identity, "teacher", False))
        self.guest = identity.guest    # throw-away: not one of the class, never written down
        self.since = time.time()
        self.status: dict = {}
        self.step_key = None
        self.step_since = self.since
        self.last_key = None
        self.last_key_at = None
        self.watchers: set[Seat] = set()   # teachers watching this student
        self.watching: Seat | None = None  # for a teacher: the student watched
        self.typing = False
        self.sent_version = -1     # the virtual screen's version its watchers last got
        self.need_full = True      # the next frame to watchers holds every line, not only changed ones
        self.written_at = 0.0
        self.dirty = True
        cols, rows = session.size
        self.vscreen = None if self.teacher else VScreen(cols, rows)

    def send(self, message: dict) -> bool:
        channel = self.session.channel
        return channel.send(message) if channel is not None else False

    def record(self) -> dict:
        s = self.status
        return {
            "name": self.name, "connected": True, "since": self.since,
            "lesson": s.get("lesson"), "step": s.get("step"), "steps": s.get("steps"),
            "title": s.get("title"), "step_since": self.step_since, "check": s.get("check"),
            "trained": s.get("trained"), "playing": bool(s.get("playing")), "screen": s.get("screen"),
            "last_key": self.last_key, "last_key_at": self.last_key_at,
            "watched_by": sorted(w.name for w in self.watchers), "updated": time.time(),
        }


class Hub:
    def __init__(self, server):
        self.server = server
        self.config = server.config
        self.dir = server.root / "classroom"
        self.status_dir = self.dir / "status"
        self.status_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.seats: dict[ClassSession, Seat] = {}
        self.cpu = CpuMeter()
        self.load: float | None = None
        self.busy = False
        self._task = None
        self._clear_stale()

    def _clear_stale(self) -> None:
        """A status file left by a server that stopped (or crashed) says "connected": no more."""
        for path in self.status_dir.glob("*.json"):
            try:
                record = json.loads(path.read_text())
                if record.get("connected"):
                    record["connected"] = False
                    write_json(path, record)
            except (OSError, ValueError, AttributeError):
                continue

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()

    # -- sessions coming and going

    def joined(self, session: ClassSession) -> Seat:
        seat = Seat(session)
        self.seats[session] = seat
        if not seat.teacher:
            self._write(seat, force=True)
        return seat

    def left(self, session: ClassSession) -> None:
        seat = self.seats.pop(session, None)
        if seat is None:
            return
        if seat.teacher:
            self._unwatch(seat)
            return
        for teacher in list(seat.watchers):
            teacher.watching = None
            teacher.send({"kind": "watch_ended", "name": seat.name, "why": f"{seat.name} disconnected"})
        seat.watchers.clear()
        if not seat.guest and not any(s.name == seat.name and not s.teacher for s in self.seats.values()):
            record = seat.record()
            record["connected"] = False
            self._write_record(seat.name, record)

    def student_seats(self):
        return [s for s in self.seats.values() if not s.teacher]

    # -- bytes and sizes (from protocol._Session and web.WebSession)

    def output(self, session, data: bytes) -> None:
        seat = self.seats.get(session)
        if seat is not None and seat.vscreen is not None:
            seat.vscreen.feed(data)

    def keys(self, session, data: bytes) -> None:
        seat = self.seats.get(session)
        if seat is not None and not seat.teacher:
            seat.last_key, seat.last_key_at = key_name(data), time.time()
            seat.dirty = True

    def resized(self, session, cols: int, rows: int) -> None:
        seat = self.seats.get(session)
        if seat is not None and seat.vscreen is not None:
            seat.vscreen.resize(cols, rows)
            seat.need_full = True

    # -- messages from a session's app

    def message(self, session, message: dict) -> None:
        seat = self.seats.get(session)
        if seat is None:
            return
        kind = message.get("kind")
        if seat.teacher:
            handler = {"watch": self._watch, "unwatch": lambda t, m: self._unwatch(t), "send": self._send,
                       "keys": self._keys}.get(kind)
            if handler is not None:
                handler(seat, message)
            return
        if kind == "status":
            fields = ("lesson", "step", "steps", "title", "check", "trained", "playing", "screen")
            seat.status = {k: message.get(k) for k in fields}
            key = (seat.status.get("lesson"), seat.status.get("step"))
            if key != seat.step_key:
                seat.step_key, seat.step_since = key, time.time()
            seat.dirty = True

    def _find(self, name) -> Seat | None:
        found = [s for s in self.student_seats() if s.name == name]
        return max(found, key=lambda s: s.since) if found else None

    def _watch(self, teacher: Seat, message: dict) -> None:
        student = self._find(message.get("name"))
        if student is None:
            teacher.send({"kind": "watch_ended", "name": message.get("name"), "why": "not connected"})
            return
        self._unwatch(teacher)
        teacher.watching = student
        student.watchers.add(teacher)
        student.sent_version, student.need_full = -1, True
        student.vscreen.watched = True
        if student.vscreen.stale:   # its output was dropped while nobody watched: a full frame
            student.vscreen.restart()
            student.send({"kind": "repaint"})
        self._tell_watched(student)
        log.info("teacher %s watches %s", teacher.name, student.name)
        self._send_screen(student)

    def _unwatch(self, teacher: Seat) -> None:
        student, teacher.watching = teacher.watching, None
        if student is not None and teacher in student.watchers:
            student.watchers.discard(teacher)
            student.vscreen.watched = bool(student.watchers)
            if teacher.typing:
                teacher.typing = False
            self._tell_watched(student)

    def _tell_watched(self, student: Seat) -> None:
        names = sorted(w.name for w in student.watchers)
        typing = sorted(w.name for w in student.watchers if w.typing)
        student.send({"kind": "watched", "by": names, "typing": typing})
        student.dirty = True

    def _keys(self, teacher: Seat, message: dict) -> None:
        student = teacher.watching
        data = message.get("data")
        if not self.config.teachers_can_type or student is None or not isinstance(data, str):
            return
        if not teacher.typing:
            teacher.typing = True
            self._tell_watched(student)
        student.session.inject(data.encode("utf-8", "replace")[:4096])

    def _send(self, teacher: Seat, message: dict) -> None:
        what = {}
        for k in ("lesson", "preset"):
            v = message.get(k)
            if isinstance(v, str) and _ID.fullmatch(v):
                what[k] = v
        if len(what) != 1:
            return
        count = sum(s.send({"kind": "sent", "by": teacher.name, **what}) for s in self.student_seats())
        log.info("teacher %s sent %s to %d sessions", teacher.name, what, count)
        teacher.send({"kind": "sent_ok", "count": count, **what})

    # -- the clock: screens to watchers, status files, the load

    def _send_screen(self, student: Seat) -> None:
        """The lines that changed since the last frame (all of them after a new watcher, a resize
        or a skipped frame), one dump shared by every teacher watching."""
        if student.vscreen.version == student.sent_version and not student.need_full:
            return
        ready = []
        for teacher in student.watchers:
            channel = teacher.session.channel
            if channel is None or channel.pending() > 256 << 10:
                student.need_full = True   # this view has not read the last frame: it gets a whole one later
            else:
                ready.append(teacher)
        if not ready:
            return
        full = student.need_full
        student.sent_version, student.need_full = student.vscreen.version, False
        message = {"kind": "screen", "name": student.name, **student.vscreen.dump(full=full)}
        for teacher in ready:
            teacher.send(message)

    async def _run(self) -> None:
        next_load = 0.0
        while True:
            await asyncio.sleep(1 / WATCH_HZ)
            try:
                self._tick(next_load)
            except Exception:
                log.exception("classroom tick")
            now = time.monotonic()
            if now >= next_load:
                next_load = now + LOAD_EVERY

    def _tick(self, next_load: float) -> None:
        for student in {s.watching for s in self.seats.values() if s.teacher and s.watching is not None}:
            self._send_screen(student)
        now = time.monotonic()
        for seat in self.student_seats():
            if seat.dirty or now - seat.written_at >= REFRESH_EVERY:
                self._write(seat)
        if time.monotonic() >= next_load:
            self._measure()

    def _measure(self) -> None:
        busy = self.cpu.busy()
        if busy is not None:
            self.load = busy
        was, self.busy = self.busy, self.load is not None and self.load > self.config.busy_load
        if self.busy != was:
            for seat in self.student_seats():
                seat.send({"kind": "load", "busy": self.busy, "load": self.load})
        students = self.student_seats()
        record = {
            "load": self.load, "busy": self.busy, "cores": os.cpu_count(), "loadavg": os.getloadavg()[0],
            "sessions": len(students), "teachers": len(self.seats) - len(students),
            "max_sessions": self.config.max_sessions, "playing": sum(bool(s.status.get("playing")) for s in students),
            "updated": time.time(),
        }
        try:
            write_json(self.dir / "server.json", record)
        except OSError as e:
            log.warning("classroom: cannot write %s: %s", self.dir / "server.json", e)

    def _write(self, seat: Seat, force: bool = False) -> None:
        if seat.guest:
            return
        now = time.monotonic()
        if not force and now - seat.written_at < STATUS_EVERY:
            return
        seat.written_at, seat.dirty = now, False
        self._write_record(seat.name, seat.record())

    def _write_record(self, name: str, record: dict) -> None:
        try:
            write_json(self.status_dir / f"{name}.json", record)
        except OSError as e:
            log.warning("classroom: cannot write the status of %s: %s", name, e)
