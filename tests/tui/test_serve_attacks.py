"""Issue 13 as attacks on a running server over loopback: one test per finding.

Each test here failed on the server before issue 13 (tui/serve.py as one module) and passes
now; the bound it checks is named in its docstring. The same attacks through a real OpenSSH
client against a real `netstep serve` are in test_serve_openssh.py.
"""

from __future__ import annotations

import asyncio
import logging
import os

import asyncssh
import pytest
from serve_helpers import STANDIN, WAIT, Term, connect, refusal_after_login, running

from tui.serve import ServeConfig, landlock_abi
from tui.serve.config import APP_BASELINE_MB, INPUT_BURST
from tui.serve.identity import derived_name

pytestmark = pytest.mark.skipif(not hasattr(os, "pidfd_open"), reason="netstep serve needs Linux pidfds")
needs_landlock = pytest.mark.skipif(not landlock_abi(), reason="this kernel has no Landlock")

DEFAULTS = ServeConfig()


def server_defaults(*names):
    """The server's own defaults for `names` (the `running` helper relaxes these limits)."""
    return {name: getattr(DEFAULTS, name) for name in names}


def class_keys(folder, names, comments=None):
    """Keys for `names` (comment = the name unless `comments` says otherwise) in one
    authorized_keys file; returns name -> private key path."""
    folder.mkdir(parents=True, exist_ok=True)
    paths, lines = {}, []
    for name in names:
        comment = (comments or {}).get(name, name)
        key = asyncssh.generate_private_key("ssh-ed25519", comment=comment)
        path = folder / name
        key.write_private_key(str(path))
        os.chmod(path, 0o600)
        paths[name] = str(path)
        lines.append(key.export_public_key().decode())
    (folder / "authorized_keys").write_text("".join(lines))
    return paths


async def probe(server, who: str, paths: list[str]) -> dict[str, str]:
    """Log in as `who`, have the stand-in open each path; path -> OPENED / DENIED / error."""
    folder = server.root / "users" / who
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "probe-paths.txt").write_text("\n".join(paths))
    async with await connect(server, who) as conn:
        term = await Term.open(conn, 250, 40)
        await term.pid()
        term.send("r")
        await term.wait_for(rf"read {paths[-1]} \w+")
        found = dict(line.split()[1:3] for line in term.text().splitlines() if line.startswith("read "))
        term.send("q")
        await term.closed()
    return found


# -- 1. identity is the key


async def test_a_comment_naming_another_keys_folder_does_not_open_it(tmp_path):
    """Finding 1: key k2's comment is key k1's derived folder name (k1 has no comment)."""
    keys = tmp_path / "idkeys"
    keys.mkdir()
    k1 = asyncssh.generate_private_key("ssh-ed25519")
    k2 = asyncssh.generate_private_key("ssh-ed25519", comment=derived_name(k1))
    paths = {}
    for name, key in (("k1", k1), ("k2", k2)):
        key.write_private_key(str(keys / name))
        paths[name] = str(keys / name)
    (keys / "authorized_keys").write_text(k1.export_public_key().decode() + k2.export_public_key().decode())
    async with running(tmp_path, authorized_keys=str(keys / "authorized_keys")) as server:
        server.test_keys = paths
        folders = {}
        for who in ("k1", "k2"):
            async with await connect(server, who) as conn:
                term = await Term.open(conn)
                folders[who] = (await term.wait_for(r"data=(\S+)")).group(1)
                if who == "k1":
                    term.send("f")                     # writes own.txt in k1's folder
                    await term.wait_for(r"own=ok")
                term.send("q")
                await term.closed()
    assert folders["k1"].endswith("/" + derived_name(k1))
    assert folders["k2"] != folders["k1"] and folders["k2"].endswith("/" + derived_name(k2))
    assert not os.path.exists(os.path.join(folders["k2"], "own.txt"))


# -- 2. no other session's terminal, no blanket /dev


@needs_landlock
async def test_a_session_cannot_open_another_sessions_terminal(tmp_path):
    """Finding 2: Landlock grants the session's own pty, /dev/null, /dev/urandom; not /dev."""
    async with running(tmp_path) as server:
        async with await connect(server, "bob") as bob_conn:
            bob = await Term.open(bob_conn)
            bob_pid = await bob.pid()
            bob_tty = (await bob.wait_for(r"tty=(/dev/pts/\d+)")).group(1)
            found = await probe(server, "alice", [bob_tty, f"/proc/{bob_pid}/fd/0", "/dev/zero", "/dev/random",
                                                  "/dev/null", "/dev/urandom", "/dev/tty"])
            bob.send("q")
            await bob.closed()
    assert found[bob_tty] == "DENIED" and found[f"/proc/{bob_pid}/fd/0"] in ("DENIED", "OSError")
    assert found["/dev/zero"] == "DENIED" and found["/dev/random"] == "DENIED"
    assert found["/dev/null"] == found["/dev/urandom"] == found["/dev/tty"] == "OPENED"


