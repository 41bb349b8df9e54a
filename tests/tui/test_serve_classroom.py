"""The classroom over real SSH: teachers' keys open the class view, students' keys never do;
the class view sees connected students, watches one, sends a lesson they open with O."""

from __future__ import annotations

import asyncio
import re
import json
import os
import sys
from pathlib import Path

import asyncssh
import pytest
from serve_helpers import WAIT, Term, connect, refusal_after_login, running, until

from tui.serve import ServeConfig, Server, ServeError

pytestmark = pytest.mark.skipif(not hasattr(os, "pidfd_open"), reason="netstep serve needs Linux pidfds")

APP = [sys.executable, "-m", "tui"]


def _teacher(tmp_path: Path, server, name="teach") -> str:
    key = asyncssh.generate_private_key("ssh-ed25519", comment=name)
    path = tmp_path / "keys" / name
    key.write_private_key(str(path))
    os.chmod(path, 0o600)
    (tmp_path / "keys" / "teachers").write_text(key.export_public_key().decode())
    server.test_keys[name] = str(path)
    return str(path)


def _teachers_file(tmp_path: Path) -> str:
    """A teachers file written before the server starts (its keys are read at start)."""
    (tmp_path / "keys").mkdir(parents=True, exist_ok=True)
    key = asyncssh.generate_private_key("ssh-ed25519", comment="teach")
    path = tmp_path / "keys" / "teach"
    key.write_private_key(str(path))
    os.chmod(path, 0o600)
    (tmp_path / "keys" / "teachers").write_text(key.export_public_key().decode())
    return str(tmp_path / "keys" / "teachers")


async def test_a_teacher_sees_watches_and_sends_a_student_never_reaches_it(tmp_path, monkeypatch):
    # Unwatched output beyond 1 KB is dropped: the teacher's first frame is the app's full repaint.
    monkeypatch.setattr("tui.serve.vscreen.KEEP", 1024)
    teachers = _teachers_file(tmp_path)
    async with running(tmp_path, command=APP, teachers=teachers) as server:
        server.test_keys["teach"] = str(tmp_path / "keys" / "teach")
        async with await connect(server, "alice") as a_conn, await connect(server, "teach") as t_conn:
            alice = await Term.open(a_conn, 120, 36)
            await alice.wait_for(r"\bstep 0\b")
            alice.send(" ")
            await alice.wait_for(r"\bstep 1\b")
            assert "class" not in alice.text().splitlines()[0]

            teacher = await Term.open(t_conn, 120, 36)
            await teacher.wait_for(r"1 of 1 connected")     # alice (bob has no folder until he logs in)
            await teacher.wait_for(r"alice\s+dashboard")
            status = json.loads((tmp_path / "data" / "classroom" / "status" / "alice.json").read_text())
            assert status["connected"] and status["last_key"] == "space" and status["trained"] == 1

            assert server.hub._find("alice").vscreen.stale
            teacher.send("\r")                               # watch alice (the first row)
            await teacher.wait_for(r"watching alice · read-only")
            await teacher.wait_for(r"PAUSED")                # her whole screen, from the first frame
            await teacher.wait_for(r"(?s)PAUSED.*train loss.*╭")
            await alice.wait_for(r"watched by teach")
            alice.send(" ")
            await alice.wait_for(r"\bstep 2\b")
            await teacher.wait_for(r"\bstep 2\b")            # live
            teacher.send("x")                                # read-only: nothing reaches her
            await asyncio.sleep(0.5)
            assert server.hub._find("alice").last_key == "space"
            teacher.send("\x1b")
            await teacher.wait_for(r"alice\s+dashboard")
            await until(lambda: not server.hub._find("alice").watchers)

            teacher.send("s")                                # send the first lesson to the class
            await teacher.wait_for(r"Send to every connected student")
            teacher.send("\r")
            await teacher.wait_for(r"sent \S+ to 1 connected students")
            await alice.wait_for(r"press O to open it")
            alice.send("O")
            await alice.wait_for(r"step 1 of|Step 1")
            await teacher.wait_for(r"alice\s+(?!dashboard)[a-z-]+\s+1/\d+")
            # her progress file (SQLite, WAL) is read by the sandboxed class view without error
            await until((tmp_path / "data" / "users" / "alice" / "progress.sqlite3").exists)
            await asyncio.sleep(2.0)
            assert "progress.sqlite3" not in teacher.text() and "! " not in teacher.text()

        # bob's key is a student's: the app, never the class view
        async with await connect(server, "bob") as b_conn:
            bob = await Term.open(b_conn, 120, 36)
            await bob.wait_for(r"\bstep 0\b")
            assert "connected" not in bob.text()
            assert server.hub._find("bob") is not None and not server.hub._find("bob").teacher


