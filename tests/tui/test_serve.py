"""`netstep serve` over loopback: an asyncssh client against the server, the stand-in app as child."""

from __future__ import annotations

import asyncio
import logging
import os
import signal

import asyncssh
import pytest
from serve_helpers import WAIT, Term, connect, gone, refusal_after_login, running, until

pytestmark = pytest.mark.skipif(not hasattr(os, "pidfd_open"), reason="netstep serve needs Linux pidfds")


async def test_pty_session_renders_takes_keys_reflows_and_quits(tmp_path):
    async with running(tmp_path) as server:
        conn = await connect(server, "alice", username="whatever-they-type")
        term = await Term.open(conn, 200, 24, env={"LANG": "C.UTF-8"})
        pid = await term.pid()
        await term.wait_for(r"size=200x24 term=xterm-256color")
        # The key's comment, not the typed user name, picks the folder.
        folder = tmp_path / "data" / "users" / "alice"
        await term.wait_for(rf"user=alice cwd={folder}")
        await term.wait_for(rf"data={folder}")
        await term.wait_for(r"lang=C\.UTF-8")
        assert folder.is_dir() and (folder.stat().st_mode & 0o777) == 0o700

        term.send("wow cute")  # no stand-in command letters (q x s b m l f g h)
        await term.wait_for(r"keys=wow cute\ncount=8")

        term.resize(100, 30)
        await term.wait_for(r"size=100x30")
        await term.wait_for(r"\n={100}")   # the rule reflowed to the new width
        term.resize(60, 20)
        await term.wait_for(r"size=60x20")
        assert "=" * 60 in term.text() and "=" * 61 not in term.text()

        term.send("q")
        assert await term.closed() == 0
        assert await gone(pid), "the child (or its group) outlived its session"
        await asyncio.wait_for(conn.wait_closed(), WAIT)   # one session per connection


async def test_child_runs_in_its_own_session_under_limits(tmp_path):
    async with running(tmp_path, memory_limit=1024, cpu_limit=600) as server:
        async with await connect(server, "bob") as conn:
            term = await Term.open(conn)
            pid = await term.pid()
            term.send("l")
            found = await term.wait_for(r"limits as=(\d+) cpu=(\d+) nice=(\d+) sid=(\d+) pgid=(\d+) fg=(\w+)")
            as_limit, cpu, nice, sid, pgid, fg = found.groups()
            assert int(as_limit) == 1024 << 20 and int(cpu) == 600 and int(nice) >= 10
            assert int(sid) == pid and int(pgid) == pid and fg == "True"
            term.send("m")   # 3 GB does not fit under 1 GB: refused, and the session lives on
            await term.wait_for(r"MemoryError")
            term.send("k")
            await term.wait_for(r"keys=k")
            term.send("q")
            assert await term.closed() == 0
        assert await gone(pid)


async def test_cpu_limit_ends_a_runaway_session_with_a_message(tmp_path):
    async with running(tmp_path, cpu_limit=1) as server:
        async with await connect(server) as conn:
            term = await Term.open(conn)
            pid = await term.pid()
            term.send("b")   # spins until RLIMIT_CPU's SIGXCPU
            assert await term.closed() != 0
            assert b"used up its CPU time (1 s)" in term.raw
            assert await gone(pid)


async def test_wrong_key_is_refused(tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="netstep.serve")
    async with running(tmp_path) as server:
        with pytest.raises(asyncssh.PermissionDenied):
            await connect(server, "eve")
        with pytest.raises(asyncssh.PermissionDenied):
            await connect(server, None)          # no key at all
        assert not server.sessions
    assert "auth refused" in caplog.text and "not authenticated" in caplog.text


async def test_session_without_pty_gets_one_line_and_is_closed(tmp_path):
    async with running(tmp_path) as server:
        async with await connect(server) as conn:
            process = await conn.create_process(encoding=None)      # like `ssh -T host`
            message = await asyncio.wait_for(process.stderr.read(), WAIT)
            await asyncio.wait_for(process.wait_closed(), WAIT)
            assert process.exit_status == 1
            assert message.count(b"\n") == 1 and b"needs a terminal" in message
        assert not server.sessions


