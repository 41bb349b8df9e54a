"""Lesson progress that lasts: SQLite (the standard library's sqlite3) in the user's data folder.

Where: $NETSTEP_DATA_DIR, else $XDG_DATA_HOME/netstep, else ~/.local/share/netstep,
in `progress.sqlite3`. Whose: $NETSTEP_USER (the SSH identity, set by `netstep serve`),
else the local user name. One database can hold several users; every row is keyed by user.

- WAL journal: readers never block the writer, and a writer killed mid-transaction
  leaves the database as it was at its last commit (the uncommitted tail of the WAL
  is ignored on the next open).
- Every change is one `BEGIN IMMEDIATE ... COMMIT` transaction: all of it or none.
- Versioned migrations: PRAGMA user_version holds the schema version; each migration
  runs in its own transaction together with the version bump, so a crash mid-migration
  leaves the old version, which is migrated again on the next open.

Standard library only (no Textual): the CLI lists progress without starting the app.
"""

from __future__ import annotations

import getpass
import os
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

FILENAME = "progress.sqlite3"
BUSY_TIMEOUT_S = 10.0

# Each migration takes the schema from version i-1 to i. Append only: never edit a
# migration that has shipped, add a new one.
MIGRATIONS = {
    1: [
        """CREATE TABLE users (
               id         INTEGER PRIMARY KEY,
               name       TEXT NOT NULL UNIQUE,
               created_at REAL NOT NULL)""",
        """CREATE TABLE progress (
               user_id    INTEGER NOT NULL REFERENCES users(id),
               lesson_id  TEXT NOT NULL,
               step       INTEGER NOT NULL DEFAULT 0,   -- where the learner is (0-based)
               reached    INTEGER NOT NULL DEFAULT 0,   -- furthest step entered (0-based)
               done       INTEGER NOT NULL DEFAULT 0,   -- 1 once the last step's check held
               updated_at REAL NOT NULL,
               PRIMARY KEY (user_id, lesson_id))""",
    ],
    2: [
        # Which steps' checks have been met, one row each (ticks in the step list).
        """CREATE TABLE step_checks (
               user_id   INTEGER NOT NULL REFERENCES users(id),
               lesson_id TEXT NOT NULL,
               step      INTEGER NOT NULL,
               met_at    REAL NOT NULL,
               PRIMARY KEY (user_id, lesson_id, step))""",
        "ALTER TABLE progress ADD COLUMN started_at REAL",
        "UPDATE progress SET started_at = updated_at",
        # Every step before the furthest one reached was passed by meeting its check.
        """INSERT INTO step_checks (user_id, lesson_id, step, met_at)
           WITH RECURSIVE n(user_id, lesson_id, step, reached, at) AS (
               SELECT user_id, lesson_id, 0, reached, updated_at FROM progress WHERE reached > 0
               UNION ALL
               SELECT user_id, lesson_id, step + 1, reached, at FROM n WHERE step + 1 < reached)
           SELECT user_id, lesson_id, step, at FROM n""",
    ],
}
SCHEMA_VERSION = max(MIGRATIONS)


class StoreError(RuntimeError):
    """The progress database cannot be used (unwritable folder, not a database, newer schema)."""


@dataclass
class Progress:
    lesson_id: str
    step: int = 0        # where to resume (0-based)
    reached: int = 0     # furthest step entered (0-based)
    done: bool = False
    checks: frozenset = frozenset()   # steps whose checks have been met (0-based)
    updated_at: float = 0.0

    def label(self, n_steps: int) -> str:
        if self.done:
            return "done"
        return f"{min(self.reached, n_steps - 1) + 1}/{n_steps}"


def data_dir() -> Path:
    """The user's netstep data folder (the same rule as the rest of the app)."""
    try:
        from tui.datadir import data_root
    except ImportError:
        explicit = os.environ.get("NETSTEP_DATA_DIR")
        if explicit:
            return Path(explicit).expanduser()
        xdg = os.environ.get("XDG_DATA_HOME")
        return (Path(xdg).expanduser() if xdg else Path.home() / ".local" / "share") / "netstep"
    return data_root()


def default_user() -> str:
    """$NETSTEP_USER (the SSH identity when served), else the local user name."""
    name = os.environ.get("NETSTEP_USER", "").strip()
    if name:
        return name
    try:
        return getpass.getuser() or "local"
    except Exception:  # no login name in some containers: one local user is still fine
        return "local"


def default_path() -> Path:
    return data_dir() / FILENAME