async def test_a_key_in_both_files_is_refused_at_start(tmp_path):
    from serve_helpers import make_keys

    keys = make_keys(tmp_path / "keys")
    both = tmp_path / "keys" / "teachers"
    both.write_text(Path(keys["alice"] + ".pub").read_text())
    with pytest.raises(ServeError, match="share keys \\(alice\\)"):
        Server(ServeConfig(port=0, authorized_keys=str(tmp_path / "keys" / "authorized_keys"),
                           teachers=str(both), data_dir=str(tmp_path / "data")))


async def test_an_unknown_key_is_neither_teacher_nor_student(tmp_path):
    teachers = _teachers_file(tmp_path)
    async with running(tmp_path, teachers=teachers) as server:
        assert "eve" in server.test_keys
        with pytest.raises(asyncssh.PermissionDenied):
            await connect(server, "eve")


async def test_with_teachers_can_type_the_teacher_takes_the_keyboard_and_the_student_sees_it(tmp_path):
    teachers = _teachers_file(tmp_path)
    async with running(tmp_path, command=APP, teachers=teachers, teachers_can_type=True) as server:
        server.test_keys["teach"] = str(tmp_path / "keys" / "teach")
        async with await connect(server, "alice") as a_conn, await connect(server, "teach") as t_conn:
            alice = await Term.open(a_conn, 120, 36)
            await alice.wait_for(r"\bstep 0\b")
            teacher = await Term.open(t_conn, 120, 36)
            await teacher.wait_for(r"alice\s+dashboard")
            teacher.send("\r")
            await teacher.wait_for(r"watching alice · read-only")
            teacher.send(" ")                                # read-only still: nothing happens
            await asyncio.sleep(0.5)
            teacher.send("\x14")                             # ctrl+t: take the keyboard
            await teacher.wait_for(r"YOU ARE TYPING")
            teacher.send(" ")
            await alice.wait_for(r"\bstep 1\b")
            await alice.wait_for(r"teach is typing")
            await teacher.wait_for(r"\bstep 1\b")
            teacher.send("\x14")                             # give it back
            await alice.wait_for(r"watched by teach")


async def test_without_the_flag_a_teacher_cannot_type(tmp_path):
    teachers = _teachers_file(tmp_path)
    async with running(tmp_path, command=APP, teachers=teachers) as server:
        server.test_keys["teach"] = str(tmp_path / "keys" / "teach")
        async with await connect(server, "alice") as a_conn, await connect(server, "teach") as t_conn:
            alice = await Term.open(a_conn, 120, 36)
            await alice.wait_for(r"\bstep 0\b")
            teacher = await Term.open(t_conn, 120, 36)
            await teacher.wait_for(r"alice\s+dashboard")
            teacher.send("\r")
            await teacher.wait_for(r"watching alice · read-only")
            teacher.send("\x14")
            await teacher.wait_for(r"--teachers-can-type")
            teacher.send(" ")
            # Even a forged request is refused by the server, not only by the view.
            (t_seat,) = [s for s in server.hub.seats.values() if s.teacher]
            server.hub.message(t_seat.session, {"kind": "keys", "data": "   "})
            await asyncio.sleep(1.0)
            assert re.search(r"\bstep 0\b", alice.text())


