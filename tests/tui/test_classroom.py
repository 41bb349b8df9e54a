"""The class view's data and screens, without SSH: load_class over a data folder, the
ClassApp under Pilot with a recording channel, the hub's pieces (keys, virtual screen)."""

from __future__ import annotations

import json
import time

import pytest

from tui.classroom.app import ClassApp
from tui.classroom.class_table import cells
from tui.classroom.state import STUCK_AFTER, load_class
from tui.serve.hub import key_name
from tui.serve.vscreen import VScreen
from tui.store import FILENAME, ProgressStore


def _student(data, name, records=()):
    folder = data / "users" / name
    folder.mkdir(parents=True)
    if records:
        with ProgressStore(folder / FILENAME, user=name) as store:
            for lesson, step, met, done in records:
                store.record(lesson, step, met=met, done=done)


def _status(data, name, now, **fields):
    folder = data / "classroom" / "status"
    folder.mkdir(parents=True, exist_ok=True)
    record = {"name": name, "connected": True, "since": now - 600, "updated": now, "step_since": now,
              "lesson": None, "step": None, "steps": None, "check": None, "trained": 0, "last_key": None,
              "last_key_at": None, "watched_by": [], "playing": False}
    record.update(fields)
    (folder / f"{name}.json").write_text(json.dumps(record))


@pytest.fixture
def classroom(tmp_path):
    now = time.time()
    data = tmp_path / "data"
    _student(data, "ada", [("xor", 0, [0], True)])
    _student(data, "bob", [("xor", 1, [0], False)])
    _student(data, "cy")
    _student(data, "dee", [("xor", 0, [0], True)])
    # ada: stuck 7 minutes on step 3 of dead-relu; bob: 20 s on a step; cy: away; dee: a server gone
    _status(data, "ada", now, lesson="dead-relu", step=3, steps=9, step_since=now - 420, check=False,
            trained=1234, last_key="space", last_key_at=now - 5)
    _status(data, "bob", now, lesson="xor", step=2, steps=4, step_since=now - 20, check=True, trained=7,
            watched_by=["teach"])
    _status(data, "dee", now - 60, updated=now - 60)
    (data / "classroom" / "server.json").write_text(json.dumps(
        {"load": 0.93, "busy": True, "cores": 2, "sessions": 2, "updated": now}))
    return data, now


def test_load_class_one_row_per_student_longest_stuck_connected_first(classroom):
    data, now = classroom
    state = load_class(data, now=now)
    assert [r.name for r in state.rows] == ["ada", "bob", "cy", "dee"]
    ada, bob, cy, dee = state.rows
    assert ada.connected and ada.lesson == "dead-relu" and (ada.step, ada.steps) == (3, 9)
    assert ada.on_step == pytest.approx(420, abs=1) and ada.check is False and ada.stuck
    assert ada.trained == 1234 and ada.last_key == "space" and ada.last_key_ago == pytest.approx(5, abs=1)
    assert bob.connected and not bob.stuck and bob.watched_by == ["teach"]
    assert not cy.connected and cy.lesson is None
    assert not dee.connected, "a status not rewritten for a minute is from a server that stopped"
    assert (dee.lessons_done, dee.lesson) == (1, "xor"), "away students show their stored progress"
    assert (state.connected, state.stuck, state.finished) == (2, 1, {"xor": 2})
    assert "2 of 4 connected" in state.summary() and "1 stuck over 5 min" in state.summary()
    assert state.busy and "93%" in state.load_text() and "2 cores" in state.load_text()


def test_a_step_whose_check_holds_is_not_stuck_however_long(classroom):
    data, now = classroom
    _status(data, "bob", now, lesson="xor", step=2, steps=4, step_since=now - 2 * STUCK_AFTER, check=True)
    rows = {r.name: r for r in load_class(data, now=now).rows}
    assert not rows["bob"].stuck and rows["ada"].stuck


def test_cells_say_what_the_teacher_reads(classroom):
    data, now = classroom
    ada = load_class(data, now=now).rows[0]
    line = cells(ada, now)
    assert line[:8] == ("ada", "dead-relu", "3/9", "7m00s", "not met", "space 5s", "1,234", "10m00s")