class ProgressStore:
    """Progress for one user. `ProgressStore(":memory:")` keeps it for the session only."""

    def __init__(self, path=None, user=None):
        self.user = user or default_user()
        self.path = os.fspath(path) if path is not None else os.fspath(default_path())
        self.persistent = self.path != ":memory:"
        try:
            if self.persistent:
                folder = Path(self.path).parent
                folder.mkdir(parents=True, exist_ok=True, mode=0o700)
            self._db = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
        except (OSError, sqlite3.Error) as e:
            raise StoreError(f"cannot open the progress database {self.path}: {e}") from None
        try:
            self._db.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
            if self.persistent:
                mode = self._db.execute("PRAGMA journal_mode = WAL").fetchone()[0]
                if str(mode).lower() != "wal":
                    raise StoreError(f"the progress database {self.path} cannot use WAL journaling (got {mode})")
            # NORMAL is crash-safe in WAL mode (a killed process loses nothing committed);
            # only a power cut can drop the very last commits.
            self._db.execute("PRAGMA synchronous = NORMAL")
            self._db.execute("PRAGMA foreign_keys = ON")
            self.migrate()
            self._user_id = self._ensure_user()
        except sqlite3.DatabaseError as e:
            self._db.close()
            raise StoreError(f"the progress database {self.path} is unusable: {e}") from None
        except StoreError:
            self._db.close()
            raise

    # ----- schema ----------------------------------------------------------------------

    @property
    def version(self) -> int:
        return int(self._db.execute("PRAGMA user_version").fetchone()[0])

    def migrate(self):
        """Bring the schema up to SCHEMA_VERSION, one transaction per migration."""
        while True:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                current = self.version  # read under the write lock: another process may have migrated
                if current > SCHEMA_VERSION:
                    raise StoreError(f"the progress database {self.path} has schema version {current}, newer than "
                                     f"this netstep understands ({SCHEMA_VERSION}); upgrade netstep")
                if current == SCHEMA_VERSION:
                    self._db.execute("COMMIT")
                    return
                target = current + 1
                for statement in MIGRATIONS[target]:
                    self._db.execute(statement)
                self._db.execute(f"PRAGMA user_version = {target}")
                self._db.execute("COMMIT")
            except BaseException:
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                raise

    # ----- transactions ------------------------------------------------------------------

    def _write(self, fn):
        """Run fn(db) inside one BEGIN IMMEDIATE ... COMMIT: applied whole or not at all."""
        try:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                result = fn(self._db)
                self._db.execute("COMMIT")
                return result
            except BaseException:
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                raise
        except sqlite3.OperationalError as e:
            raise StoreError(f"cannot write lesson progress to {self.path}: {e}") from None

    def _ensure_user(self) -> int:
        def add(db):
            db.execute("INSERT OR IGNORE INTO users (name, created_at) VALUES (?, ?)", (self.user, time.time()))
            return db.execute("SELECT id FROM users WHERE name = ?", (self.user,)).fetchone()[0]
        return self._write(add)

    # ----- reading --------------------------------------------------------------------------

    def get(self, lesson_id) -> Progress:
        return self.all().get(lesson_id) or Progress(lesson_id)

    def all(self) -> dict[str, Progress]:
        rows = self._db.execute("SELECT lesson_id, step, reached, done, updated_at FROM progress WHERE user_id = ?",
                                (self._user_id,)).fetchall()
        met: dict[str, set] = {}
        for lesson_id, step in self._db.execute("SELECT lesson_id, step FROM step_checks WHERE user_id = ?",
                                                (self._user_id,)):
            met.setdefault(lesson_id, set()).add(step)
        return {lesson_id: Progress(lesson_id, step, reached, bool(done), frozenset(met.get(lesson_id, ())), at)
                for lesson_id, step, reached, done, at in rows}

    # ----- writing --------------------------------------------------------------------------

    def record(self, lesson_id, step, met=None, done=False) -> Progress:
        """The learner is on `step` (0-based); `met` lists steps whose checks now hold; `done`
        marks the lesson finished. `reached` only grows and `done` only turns on."""
        now = time.time()

        def upsert(db):
            db.execute(
                """INSERT INTO progress (user_id, lesson_id, step, reached, done, updated_at, started_at)
                   VALUES (?, ?, ?, ?, ?, ?, ?)
                   ON CONFLICT (user_id, lesson_id) DO UPDATE SET
                       step = excluded.step,
                       reached = MAX(progress.reached, excluded.reached),
                       done = MAX(progress.done, excluded.done),
                       updated_at = excluded.updated_at""",
                (self._user_id, lesson_id, int(step), int(step), int(bool(done)), now, now))
            for s in met or ():
                db.execute("INSERT OR IGNORE INTO step_checks (user_id, lesson_id, step, met_at) VALUES (?, ?, ?, ?)",
                           (self._user_id, lesson_id, int(s), now))
        self._write(upsert)
        return self.get(lesson_id)

    def forget(self, lesson_id):
        """Start a lesson over: its progress and ticks go, in one transaction."""
        def drop(db):
            db.execute("DELETE FROM step_checks WHERE user_id = ? AND lesson_id = ?", (self._user_id, lesson_id))
            db.execute("DELETE FROM progress WHERE user_id = ? AND lesson_id = ?", (self._user_id, lesson_id))
        self._write(drop)

    def integrity(self) -> str:
        return str(self._db.execute("PRAGMA integrity_check").fetchone()[0])

    def close(self):
        try:
            self._db.close()
        except sqlite3.Error:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def open_store(path=None, user=None) -> tuple[ProgressStore, str | None]:
    """The user's store, or (an in-memory store, the reason) when the real one cannot be used,
    so the lessons still run and say why progress is not being kept."""
    try:
        return ProgressStore(path, user), None
    except StoreError as e:
        return ProgressStore(":memory:", user), f"{e}; progress will not be saved this time"
