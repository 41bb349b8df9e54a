"""Snapshots of the class view at 120x40 and 80x24, on a fixed class at a fixed time.

Update after an intended visual change with: pytest tests/tui/test_classroom_snapshots.py --snapshot-update
"""

from __future__ import annotations

import json

import pytest

from tui.classroom.app import ClassApp
from tui.store import FILENAME, ProgressStore

NOW = 1_800_000_000.0


@pytest.fixture
def data(tmp_path):
    data = tmp_path / "data"
    for name, records in (("ada", [("xor", 0, [0], True)]), ("bob", [("xor", 1, [0], False)]), ("cy", []),
                          ("dee", [("xor", 0, [0], True)])):
        folder = data / "users" / name
        folder.mkdir(parents=True)
        if records:
            with ProgressStore(folder / FILENAME, user=name) as store:
                for lesson, step, met, done in records:
                    store.record(lesson, step, met=met, done=done)
    status = data / "classroom" / "status"
    status.mkdir(parents=True)
    for name, fields in (
        ("ada", dict(lesson="dead-relu", step=3, steps=9, step_since=NOW - 420, check=False, trained=1234,
                     last_key="space", last_key_at=NOW - 5)),
        ("bob", dict(lesson="xor", step=2, steps=4, step_since=NOW - 20, check=True, trained=7,
                     watched_by=["teach"], last_key="right", last_key_at=NOW - 21)),
        ("dee", dict(playing=True, trained=40960, step_since=NOW - 95, last_key="p", last_key_at=NOW - 95)),
    ):
        record = {"name": name, "connected": True, "since": NOW - 600, "updated": NOW, "lesson": None,
                  "step": None, "steps": None, "check": None, "watched_by": [], "playing": False}
        record.update(fields)
        (status / f"{name}.json").write_text(json.dumps(record))
    (data / "classroom" / "server.json").write_text(json.dumps(
        {"load": 0.62, "busy": False, "cores": 2, "sessions": 3, "updated": NOW}))
    return data


async def _loaded(pilot):
    for _ in range(200):
        if pilot.app.state is not None:
            break
        await pilot.pause(0.05)


def test_class_view_120x40(snap_compare, data):
    assert snap_compare(ClassApp(data, clock=lambda: NOW), terminal_size=(120, 40), run_before=_loaded)


def test_class_view_80x24(snap_compare, data):
    assert snap_compare(ClassApp(data, clock=lambda: NOW), terminal_size=(80, 24), run_before=_loaded)