@needs_landlock
async def test_a_session_can_open_its_own_terminal(tmp_path):
    async with running(tmp_path) as server:
        async with await connect(server, "alice") as conn:
            term = await Term.open(conn, 250, 40)
            tty = (await term.wait_for(r"tty=(/dev/pts/\d+)")).group(1)
            (server.root / "users" / "alice" / "probe-paths.txt").write_text(tty)
            term.send("r")
            await term.wait_for(rf"read {tty} OPENED")
            term.send("q")
            await term.closed()


# -- 4. the server's working directory is not readable


@needs_landlock
async def test_the_folder_the_server_was_started_from_is_not_exposed(tmp_path, monkeypatch):
    """Finding 4: `python -m tui serve` puts its working directory first on sys.path, and every
    sys.path entry used to be readable by every session."""
    teacher = tmp_path / "teacher"
    teacher.mkdir()
    (teacher / "grades.csv").write_text("alice,F\nbob,A\n")
    monkeypatch.chdir(teacher)
    monkeypatch.syspath_prepend(str(teacher))
    monkeypatch.setenv("PYTHONPATH", str(teacher))
    async with running(tmp_path) as server:
        found = await probe(server, "alice", [str(teacher / "grades.csv"), str(teacher),
                                              os.path.join(os.path.dirname(STANDIN), "serve_helpers.py")])
    assert found[str(teacher / "grades.csv")] == "DENIED"
    assert found[str(teacher)] == "DENIED"


# -- 5. denial of service


async def test_eight_students_connecting_at_once_from_one_address_all_get_in(tmp_path):
    """Finding 5: logged-in sessions are limited per key (and in total), not per address."""
    names = [f"s{i}" for i in range(8)]
    keys = class_keys(tmp_path / "class", names)
    async with running(tmp_path, **server_defaults("max_per_address", "max_per_key", "max_startups"),
                       authorized_keys=str(tmp_path / "class" / "authorized_keys")) as server:
        server.test_keys = keys
        conns = await asyncio.gather(*(connect(server, name) for name in names))
        terms = await asyncio.gather(*(Term.open(c) for c in conns))
        await asyncio.gather(*(t.wait_for(rf"user={name} ") for t, name in zip(terms, names)))
        assert len(server.sessions) == 8
        for t in terms:
            t.send("q")
        await asyncio.gather(*(t.closed() for t in terms))
        for c in conns:
            c.close()


async def _silent_sockets(server, n):
    socks = [await asyncio.open_connection("127.0.0.1", server.port) for _ in range(n)]
    return [w for _, w in socks]


@pytest.mark.parametrize("silent, limits", [
    (DEFAULTS.max_per_address + 2, {}),                          # more than --max-per-address
    (DEFAULTS.startups()[2] + 10, {"max_per_address": 0}),       # more than MaxStartups' full
])
async def test_silent_sockets_do_not_lock_a_real_user_out(tmp_path, silent, limits):
    """Finding 5: a connection that sent nothing for a second gives its place to a new one."""
    settings = dict(server_defaults("max_per_address", "max_startups"), login_grace=WAIT * 2)
    settings.update(limits)
    async with running(tmp_path, **settings) as server:
        writers = await _silent_sockets(server, silent)
        await asyncio.sleep(1.2)                      # silent for longer than SILENT_AFTER
        async with await connect(server, "alice") as conn:
            term = await Term.open(conn)
            await term.wait_for(r"user=alice ")
            term.send("q")
            await term.closed()
        assert len(server.logging_in) <= server.startups[2]
        for w in writers:
            w.close()


async def test_a_key_may_hold_only_max_per_key_logins(tmp_path, caplog):
    """Finding 5: --max-per-key (default 2) bounds one student's logged-in connections."""
    caplog.set_level(logging.INFO, logger="netstep.serve")
    async with running(tmp_path, max_per_key=2) as server:
        first, second = await connect(server, "alice"), await connect(server, "alice")
        a, b = await Term.open(first), await Term.open(second)
        await a.pid(), await b.pid()
        reason = await refusal_after_login(server, "alice")
        assert "alice is already logged in 2 times (at most 2 at once)" in reason
        async with await connect(server, "bob") as conn:     # another student is not affected
            term = await Term.open(conn)
            await term.wait_for(r"user=bob ")
            term.send("q")
            await term.closed()
        a.send("q")
        await a.closed()
        third = await connect(server, "alice")               # a place freed by a session's end
        c = await Term.open(third)
        await c.pid()
        for t in (b, c):
            t.send("q")
            await t.closed()
        for conn in (first, second, third):
            conn.close()