class Recorder:
    def __init__(self):
        self.sent = []

    def send(self, message):
        self.sent.append(message)
        return True


async def test_class_view_watch_and_send_with_the_keyboard(classroom):
    data, now = classroom
    channel = Recorder()
    app = ClassApp(data, channel)
    async with app.run_test(size=(120, 30)) as pilot:
        for _ in range(100):   # the first read of the class (on a worker thread)
            if app.state is not None:
                break
            await pilot.pause(0.05)
        assert app.table.selected() == "ada"
        assert "2 of 4 connected" in str(app.summary.render())
        await pilot.press("enter")
        assert channel.sent[-1] == {"kind": "watch", "name": "ada"}
        screen = VScreen(40, 5)
        screen.feed(b"\x1b[1;31mhello\x1b[0m from ada")
        app.receive({"kind": "screen", "name": "ada", **screen.dump()})
        await pilot.pause()
        assert app.watching.view.text().splitlines()[0] == "hello from ada"
        screen.feed(b"\x1b[2;1Hsecond line")
        app.receive({"kind": "screen", "name": "ada", **screen.dump(full=False)})   # the changed line only
        await pilot.pause()
        assert app.watching.view.text().splitlines()[:2] == ["hello from ada", "second line"]
        await pilot.press("escape")
        assert channel.sent[-1] == {"kind": "unwatch"}
        assert app.watching is None
        await pilot.press("down", "down")   # cy is away: nothing to watch
        await pilot.press("enter")
        assert channel.sent[-1] == {"kind": "unwatch"}
        await pilot.press("s")
        await pilot.pause()
        await pilot.press("enter")          # the first item: the first lesson
        await pilot.pause()
        assert channel.sent[-1]["kind"] == "send" and "lesson" in channel.sent[-1]


def test_key_names_for_the_last_key_column():
    assert key_name(b"p") == "p"
    assert key_name(b" ") == "space"
    assert key_name(b"\x1b[C") == "right"
    assert key_name(b"\x13") == "ctrl+s"
    assert key_name(b"\r") == "enter"


def test_the_virtual_screen_keeps_text_and_colours():
    v = VScreen(20, 3)
    v.feed(b"\x1b[32mok\x1b[0m done\r\n\x1b[2;5Hx")
    dump = v.dump()
    assert (dump["cols"], dump["rows"]) == (20, 3)
    assert dump["lines"]["0"][0] == ["ok", "green"] and set(dump["lines"]) == {"0", "1", "2"}
    assert v.dump(full=False)["lines"] == {}, "nothing changed since"
    v.feed(b"\x1b[3;1Hz")
    assert list(v.dump(full=False)["lines"]) == ["2"], "only the changed line"
    assert v.text().splitlines()[:2] == ["ok done", "    x"]
    v.resize(30, 4)
    assert v.dump()["cols"] == 30


def test_unwatched_output_past_the_limit_makes_the_screen_stale_not_a_cost(monkeypatch):
    monkeypatch.setattr("tui.serve.vscreen.KEEP", 100)
    v = VScreen(20, 3)
    v.feed(b"a" * 60)
    assert not v.stale
    v.feed(b"b" * 60)
    assert v.stale and v.text().strip() == "", "dropped, never fed"
    v.restart()
    v.watched = True
    v.feed(b"c" * 200)   # watched: every byte is kept
    assert not v.stale and v.text().replace("\n", "").startswith("c" * 20)


# -- the CPU budget: a busy server makes playing sessions draw less often

from types import SimpleNamespace

from tui.classroom.link import BUSY_SLOWDOWN, Link
from tui.serve.config import ServeConfig
from tui.serve.hub import CpuMeter, Hub


def _app(playing):
    state = SimpleNamespace(playing=playing, worker_active=playing, latest=SimpleNamespace(step=5))
    return SimpleNamespace(screen_stack=[], state=state, slowdown=1.0, notify=lambda *a, **k: None)


