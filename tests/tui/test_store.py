"""The lesson-progress store: per-user rows, WAL, migrations, and surviving a killed writer."""

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from tui import store
from tui.store import MIGRATIONS, SCHEMA_VERSION, ProgressStore, StoreError, open_store

ROOT = Path(__file__).resolve().parents[2]


def test_data_dir_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("NETSTEP_DATA_DIR", str(tmp_path / "explicit"))
    assert store.default_path() == tmp_path / "explicit" / "progress.sqlite3"
    monkeypatch.delenv("NETSTEP_DATA_DIR")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert store.default_path() == tmp_path / "xdg" / "netstep" / "progress.sqlite3"
    monkeypatch.delenv("XDG_DATA_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert store.default_path() == tmp_path / "home" / ".local" / "share" / "netstep" / "progress.sqlite3"


def test_user_is_the_ssh_identity_when_set(monkeypatch):
    monkeypatch.setenv("NETSTEP_USER", "alice@example")
    assert store.default_user() == "alice@example"
    monkeypatch.delenv("NETSTEP_USER")
    assert store.default_user()  # the local login name (or "local")


def test_progress_survives_reopening(tmp_path):
    path = tmp_path / "p.sqlite3"
    with ProgressStore(path, user="ann") as s:
        assert s.get("xor").step == 0 and not s.get("xor").done
        s.record("xor", 2, met=[0, 1])
    with ProgressStore(path, user="ann") as s:
        p = s.get("xor")
        assert (p.step, p.reached, p.done, p.checks) == (2, 2, False, frozenset({0, 1}))
        assert p.label(4) == "3/4"


def test_reached_only_grows_and_done_sticks(tmp_path):
    with ProgressStore(tmp_path / "p.sqlite3", user="ann") as s:
        s.record("dead-relu", 5, met=[4])
        s.record("dead-relu", 1)               # went back to step 2
        p = s.get("dead-relu")
        assert (p.step, p.reached) == (1, 5)
        s.record("dead-relu", 8, met=[8], done=True)
        s.record("dead-relu", 0)
        p = s.get("dead-relu")
        assert p.done and p.label(9) == "done" and p.step == 0
        s.forget("dead-relu")
        assert s.get("dead-relu").reached == 0 and not s.get("dead-relu").checks


def test_users_do_not_see_each_other(tmp_path):
    path = tmp_path / "p.sqlite3"
    with ProgressStore(path, user="ann") as a, ProgressStore(path, user="bob") as b:
        a.record("xor", 3)
        assert b.get("xor").reached == 0
        b.record("xor", 1)
        assert a.get("xor").reached == 3 and b.get("xor").reached == 1


def test_wal_mode_and_schema_version(tmp_path):
    path = tmp_path / "p.sqlite3"
    ProgressStore(path, user="ann").close()
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    db.close()


def test_migrates_a_version_1_database_and_keeps_its_data(tmp_path):
    path = tmp_path / "old.sqlite3"
    db = sqlite3.connect(path)
    for statement in MIGRATIONS[1]:
        db.execute(statement)
    db.execute("INSERT INTO users (id, name, created_at) VALUES (1, 'ann', 0)")
    db.execute("INSERT INTO progress VALUES (1, 'xor', 2, 3, 0, 100.0)")
    db.execute("PRAGMA user_version = 1")
    db.commit()
    db.close()
    with ProgressStore(path, user="ann") as s:
        assert s.version == SCHEMA_VERSION
        p = s.get("xor")
        assert (p.step, p.reached) == (2, 3)
        assert p.checks == frozenset({0, 1, 2})   # backfilled by migration 2


def test_a_newer_schema_is_refused_not_clobbered(tmp_path):
    path = tmp_path / "new.sqlite3"
    db = sqlite3.connect(path)
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    db.commit()
    db.close()
    with pytest.raises(StoreError, match="newer"):
        ProgressStore(path, user="ann")
    assert sqlite3.connect(path).execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION + 1


def test_a_broken_file_falls_back_to_memory_with_a_reason(tmp_path):
    path = tmp_path / "junk.sqlite3"
    path.write_bytes(b"this is not a database" * 100)
    s, reason = open_store(path, user="ann")
    assert not s.persistent and "unusable" in reason and "not be saved" in reason
    s.record("xor", 1)
    assert s.get("xor").step == 1
    assert path.read_bytes().startswith(b"this is not a database")


def _spawn_writer(path, body):
    code = textwrap.dedent(f"""
        import sys, time
        from tui.store import ProgressStore
        s = ProgressStore({os.fspath(path)!r}, user="ann")
        s._db.execute("PRAGMA cache_size = 2")   # spill pages to the WAL before the commit
    """) + textwrap.dedent(body)
    return subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, stdout=subprocess.PIPE, text=True)


def test_a_writer_killed_inside_a_transaction_leaves_the_database_intact(tmp_path):
    path = tmp_path / "p.sqlite3"
    with ProgressStore(path, user="ann") as s:
        s.record("xor", 2, met=[0, 1])
    child = _spawn_writer(path, """
        def half_done(db):
            db.execute("UPDATE progress SET step = 99, reached = 99 WHERE lesson_id = 'xor'")
            for i in range(5000):
                db.execute("INSERT INTO step_checks VALUES (1, ?, ?, 0.0)", (f"junk-{i}-" + "x" * 200, i))
            print("inside", flush=True)
            time.sleep(60)
        s._write(half_done)
    """)
    try:
        assert child.stdout.readline().strip() == "inside"
        wal = Path(f"{path}-wal")
        assert wal.exists() and wal.stat().st_size > 100_000   # uncommitted pages really were written
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
    finally:
        if child.poll() is None:
            child.kill()
    assert child.returncode == -signal.SIGKILL
    with ProgressStore(path, user="ann") as s:
        assert s.integrity() == "ok"
        p = s.get("xor")
        assert (p.step, p.reached, p.checks) == (2, 2, frozenset({0, 1}))
        assert set(s.all()) == {"xor"}
        s.record("xor", 3)                      # and it takes new writes
        assert s.get("xor").reached == 3


def test_killing_a_busy_writer_at_any_moment_keeps_every_commit(tmp_path):
    path = tmp_path / "p.sqlite3"
    ProgressStore(path, user="ann").close()
    for delay in (0.05, 0.2, 0.5):
        child = _spawn_writer(path, """
            print("ready", flush=True)
            i = 0
            while True:
                i += 1
                s.record("loop", i, met=[i])
                print(i, flush=True)
        """)
        try:
            assert child.stdout.readline().strip() == "ready"
            committed = 0
            end = time.monotonic() + delay
            while time.monotonic() < end:
                line = child.stdout.readline()
                if line.strip().isdigit():
                    committed = int(line)
            os.kill(child.pid, signal.SIGKILL)
            child.wait()
        finally:
            if child.poll() is None:
                child.kill()
        with ProgressStore(path, user="ann") as s:
            assert s.integrity() == "ok"
            p = s.get("loop")
            # Everything the writer reported as committed is there, and each transaction
            # (progress row + its tick) is there whole or not at all.
            assert p.reached >= committed > 0
            assert p.checks == frozenset(range(1, p.reached + 1))
