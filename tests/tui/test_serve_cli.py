"""`netstep serve` as a command: flag and file errors, the start-up lines, and SIGTERM."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import subprocess
import sys

import pytest
from serve_helpers import STANDIN, WAIT, Term, gone, make_keys

import asyncssh

# The real command line, with the stand-in app as the session program.
RUN = ("import sys; from tui.commands import serve_cmd; serve_cmd.COMMAND = [sys.executable, %r]; "
       "from tui.cli import main; sys.exit(main(sys.argv[1:]))" % STANDIN)


def netstep(tmp_path, *args, timeout=WAIT):
    env = dict(os.environ, NETSTEP_DATA_DIR=str(tmp_path / "data"))
    return subprocess.run([sys.executable, "-m", "tui", "serve", *args], capture_output=True, text=True,
                          env=env, timeout=timeout)


@pytest.mark.parametrize("args, message", [
    ((), "serve needs --authorized-keys FILE"),
    (("--authorized-keys", "/nonexistent/keys"), "cannot read authorized keys /nonexistent/keys"),
    (("--allow-anonymous", "--max-sessions", "0"), "--max-sessions must be 1..1000"),
    (("--allow-anonymous", "--port", "70000"), "--port must be 0..65535"),
    (("--allow-anonymous", "--idle-timeout", "-5"), "--idle-timeout must be >= 0"),
    (("--allow-anonymous", "--memory-limit", "10"), "--memory-limit must be >= 384 MB"),
    (("--allow-anonymous", "--max-sessions", "many"), "invalid int value"),
    # finding 13: non-finite and negative numbers are refused everywhere
    (("--allow-anonymous", "--login-grace", "inf"), "--login-grace must be > 0 seconds, a finite number, got inf"),
    (("--allow-anonymous", "--login-grace", "nan"), "--login-grace must be > 0 seconds"),
    (("--allow-anonymous", "--login-grace", "-1"), "--login-grace must be > 0 seconds"),
    (("--allow-anonymous", "--idle-timeout", "inf"), "--idle-timeout must be >= 0 seconds"),
    (("--allow-anonymous", "--max-per-key", "-1"), "--max-per-key must be >= 0"),
    (("--allow-anonymous", "--max-per-address", "-1"), "--max-per-address must be >= 0"),
    (("--allow-anonymous", "--file-limit", "-1"), "--file-limit must be >= 0"),
    (("--allow-anonymous", "--max-startups", "10:30"), "--max-startups must be START:RATE:FULL"),
    (("--allow-anonymous", "--max-startups", "20:30:10"), "--max-startups needs 1 <= START <= FULL"),
    (("--allow-anonymous", "--max-startups", "1:300:10"), "RATE 0..100"),
])
def test_bad_flags_exit_2_with_one_line(tmp_path, args, message):
    result = netstep(tmp_path, *args)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and message in result.stderr and "Traceback" not in result.stderr
    assert result.stdout == ""


def test_bad_key_file_and_busy_port_exit_2(tmp_path):
    bad = tmp_path / "keys"
    bad.write_text("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFakeFakeFake alice\n")
    result = netstep(tmp_path, "--authorized-keys", str(bad))
    assert result.returncode == 2 and f"{bad} line 1 is not an OpenSSH public key" in result.stderr
    bad.write_text("# nobody yet\n")
    result = netstep(tmp_path, "--authorized-keys", str(bad))
    assert result.returncode == 2 and "holds no public keys" in result.stderr

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = netstep(tmp_path, "--allow-anonymous", "--port", str(port))
    last = result.stderr.splitlines()[-1]
    assert result.returncode == 2 and last == f"netstep: cannot listen on 127.0.0.1:{port}: address already in use"
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("host", ["999.1.1.1", "1.2.3", "::zz", "no-such-host.invalid"])
def test_a_bad_host_gives_one_line_and_leaves_no_host_key(tmp_path, host):
    result = netstep(tmp_path, "--allow-anonymous", "--host", host)
    assert result.returncode == 2 and result.stderr.count("\n") == 1, result.stderr
    assert f"--host {host}" in result.stderr and "unknown error" not in result.stderr
    assert not (tmp_path / "data" / "ssh_host_ed25519_key").exists()


def test_an_address_not_on_this_machine_leaves_no_host_key(tmp_path):
    result = netstep(tmp_path, "--allow-anonymous", "--host", "192.0.2.1", "--port", "0")   # TEST-NET-1
    assert result.returncode == 2 and result.stderr.count("\n") == 1
    assert "cannot listen on 192.0.2.1" in result.stderr
    assert not (tmp_path / "data" / "ssh_host_ed25519_key").exists()


async def _start(tmp_path, *args):
    env = dict(os.environ, NETSTEP_DATA_DIR=str(tmp_path / "data"))
    proc = await asyncio.create_subprocess_exec(sys.executable, "-c", RUN, "serve", "--port", "0", *args,
                                                stderr=subprocess.PIPE, env=env)
    lines = []
    while True:
        line = (await asyncio.wait_for(proc.stderr.readline(), WAIT)).decode()
        assert line, "server exited early:\n" + "".join(lines)
        lines.append(line)
        found = re.search(r"listening on 127\.0\.0\.1:(\d+)", "".join(lines))
        if found and "students connect with" in line:     # the last start-up line
            return proc, int(found.group(1)), lines


async def test_sigterm_ends_every_session_and_the_server(tmp_path):
    keys = make_keys(tmp_path / "keys")
    proc, port, lines = await _start(tmp_path, "--authorized-keys", str(tmp_path / "keys" / "authorized_keys"))
    try:
        assert not any("ANONYMOUS" in line for line in lines)
        text = "".join(lines)
        # Finding 8: the memory budget is printed; finding 13: so is a warning when run as root.
        assert re.search(r"memory \d+ MB per session \(16 x", text) or "GB per session (16 x" in text
        assert "the engine plans within" in text and "input 64 KB at once" in text
        assert ("running as root" in text) == (os.geteuid() == 0)
        terms, conns = [], []
        for who in ("alice", "bob"):
            conn = await asyncssh.connect("127.0.0.1", port, username=who, client_keys=[keys[who]],
                                          known_hosts=None, agent_path=None)
            conns.append(conn)
            terms.append(await Term.open(conn))
        pids = [await t.pid() for t in terms]
        proc.send_signal(signal.SIGTERM)
        for t in terms:
            await t.closed()
            assert b"the server is shutting down" in t.raw
        assert await asyncio.wait_for(proc.wait(), WAIT) == 0
        for pid in pids:
            assert await gone(pid)
        log = (await proc.stderr.read()).decode()
        for word in ("connect 127.0.0.1:", "auth ok", "session end", "disconnect", "stopped"):
            assert word in log
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


async def test_anonymous_mode_is_announced_loudly(tmp_path):
    proc, port, lines = await _start(tmp_path, "--allow-anonymous")
    try:
        text = "".join(lines)
        assert "ANONYMOUS MODE" in text and "trusted network" in text
        async with asyncssh.connect("127.0.0.1", port, username="guest", client_keys=[],
                                    known_hosts=None, agent_path=None) as conn:
            term = await Term.open(conn)
            await term.wait_for(r"user=guest ")
            term.send("q")
            assert await term.closed() == 0
        proc.send_signal(signal.SIGINT)
        assert await asyncio.wait_for(proc.wait(), WAIT) == 0
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