@pytest.mark.parametrize("content, message", [
    (None, "cannot read --teachers keys"),
    ("not a key\n", "is not an OpenSSH public key"),
])
def test_a_bad_teachers_file_is_one_line_and_exit_2(tmp_path, content, message):
    import subprocess

    from serve_helpers import make_keys

    make_keys(tmp_path / "keys")
    teachers = tmp_path / "keys" / "teachers"
    if content is not None:
        teachers.write_text(content)
    env = dict(os.environ, NETSTEP_DATA_DIR=str(tmp_path / "data"))
    out = subprocess.run([sys.executable, "-m", "tui", "serve", "--port", "0", "--authorized-keys",
                          str(tmp_path / "keys" / "authorized_keys"), "--teachers", str(teachers)],
                         capture_output=True, text=True, env=env, timeout=WAIT)
    assert out.returncode == 2 and message in out.stderr and "Traceback" not in out.stderr
    assert [line for line in out.stderr.splitlines() if line.startswith("netstep:")] and not out.stdout


async def test_a_students_session_cannot_read_what_the_server_publishes(tmp_path):
    from tui.serve import landlock_abi

    if not landlock_abi():
        pytest.skip("no Landlock on this kernel: sessions are not sandboxed")
    async with running(tmp_path) as server:
        async with await connect(server, "bob") as b_conn:   # bob is connected: his status is written
            bob = await Term.open(b_conn)
            await bob.pid()
            status = server.root / "classroom" / "status" / "bob.json"
            await until(status.exists)
            await until((server.root / "classroom" / "server.json").exists)
            paths = [str(status), str(server.root / "classroom" / "server.json"), str(server.root / "classroom")]
            (server.root / "users" / "alice").mkdir(parents=True, exist_ok=True)
            (server.root / "users" / "alice" / "probe-paths.txt").write_text("\n".join(paths))
            async with await connect(server, "alice") as a_conn:
                alice = await Term.open(a_conn, 250, 40)
                await alice.pid()
                alice.send("r")
                await alice.wait_for(rf"read {paths[-1]} \w+")
                found = dict(line.split()[1:3] for line in alice.text().splitlines() if line.startswith("read "))
    assert found == {p: "DENIED" for p in paths}


async def test_teachers_with_anonymous_guests_a_guest_gets_the_app_a_teacher_the_class_view(tmp_path):
    teachers = _teachers_file(tmp_path)
    async with running(tmp_path, authorized_keys=None, allow_anonymous=True, teachers=teachers) as server:
        server.test_keys["teach"] = str(tmp_path / "keys" / "teach")
        # no key: an empty keyboard-interactive round makes a guest (as with --authorized-keys)
        async with await connect(server, None, username="visitor", password="", kbdint_auth=True) as g_conn:
            guest = await Term.open(g_conn)
            await guest.pid()                                  # the stand-in app, not the class view
            assert "connected" not in guest.text()
            async with await connect(server, "teach") as t_conn:
                teacher = await Term.open(t_conn, 120, 36)
                await teacher.wait_for(r"of \d+ connected")
        # alice's key is in neither file here: no way in with it, and not as a teacher
        with pytest.raises(asyncssh.PermissionDenied):
            await connect(server, "alice", preferred_auth="publickey")


# -- browser students (tui/serve/web.py) in the classroom, as SSH students are


async def test_a_browser_student_is_in_the_class_with_its_status_and_leaves_it(tmp_path):
    from test_serve_web import Tab, web_server

    from tui.classroom.state import load_class

    async with web_server(tmp_path) as (server, front):
        tab = await Tab.open(front, "alice")
        await tab.wait_for(r"channel=yes")        # the classroom's pipes, as an SSH child gets them
        await tab.send("xy")
        await tab.wait_for(r"keys=2")

        def alice():
            rows = {r.name: r for r in load_class(tmp_path / "data").rows}
            return rows.get("alice")

        await until(lambda: alice() is not None and alice().trained == 2 and alice().last_key == "y")
        row = alice()
        assert row.connected and row.since is not None
        assert (row.lesson, row.title, row.step, row.steps, row.check) == ("adam", "Standin lesson", 2, 5, False)
        seat = server.hub._find("alice")
        assert seat.session in front.sessions and not seat.teacher
        assert seat.vscreen.size == (100, 30) and "keys=2" in seat.vscreen.text()   # her screen, her size
        await tab.ws.send_str(json.dumps(["resize", {"width": 70, "height": 22}]))
        await tab.wait_for(r"resized 70x22")
        assert seat.vscreen.size == (70, 22)
        await tab.send("q")
        await tab.until_closed()
        await until(lambda: not alice().connected)
        assert server.hub._find("alice") is None