async def test_commands_subsystems_and_forwarding_are_refused(tmp_path):
    async with running(tmp_path) as server:
        async with await connect(server) as conn:
            result = await asyncio.wait_for(conn.run("cat /etc/passwd", term_type="xterm", encoding=None), WAIT)
            assert result.exit_status == 1 and b"`cat /etc/passwd` is not available" in result.stderr
        async with await connect(server) as conn:
            result = await asyncio.wait_for(conn.run("scp -t /tmp", encoding=None), WAIT)
            assert result.exit_status == 1 and b"not available" in result.stderr
        async with await connect(server) as conn:
            with pytest.raises((asyncssh.ChannelOpenError, asyncssh.SFTPError)):
                await asyncio.wait_for(conn.start_sftp_client(), WAIT)
        async with await connect(server) as conn:
            with pytest.raises(asyncssh.ChannelOpenError, match="forwarding is disabled"):
                await asyncio.wait_for(conn.create_connection(asyncssh.SSHTCPSession, "127.0.0.1", 22), WAIT)
            with pytest.raises(asyncssh.ChannelListenError):
                await asyncio.wait_for(conn.forward_remote_port("127.0.0.1", 0, "127.0.0.1", 22), WAIT)
        assert not server.sessions


async def test_lesson_command_is_passed_to_the_app(tmp_path):
    async with running(tmp_path) as server:
        async with await connect(server) as conn:
            term = await Term.open(conn, command="lesson xor-1")
            await term.wait_for(r"args=lesson xor-1 ")
            term.send("q")
            assert await term.closed() == 0
        async with await connect(server) as conn:
            result = await asyncio.wait_for(conn.run("lesson ../../etc", term_type="xterm", encoding=None), WAIT)
            assert result.exit_status == 1 and b"not available" in result.stderr


async def test_max_sessions_is_enforced_politely(tmp_path):
    async with running(tmp_path, max_sessions=2) as server:
        first, second = await connect(server, "alice"), await connect(server, "bob")
        a, b = await Term.open(first), await Term.open(second)
        await a.pid(), await b.pid()

        # Refused as soon as it logs in (logged-in connections count toward the total).
        assert "all 2 sessions are in use" in await refusal_after_login(server, "alice")

        a.send("q")
        assert await a.closed() == 0
        fourth = await connect(server, "alice")
        c = await Term.open(fourth)
        await c.pid()                      # a freed slot is usable again
        for term in (b, c):
            term.send("q")
            assert await term.closed() == 0
        for conn in (first, second, fourth):
            conn.close()


async def test_per_address_limit_counts_only_connections_logging_in(tmp_path):
    async with running(tmp_path, max_per_address=1, login_grace=WAIT * 2) as server:
        # Logged in, a connection no longer counts for its address: a class behind NAT.
        async with await connect(server, "alice"), await connect(server, "bob"):
            pass
        # One that said hello but is still logging in holds the address's only place...
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(b"SSH-2.0-slowpoke\r\n")
        await until(lambda: any(c.spoke() for c in server.logging_in))
        # ...so the next is closed at once (long before the login grace of 2 x WAIT)
        r2, w2 = await asyncio.open_connection("127.0.0.1", server.port)
        await asyncio.wait_for(r2.read(), WAIT)
        assert r2.at_eof() and len(server.logging_in) == 1
        w2.close()
        writer.close()
        await until(lambda: not server.logging_in)
        async with await connect(server, "bob"):    # the place is free again
            pass


