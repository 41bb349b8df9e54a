"""`netstep serve` with the real app as the session program (the default command)."""

from __future__ import annotations

import asyncio
import importlib.util
import os
import re
import sys

import pytest
from serve_helpers import WAIT, Term, connect, gone, running

pytestmark = [
    pytest.mark.skipif(not hasattr(os, "pidfd_open"), reason="netstep serve needs Linux pidfds"),
    pytest.mark.skipif(importlib.util.find_spec("tui.app") is None, reason="the Textual app (tui/app.py) is not built"),
]


def _child_pid(server) -> int:
    (session,) = server.sessions
    return session.child.pid


async def test_real_app_over_ssh_steps_reflows_and_quits(tmp_path):
    async with running(tmp_path, command=[sys.executable, "-m", "tui"]) as server:
        async with await connect(server, "alice") as conn:
            term = await Term.open(conn, 120, 36)
            await term.wait_for(r"\bstep 0\b")
            pid = _child_pid(server)

            term.send(" ")                      # one training step
            await term.wait_for(r"\bstep 1\b")
            term.send(" ")
            await term.wait_for(r"\bstep 2\b")

            term.resize(90, 30)                 # panels redraw to the new width
            await term.wait_for(r"(?m)^╭[^\n]{88}╮$")
            assert not re.search(r"(?m)^[^\n]{91}", term.text())

            term.send("q")
            assert await term.closed() == 0
        assert await gone(pid)
        # The app ran in alice's own folder.
        assert (tmp_path / "data" / "users" / "alice").is_dir()


async def test_real_app_sessions_are_independent(tmp_path):
    async with running(tmp_path, command=[sys.executable, "-m", "tui"]) as server:
        conns = await asyncio.gather(connect(server, "alice"), connect(server, "bob"))
        a, b = await asyncio.gather(*(Term.open(c, 120, 36) for c in conns))
        await asyncio.gather(a.wait_for(r"\bstep 0\b"), b.wait_for(r"\bstep 0\b"))
        for _ in range(3):
            a.send(" ")
        await a.wait_for(r"\bstep 3\b")
        b.send(" ")
        await b.wait_for(r"\bstep 1\b")
        assert re.search(r"\bstep 3\b", a.text()) and not re.search(r"\bstep [23]\b", b.text())
        pids = [s.child.pid for s in server.sessions]
        for t in (a, b):
            t.send("q")
        assert await asyncio.gather(a.closed(), b.closed()) == [0, 0]
        for pid in pids:
            assert await gone(pid, WAIT)
        for c in conns:
            c.close()


async def test_served_app_saves_only_inside_the_students_folder(tmp_path):
    async with running(tmp_path, command=[sys.executable, "-m", "tui"]) as server:
        async with await connect(server, "alice") as conn:
            term = await Term.open(conn, 120, 36)
            await term.wait_for(r"\bstep 0\b")
            term.send("\x13")                          # ctrl+s: save the run
            await term.wait_for(r"Save the run")
            for name in ("../bob/evil.npz", "mine.npz"):
                for keys in ("\x01", "\x0b"):            # ctrl+a ctrl+k: empty the field
                    term.send(keys)
                    await asyncio.sleep(0.3)            # one at a time: sent in one burst with the text, the field came out empty
                term.send(name)
                await term.wait_for(rf"│ {re.escape(name)} +│")
                term.send("\r")
                if name.startswith(".."):
                    await term.wait_for(r"own folder")
            saved = tmp_path / "data" / "users" / "alice" / "mine.npz"
            for _ in range(600):
                if saved.exists():
                    break
                await asyncio.sleep(0.1)
            assert saved.exists()
            assert not (tmp_path / "data" / "users" / "bob").exists()
            term.send("q")
            assert await term.closed() == 0


async def test_files_in_the_students_folder_never_replace_the_apps_modules(tmp_path):
    """Finding 3: a `numpy.py` exported into the student's folder (the session's working
    directory) made every later login crash. Sessions import nothing from that folder."""
    from tui.serve import ServeConfig

    folder = tmp_path / "data" / "users" / "alice"
    boom = "raise SystemExit('imported from the student folder')\n"
    for name in ("numpy.py", "textual.py", "engine.py", "sitecustomize.py", "usercustomize.py"):
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(boom)
    (folder / "tui").mkdir()
    (folder / "tui" / "__init__.py").write_text(boom)
    site = folder / ".local" / "lib" / f"python{sys.version_info[0]}.{sys.version_info[1]}" / "site-packages"
    site.mkdir(parents=True)
    (site / "numpy.py").write_text(boom)
    (site / "evil.pth").write_text("import os; os._exit(9)\n")
    async with running(tmp_path, command=ServeConfig().command) as server:
        async with await connect(server, "alice") as conn:
            term = await Term.open(conn, 120, 36)
            await term.wait_for(r"\bstep 0\b")
            term.send(" ")
            await term.wait_for(r"\bstep 1\b")
            term.send("q")
            assert await term.closed() == 0
    assert b"student folder" not in term.raw


async def test_save_refuses_code_names_and_the_progress_database(tmp_path):
    """Finding 3: saving to numpy.py (or over progress.sqlite3) is refused with a message."""
    folder = tmp_path / "data" / "users" / "alice"
    async with running(tmp_path, command=[sys.executable, "-m", "tui"]) as server:
        async with await connect(server, "alice") as conn:
            term = await Term.open(conn, 120, 36)
            await term.wait_for(r"\bstep 0\b")
            term.send("\x13")                          # ctrl+s: save the run
            await term.wait_for(r"Save the run")
            for name, message in (("numpy.py", r"\.py are not allowed"), ("progress.sqlite3", r"keeps your progress")):
                for keys in ("\x01", "\x0b"):            # ctrl+a ctrl+k: empty the field
                    term.send(keys)
                    await asyncio.sleep(0.3)
                term.send(name)
                await term.wait_for(rf"│ {re.escape(name)} +│")
                term.send("\r")
                await term.wait_for(message)
            term.send("\x1b")
            await asyncio.sleep(0.5)
            term.send("q")
            await term.closed()
    assert not (folder / "numpy.py").exists()
