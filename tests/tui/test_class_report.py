"""`netstep class report`: every student's progress, read from their folders, read-only."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys

import pytest

from tui.classroom.report import report, to_csv
from tui.store import FILENAME, ProgressStore


def _student(data, name, records):
    folder = data / "users" / name
    folder.mkdir(parents=True)
    with ProgressStore(folder / FILENAME, user=name) as store:
        for lesson, step, met, done in records:
            store.record(lesson, step, met=met, done=done)
    return folder


@pytest.fixture
def classroom(tmp_path):
    data = tmp_path / "class"
    _student(data, "ada", [("xor", 3, [0, 1, 2, 3], True), ("dead-relu", 2, [0, 1], False)])
    _student(data, "bob", [("xor", 1, [0], False)])
    (data / "users" / "cy").mkdir(parents=True)   # logged in, never opened a lesson
    return data


def test_one_row_per_student_with_where_they_are(classroom):
    rows = {r.name: r for r in report(classroom, {"xor": 4, "dead-relu": 9})}
    assert set(rows) == {"ada", "bob", "cy"}
    ada, bob, cy = rows["ada"], rows["bob"], rows["cy"]
    assert (ada.lessons_done, ada.lesson, ada.step, ada.steps, ada.checks_met) == (1, "dead-relu", 3, 9, 6)
    assert ada.done == ["xor"]
    assert (bob.lessons_done, bob.lesson, bob.step) == (0, "xor", 2)
    assert (cy.lessons_done, cy.lesson, cy.step, cy.last_seen) == (0, None, None, None)
    assert ada.last_seen and ada.last_seen.endswith("+00:00")


def test_the_report_never_writes_to_a_students_database(classroom):
    path = classroom / "users" / "bob" / FILENAME
    before = path.read_bytes()
    stamp = os.stat(path).st_mtime_ns
    report(classroom)
    assert path.read_bytes() == before and os.stat(path).st_mtime_ns == stamp


def test_a_broken_store_is_one_row_with_the_reason_not_a_crash(classroom):
    bad = classroom / "users" / "dee"
    bad.mkdir()
    (bad / FILENAME).write_bytes(b"this is not a database" * 100)
    rows = {r.name: r for r in report(classroom)}
    assert rows["dee"].error and "unreadable" in rows["dee"].error
    assert rows["ada"].error is None


def test_csv_has_a_header_and_a_line_per_student(classroom):
    text = to_csv(report(classroom))
    lines = text.strip().splitlines()
    assert lines[0].startswith("name,lessons_done,lesson,step")
    assert len(lines) == 4


def _netstep(*args):
    return subprocess.run([sys.executable, "-m", "tui", *args], capture_output=True, text=True, timeout=60)


def test_cli_json_report(classroom):
    out = _netstep("class", "report", "--data", str(classroom), "--json")
    assert out.returncode == 0, out.stderr
    rows = json.loads(out.stdout)
    by = {r["name"]: r for r in rows}
    for key in ("name", "lessons_done", "lesson", "step", "last_seen"):
        assert key in by["ada"]
    assert by["ada"]["lessons_done"] == 1 and by["ada"]["lesson"] == "dead-relu" and by["ada"]["step"] == 3
    assert by["ada"]["steps"] == 9   # the lesson's real length, from the lesson files


def test_cli_csv_and_table(classroom):
    out = _netstep("class", "report", "--data", str(classroom), "--csv")
    assert out.returncode == 0 and out.stdout.startswith("name,lessons_done")
    out = _netstep("class", "report", "--data", str(classroom))
    assert out.returncode == 0 and "ada" in out.stdout and "dead-relu" in out.stdout


def test_cli_missing_folder_is_one_line_exit_2(tmp_path):
    out = _netstep("class", "report", "--data", str(tmp_path / "nope"))
    assert out.returncode == 2
    assert len(out.stderr.strip().splitlines()) == 1 and "not a folder" in out.stderr


def test_the_report_sees_what_a_running_servers_sessions_publish(classroom):
    import time

    status = classroom / "classroom" / "status"
    status.mkdir(parents=True)
    now = time.time()
    (status / "bob.json").write_text(json.dumps({
        "name": "bob", "connected": True, "updated": now, "lesson": "dead-relu", "step": 4, "steps": 9,
        "last_key_at": now - 3}))
    (status / "cy.json").write_text(json.dumps({"name": "cy", "connected": True, "updated": now - 3600,
                                                "last_key_at": now - 3600}))
    rows = {r.name: r for r in report(classroom)}
    bob, cy = rows["bob"], rows["cy"]
    assert bob.connected and (bob.lesson, bob.step, bob.steps) == ("dead-relu", 4, 9)
    assert bob.last_seen >= report.__globals__["_iso"](now - 4)
    assert not cy.connected, "a status an hour old is from a server that stopped"
    assert cy.last_seen is not None, "the last keypress counts as seen"
    assert not rows["ada"].connected