async def test_twelve_sessions_render_and_killing_one_leaves_the_rest(tmp_path):
    async with running(tmp_path, max_sessions=12) as server:
        conns = await asyncio.gather(*(connect(server, ("alice", "bob")[i % 2]) for i in range(12)))
        terms = await asyncio.gather(*(Term.open(c, 70 + i, 20) for i, c in enumerate(conns)))
        pids = await asyncio.gather(*(t.pid() for t in terms))
        await asyncio.gather(*(t.wait_for(rf"size={70 + i}x20") for i, t in enumerate(terms)))
        assert len(set(pids)) == 12 and len(server.sessions) == 12

        os.kill(pids[5], signal.SIGKILL)       # one student's app dies hard
        assert await terms[5].closed() == 128 + signal.SIGKILL
        assert b"ended unexpectedly (SIGKILL)" in terms[5].raw
        assert await gone(pids[5])

        terms[7].send("s")                       # another one crashes by itself
        assert await terms[7].closed() == 128 + signal.SIGSEGV
        assert await gone(pids[7])

        alive = [t for i, t in enumerate(terms) if i not in (5, 7)]
        for i, t in enumerate(alive):
            t.send(f"k{i}")
        await asyncio.gather(*(t.wait_for(rf"keys=k{i}\n") for i, t in enumerate(alive)))
        assert len(server.sessions) == 10
        for t in alive:
            t.send("q")
        assert await asyncio.gather(*(t.closed() for t in alive)) == [0] * 10
        for pid in pids:
            assert await gone(pid)
        for c in conns:
            c.close()


async def test_stopping_the_server_ends_every_child(tmp_path):
    async with running(tmp_path) as server:
        conns = [await connect(server, who) for who in ("alice", "bob", "alice")]
        terms = [await Term.open(c) for c in conns]
        pids = [await t.pid() for t in terms]
        await server.close()
        for t, pid in zip(terms, pids):
            await t.closed()
            assert b"the server is shutting down" in t.raw
            assert await gone(pid)
        assert not server.sessions and not server.connections


async def test_idle_timeout_closes_a_quiet_session(tmp_path):
    async with running(tmp_path, idle_timeout=1.0) as server:
        async with await connect(server) as conn:
            term = await Term.open(conn)
            pid = await term.pid()
            await term.closed()
            assert b"without input" in term.raw
            assert await gone(pid)


async def test_login_grace_drops_silent_and_sessionless_connections(tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="netstep.serve")
    async with running(tmp_path, login_grace=1.0) as server:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        assert (await asyncio.wait_for(reader.readline(), WAIT)).startswith(b"SSH-2.0-netstep")
        # Never log in: the server hangs up after the grace time.
        assert await asyncio.wait_for(reader.read(), WAIT) == b""
        writer.close()

        conn = await connect(server)              # logged in, but never asks for a session
        await asyncio.wait_for(conn.wait_closed(), WAIT)
        assert not server.connections
    assert "no session started within 1 s" in caplog.text


async def test_anonymous_guests_get_throw_away_folders(tmp_path):
    async with running(tmp_path, authorized_keys=None, allow_anonymous=True) as server:
        async with await connect(server, None, username="../../etc/passwd") as conn:
            term = await Term.open(conn)
            found = await term.wait_for(r"data=(\S+)")
            folder = found.group(1)
            guests = str(tmp_path / "data" / "guests" / str(os.getpid())) + "/"
            assert folder.startswith(guests) and "/" not in folder[len(guests):]
            assert os.path.isdir(folder)
            await term.wait_for(r"user=etc-passwd ")
            pid = await term.pid()
            term.send("q")
            assert await term.closed() == 0
        assert await gone(pid)
        for _ in range(100):
            if not os.path.exists(folder):
                break
            await asyncio.sleep(0.05)
        assert not os.path.exists(folder)


async def test_keys_and_anonymous_together(tmp_path):
    async with running(tmp_path, allow_anonymous=True) as server:
        async with await connect(server, "alice") as conn:
            term = await Term.open(conn)
            await term.wait_for(r"user=alice ")
            term.send("q")
            await term.closed()
        # An unknown key falls through to an empty keyboard-interactive round: a guest.
        async with await connect(server, "eve", username="eve", password="", kbdint_auth=True) as conn:
            term = await Term.open(conn)
            await term.wait_for(rf"data=\S+/guests/{os.getpid()}/eve-")
            term.send("q")
            await term.closed()