def test_accept_errors_are_logged_once_per_period(tmp_path, caplog):
    """Finding 5: asyncio logs a traceback for every failed accept (129k a minute were seen)."""
    from tui.serve.server import Server

    caplog.set_level(logging.INFO, logger="netstep.serve")
    server = Server(ServeConfig(allow_anonymous=True, data_dir=str(tmp_path)))
    loop = asyncio.new_event_loop()
    try:
        for _ in range(5000):
            server._loop_error(loop, {"message": "socket.accept() out of system resource",
                                      "exception": OSError(24, "Too many open files")})
    finally:
        loop.close()
    assert caplog.text.count("cannot accept connections") == 1


# -- 8. memory budget


async def test_sessions_get_the_memory_budget_derived_from_the_machine(tmp_path, monkeypatch):
    """Finding 8: the per-session limit is the machine's share, and the engine is told its budget."""
    monkeypatch.setattr("tui.serve.config.machine_memory_mb", lambda: 16384)
    async with running(tmp_path, max_sessions=8) as server:
        limit = server.config.session_memory_mb()
        assert limit == 16384 * 3 // 4 // 8 == 1536
        async with await connect(server, "alice") as conn:
            term = await Term.open(conn, 250, 40)
            term.send("l")
            found = await term.wait_for(r"limits as=(\d+)")
            assert int(found.group(1)) == limit << 20
            await term.wait_for(rf"budget={(limit - APP_BASELINE_MB) << 20} confine=\S+/users/alice")
            term.send("q")
            await term.closed()


# -- 9. paste flood


async def test_an_8_mb_paste_reaches_the_app_only_up_to_the_input_bound(tmp_path, caplog):
    """Finding 9: the input gate passes INPUT_BURST at once and INPUT_RATE a second after that."""
    caplog.set_level(logging.INFO, logger="netstep.serve")
    async with running(tmp_path) as server:
        async with await connect(server, "alice") as conn:
            term = await Term.open(conn)
            await term.pid()
            paste = b"\x1b[200~" + b"y" * (8 << 20) + b"\x1b[201~"
            term.send(paste)
            await term.wait_for(r"pastes=1/1")           # the end of the paste always arrives
            await asyncio.sleep(1.0)
            term.send("zz")                              # typing works again afterwards
            await term.wait_for(r"zz\ncount=\d+")
            count = int((await term.wait_for(r"count=(\d+)")).group(1))
            assert count < 1 << 20, f"{count} bytes of the 8 MB paste reached the app"
            assert count >= INPUT_BURST // 2
            term.send("q")
            await term.closed()
    assert "bytes of input dropped (flood)" in caplog.text


# -- 12. a crash is one line for the student, the traceback in the server's log


async def test_a_crash_shows_one_line_and_the_log_gets_the_traceback(tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="netstep.serve")
    command = [*DEFAULTS.command, "--script", STANDIN]
    async with running(tmp_path, command=command) as server:
        async with await connect(server, "alice") as conn:
            term = await Term.open(conn)
            await term.pid()
            term.send("!")                               # the stand-in raises RuntimeError
            assert await term.closed() == 70
    shown = term.raw.decode("utf-8", "replace")
    assert "Traceback" not in shown and STANDIN not in shown and "RuntimeError" not in shown
    assert "the app hit an error and stopped" in term.text()
    assert "app crashed (status 70)" in caplog.text
    assert "Traceback" in caplog.text and "RuntimeError: the stand-in crashed on purpose" in caplog.text


# -- 13. operations


async def test_deleting_authorized_keys_locks_everyone_out(tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="netstep.serve")
    async with running(tmp_path) as server:
        async with await connect(server, "alice"):
            pass
        (tmp_path / "keys" / "authorized_keys").unlink()
        with pytest.raises(asyncssh.PermissionDenied):
            await connect(server, "alice")
    assert "nobody can log in with a key until it is back" in caplog.text


async def test_a_bad_line_added_mid_class_does_not_keep_new_students_out(tmp_path):
    async with running(tmp_path) as server:
        keys = tmp_path / "keys"
        newcomer = asyncssh.generate_private_key("ssh-ed25519", comment="carol")
        newcomer.write_private_key(str(keys / "carol"))
        with open(keys / "authorized_keys", "a") as f:
            f.write("ssh-ed25519 AAAA-this-line-is-broken dave\n")
            f.write(newcomer.export_public_key().decode())
        server.test_keys["carol"] = str(keys / "carol")
        async with await connect(server, "carol") as conn:
            term = await Term.open(conn)
            await term.wait_for(r"user=carol ")
            term.send("q")
            await term.closed()
        async with await connect(server, "alice"):
            pass