def test_a_busy_server_slows_the_drawing_of_playing_sessions_only(monkeypatch):
    monkeypatch.setattr("tui.classroom.link.background_priority", lambda done: 0)   # not this test process's threads
    for playing in (True, False):
        app, end = _app(playing), Recorder()
        link = Link(app, end)
        link.publish()
        assert app.slowdown == 1.0
        assert end.sent[-1] == {"kind": "status", "screen": "dashboard", "lesson": None, "title": None, "step": None,
                                "steps": None, "check": None, "trained": 5, "playing": playing}
        link.receive({"kind": "load", "busy": True, "load": 0.97})
        link.publish()
        assert app.slowdown == (BUSY_SLOWDOWN if playing else 1.0)
        assert len(end.sent) == 1, "an unchanged status is not sent again"


def test_cpu_meter_reads_the_busy_share(tmp_path):
    stat = tmp_path / "stat"
    stat.write_text("cpu  100 0 100 800 0 0 0 0 0 0\n")
    meter = CpuMeter(str(stat))
    stat.write_text("cpu  190 0 190 820 0 0 0 0 0 0\n")   # 180 busy of 200 ticks
    assert meter.busy() == pytest.approx(0.9)


def test_the_hub_tells_students_not_teachers_when_the_machine_gets_busy(tmp_path, monkeypatch):
    server = SimpleNamespace(config=ServeConfig(allow_anonymous=True), root=tmp_path)
    hub = Hub(server)

    class Session(SimpleNamespace):
        __hash__ = object.__hash__

    def seat(name, teacher):
        channel = Recorder()
        identity = SimpleNamespace(name=name, teacher=teacher, guest=False)
        session = Session(identity=identity, size=(80, 24), channel=channel, inject=lambda data: None)
        hub.joined(session)
        return session, channel

    (s_ada, ada), (s_t, teach) = seat("ada", False), seat("teach", True)
    monkeypatch.setattr(hub.cpu, "busy", lambda: 0.95)
    hub._measure()
    assert ada.sent == [{"kind": "load", "busy": True, "load": 0.95}] and teach.sent == []
    hub._measure()
    assert len(ada.sent) == 1, "told when it changes, not every second"
    record = json.loads((tmp_path / "classroom" / "server.json").read_text())
    assert record["busy"] and record["sessions"] == 1 and record["teachers"] == 1
    status = json.loads((tmp_path / "classroom" / "status" / "ada.json").read_text())
    assert status["connected"] and not (tmp_path / "classroom" / "status" / "teach.json").exists()
    hub.left(s_ada)
    assert not json.loads((tmp_path / "classroom" / "status" / "ada.json").read_text())["connected"]


async def test_the_lessons_app_publishes_its_step_and_opens_what_was_sent(monkeypatch, tmp_path):
    """`netstep lesson ID` served: its status goes out on the channel; O opens the sent lesson."""
    import os

    from tui.lessons.app import LessonApp
    from tui.screens.lesson import LessonScreen
    from tui.serve.channel import encode, split_lines
    from tui.store import ProgressStore

    status_r, status_w = os.pipe()
    control_r, control_w = os.pipe()
    monkeypatch.setenv("NETSTEP_STATUS_FD", str(status_w))
    monkeypatch.setenv("NETSTEP_CONTROL_FD", str(control_r))
    os.set_blocking(status_r, False)
    store = ProgressStore(tmp_path / FILENAME, user="ada")
    app = LessonApp("xor", store=store)
    buffer = bytearray()

    def published():
        try:
            return split_lines(buffer, os.read(status_r, 65536))
        except BlockingIOError:
            return []

    async with app.run_test(size=(120, 40)) as pilot:
        seen = []
        for _ in range(100):
            seen += published()
            if any(m.get("lesson") == "xor" for m in seen):
                break
            await pilot.pause(0.05)
        status = [m for m in seen if m.get("lesson") == "xor"][-1]
        assert (status["kind"], status["step"], status["screen"]) == ("status", 1, "lesson")
        assert status["steps"] >= 2 and status["check"] in (True, False)
        os.write(control_w, encode({"kind": "watched", "by": ["teach"], "typing": []}))
        os.write(control_w, encode({"kind": "sent", "lesson": "shapes", "by": "teach"}))
        for _ in range(100):
            if app.classroom.sent:
                break
            await pilot.pause(0.05)
        assert app.classroom_notice == "watched by teach"
        await pilot.pause(0.2)
        bar = app.screen.query_one("StatusBar")
        assert "watched by teach" in str(bar.line.content), "the student's status line says so"
        await pilot.press("O")
        for _ in range(100):
            if isinstance(app.screen, LessonScreen) and app.screen.lesson.id == "shapes":
                break
            await pilot.pause(0.05)
        assert app.screen.lesson.id == "shapes"
    for fd in (status_r, control_w):
        os.close(fd)