async def test_host_key_is_made_once_with_mode_0600(tmp_path):
    async with running(tmp_path) as server:
        first = server.host_key.get_fingerprint("sha256")
        async with await connect(server) as conn:
            seen = conn.get_server_host_key().get_fingerprint("sha256")
    path = tmp_path / "data" / "ssh_host_ed25519_key"
    assert (path.stat().st_mode & 0o777) == 0o600
    async with running(tmp_path) as server:
        assert server.host_key.get_fingerprint("sha256") == first == seen


async def test_start_sweeps_guest_folders_of_servers_that_are_gone(tmp_path):
    guests = tmp_path / "data" / "guests"
    (guests / "999999999").mkdir(parents=True)   # above any pid_max: that server is gone
    (guests / "1").mkdir()                       # pid 1 runs: another server's guests stay
    async with running(tmp_path, allow_anonymous=True):
        assert not (guests / "999999999").exists() and (guests / "1").is_dir()
        assert (guests / str(os.getpid())).is_dir()
    assert not (guests / str(os.getpid())).exists()


async def test_sessions_are_sandboxed_to_their_own_folder(tmp_path):
    from tui.serve import landlock_abi

    if not landlock_abi():
        pytest.skip("this kernel has no Landlock")
    bob = tmp_path / "data" / "users" / "bob"
    bob.mkdir(parents=True)
    (bob / "secret.txt").write_text("bob's work")
    async with running(tmp_path) as server:
        async with await connect(server, "alice") as conn:
            term = await Term.open(conn)
            term.send("f")
            found = await term.wait_for(r"probe read-other=DENIED write-other=DENIED shadow=DENIED own=ok tmp=ok "
                                        r"signal-parent=(\w+) tcp=(\w+)")
            if landlock_abi() >= 6:
                assert found.group(1) == "DENIED"   # cannot signal the server (or anyone outside)
            if landlock_abi() >= 4:
                assert found.group(2) == "DENIED"   # no TCP from a session
            term.send("q")
            assert await term.closed() == 0
    assert (tmp_path / "data" / "users" / "alice" / "own.txt").exists()
    assert not (bob / "evil.txt").exists()


async def test_without_sandbox_the_same_probe_gets_through(tmp_path):
    bob = tmp_path / "data" / "users" / "bob"
    bob.mkdir(parents=True)
    (bob / "secret.txt").write_text("bob's work")
    async with running(tmp_path, sandbox=False) as server:
        async with await connect(server, "alice") as conn:
            term = await Term.open(conn)
            term.send("f")
            await term.wait_for(r"probe read-other=ok write-other=ok .* signal-parent=ok "
                                r"tcp=ConnectionRefusedError")   # so the probe itself is sound
            term.send("q")
            assert await term.closed() == 0


async def test_whole_process_group_ends_even_when_it_ignores_hangups(tmp_path):
    async with running(tmp_path, kill_grace=1.0) as server:
        # The app quits but leaves a grandchild behind in its group: it goes too.
        async with await connect(server) as conn:
            term = await Term.open(conn)
            pid = await term.pid()
            term.send("g")
            grandchild = int((await term.wait_for(r"grandchild=(\d+)")).group(1))
            term.send("q")
            assert await term.closed() == 0
        assert await gone(pid) and not os.path.exists(f"/proc/{grandchild}")

        # Everything ignores SIGHUP and the student vanishes: SIGKILL after the grace.
        conn = await connect(server)
        term = await Term.open(conn)
        pid = await term.pid()
        term.send("gh")
        grandchild = int((await term.wait_for(r"grandchild=(\d+)")).group(1))
        await term.wait_for(r"ignoring SIGHUP")
        conn.abort()
        assert await gone(pid) and not os.path.exists(f"/proc/{grandchild}")
        assert not server.sessions