async def test_a_teacher_watches_types_into_and_sends_to_a_browser_student(tmp_path):
    from test_serve_web import Tab, web_server

    teachers = _teachers_file(tmp_path)
    async with web_server(tmp_path, teachers=teachers, teachers_can_type=True) as (server, front):
        server.test_keys["teach"] = str(tmp_path / "keys" / "teach")
        tab = await Tab.open(front, "alice", width=90, height=20)
        await tab.send("xy")
        await tab.wait_for(r"keys=2")
        async with await connect(server, "teach") as t_conn:
            teacher = await Term.open(t_conn, 120, 36)
            await teacher.wait_for(r"alice\s+adam\s+2/5")        # in the class view like an SSH student
            teacher.send("\r")                                    # watch her
            await teacher.wait_for(r"watching alice · read-only")
            await teacher.wait_for(r"WEBSTANDIN pid=\d+ user=alice")   # her screen from the first frame
            await tab.wait_for(r'CONTROL \{"by": \["teach"\], "kind": "watched", "typing": \[\]\}')
            await tab.send("w")                                   # live: her next key is on his screen
            await teacher.wait_for(r"keys=3")
            teacher.send("\x14")                                  # ctrl+t: the teacher takes the keyboard
            await teacher.wait_for(r"YOU ARE TYPING")
            teacher.send("k")
            await tab.wait_for(r"keys=4")                         # his key reached the browser's app
            await tab.wait_for(r'"typing": \["teach"\]')
            await teacher.wait_for(r"keys=4")
            teacher.send("\x14")
            teacher.send("\x1b")
            await teacher.wait_for(r"alice\s+adam")
            await until(lambda: not server.hub._find("alice").watchers)
            await tab.wait_for(r'CONTROL \{"by": \[\], "kind": "watched"')

            teacher.send("s")                                     # send the first lesson to the class
            await teacher.wait_for(r"Send to every connected student")
            teacher.send("\r")
            await teacher.wait_for(r"sent \S+ to 1 connected students")
            await tab.wait_for(r'CONTROL \{"by": "teach", "kind": "sent", "lesson": "[a-z0-9-]+"\}')
        await tab.send("q")
        await tab.until_closed()


async def test_the_real_app_in_a_browser_is_watched_and_opens_what_was_sent(tmp_path):
    from test_serve_web import Tab, web_server

    teachers = _teachers_file(tmp_path)
    async with web_server(tmp_path, teachers=teachers, command=APP) as (server, front):
        server.test_keys["teach"] = str(tmp_path / "keys" / "teach")
        tab = await Tab.open(front, "alice", width=120, height=36)
        await until(lambda: server.hub._find("alice") is not None
                    and server.hub._find("alice").status.get("screen") == "dashboard")
        await tab.send(" ")
        await until(lambda: server.hub._find("alice").status.get("trained") == 1)
        async with await connect(server, "teach") as t_conn:
            teacher = await Term.open(t_conn, 120, 36)
            await teacher.wait_for(r"alice\s+dashboard")
            teacher.send("\r")
            await teacher.wait_for(r"(?s)watching alice · read-only.*train loss.*╭")
            await tab.send(" ")
            await teacher.wait_for(r"\bstep 2\b")
            await teacher.wait_for(r"watched by teach")      # her status line, as her browser shows it
            teacher.send("\x1b")
            await until(lambda: not server.hub._find("alice").watchers)
            teacher.send("s")
            await teacher.wait_for(r"Send to every connected student")
            teacher.send("\r")
            await teacher.wait_for(r"sent \S+ to 1 connected students")
            await until(lambda: server.hub._find("alice").status.get("screen") == "dashboard"
                        and "press O" in server.hub._find("alice").vscreen.text())
            await tab.send("O")
            await until(lambda: server.hub._find("alice").status.get("screen") == "lesson")
            await teacher.wait_for(r"alice\s+(?!dashboard)[a-z-]+\s+1/\d+")