def test_worker_threads_of_a_served_app_run_at_background_priority():
    import os
    import threading
    from concurrent.futures import ThreadPoolExecutor

    from tui.classroom.link import BACKGROUND_NICE, background_priority

    with ThreadPoolExecutor(1, thread_name_prefix="asyncio") as pool:
        tid = pool.submit(threading.get_native_id).result()
        done = set()
        assert background_priority(done) >= 1 and tid in done
        assert os.getpriority(os.PRIO_PROCESS, tid) == BACKGROUND_NICE
        assert pool.submit(lambda: os.getpriority(os.PRIO_PROCESS, 0)).result() == BACKGROUND_NICE
    assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) != BACKGROUND_NICE, "the main thread keeps its own"


def test_a_long_time_on_the_dashboard_is_not_being_stuck(classroom):
    data, now = classroom
    _status(data, "cy", now, step_since=now - 3 * STUCK_AFTER)   # connected, no lesson open
    state = load_class(data, now=now)
    rows = {r.name: r for r in state.rows}
    assert rows["cy"].connected and not rows["cy"].stuck and state.stuck == 1
    assert [r.name for r in state.rows][:3] == ["ada", "bob", "cy"]


def test_the_hub_routes_watching_sending_and_leaving(tmp_path):
    server = SimpleNamespace(config=ServeConfig(allow_anonymous=True), root=tmp_path)
    hub = Hub(server)

    class Session(SimpleNamespace):
        __hash__ = object.__hash__

    class Channel(Recorder):
        def pending(self):
            return 0

    def join(name, teacher=False):
        channel = Channel()
        identity = SimpleNamespace(name=name, teacher=teacher, guest=False)
        session = Session(identity=identity, size=(20, 3), channel=channel, inject=lambda data: None)
        hub.joined(session)
        return session, channel

    (s_ada, ada), (s_bob, bob) = join("ada"), join("bob")
    (s_t1, t1), (s_t2, t2) = join("t1", True), join("t2", True)
    hub.output(s_ada, b"line one\r\nline two")
    hub.message(s_t1, {"kind": "watch", "name": "ada"})
    hub.message(s_t2, {"kind": "watch", "name": "ada"})
    assert ada.sent[-1] == {"kind": "watched", "by": ["t1", "t2"], "typing": []}
    first = [m for m in t2.sent if m["kind"] == "screen"][-1]
    assert first["full"] and first["lines"]["1"][0][0].startswith("line two")
    hub.output(s_ada, b"\x1b[3;1Hthree")
    hub._tick(float("inf"))
    frames = [[m for m in t.sent if m["kind"] == "screen"][-1] for t in (t1, t2)]
    assert frames[0] == frames[1] and not frames[0]["full"] and list(frames[0]["lines"]) == ["2"]
    hub.message(s_t1, {"kind": "send", "lesson": "dead-relu"})
    assert ada.sent[-1] == bob.sent[-1] == {"kind": "sent", "by": "t1", "lesson": "dead-relu"}
    assert t1.sent[-1] == {"kind": "sent_ok", "count": 2, "lesson": "dead-relu"}
    hub.message(s_t1, {"kind": "send", "lesson": "../../etc"})
    assert t1.sent[-1]["kind"] == "sent_ok" and len([m for m in bob.sent if m["kind"] == "sent"]) == 1
    hub.message(s_bob, {"kind": "watch", "name": "ada"})          # a student's request is not a teacher's
    assert hub.seats[s_bob].watching is None and ada.sent[-1]["kind"] == "sent"
    hub.left(s_t1)
    assert ada.sent[-1] == {"kind": "watched", "by": ["t2"], "typing": []}
    hub.left(s_ada)
    assert t2.sent[-1] == {"kind": "watch_ended", "name": "ada", "why": "ada disconnected"}
