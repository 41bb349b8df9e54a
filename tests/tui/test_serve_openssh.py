"""Issue 13's cross-student attacks through a real `netstep serve` and a real OpenSSH client.

The server is the real command line (the stand-in as the session program) started in a
teacher's folder the way `python -m tui serve` starts: that folder first on its import path.
"""

from __future__ import annotations

import asyncio
import os
import re
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import asyncssh
import pytest
from serve_helpers import STANDIN, WAIT, Term

from tui.serve import landlock_abi
from tui.serve.identity import derived_name

pytestmark = [
    pytest.mark.skipif(not hasattr(os, "pidfd_open"), reason="netstep serve needs Linux pidfds"),
    pytest.mark.skipif(shutil.which("ssh") is None, reason="no OpenSSH client (apt-get install openssh-client)"),
]

# `python -m tui serve` puts its working directory first on sys.path: so does this.
RUN = ("import os, sys; sys.path.insert(0, os.getcwd()); from tui.commands import serve_cmd; "
       "serve_cmd.COMMAND = [sys.executable, %r]; from tui.cli import main; sys.exit(main(sys.argv[1:]))" % STANDIN)


class SshTerm(Term):
    """A terminal on a real `ssh -tt` process (80x24: ssh has no local terminal to measure)."""

    @classmethod
    async def open(cls, port, key):
        process = await asyncio.create_subprocess_exec(
            "ssh", "-p", str(port), "-i", key, "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
            "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes", "-o", "LogLevel=ERROR", "-tt", "student@127.0.0.1",
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        return cls(process, 80, 24)

    async def closed(self, timeout: float = WAIT) -> int:
        while not self.eof:
            await self._read(timeout)
        return await asyncio.wait_for(self.process.wait(), timeout)


async def start_server(teacher, data, keys_file, *args, preexec=None):
    env = dict(os.environ, NETSTEP_DATA_DIR=str(data))
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", RUN, "serve", "--port", "0", "--authorized-keys", str(keys_file), *args,
        stderr=subprocess.PIPE, env=env, cwd=str(teacher), preexec_fn=preexec)
    lines = []
    while True:
        line = (await asyncio.wait_for(proc.stderr.readline(), WAIT)).decode()
        assert line, "server exited early:\n" + "".join(lines)
        lines.append(line)
        found = re.search(r"listening on 127\.0\.0\.1:(\d+)", line)
        if found:
            return proc, int(found.group(1)), lines


async def stop_server(proc) -> str:
    if proc.returncode is None:
        proc.send_signal(signal.SIGTERM)
    rest = await asyncio.wait_for(proc.stderr.read(), WAIT)
    await asyncio.wait_for(proc.wait(), WAIT)
    return rest.decode("utf-8", "replace")


def write_keys(folder, comments: dict[str, str]) -> dict[str, str]:
    folder.mkdir(parents=True, exist_ok=True)
    paths, lines = {}, []
    for name, comment in comments.items():
        key = asyncssh.generate_private_key("ssh-ed25519", comment=comment or None)
        key.write_private_key(str(folder / name))
        os.chmod(folder / name, 0o600)
        paths[name] = str(folder / name)
        lines.append(key.export_public_key().decode())
        paths[name + ".derived"] = derived_name(key)
    (folder / "authorized_keys").write_text("".join(lines))
    return paths


@pytest.mark.skipif(not landlock_abi(), reason="this kernel has no Landlock")
async def test_cross_student_attacks_through_openssh(tmp_path):
    """Findings 1, 2 and 4 as the attacker did them, each refused."""
    teacher = tempfile.mkdtemp(prefix="t", dir="/tmp")     # short paths: the ssh screen is 80 wide
    try:
        with open(os.path.join(teacher, "grades.csv"), "w") as f:
            f.write("alice,F\n")
        keys = write_keys(tmp_path / "keys", {"k1": "", "bob": "bob"})
        # k2's comment is k1's derived folder name (finding 1).
        k2 = asyncssh.generate_private_key("ssh-ed25519", comment=keys["k1.derived"])
        k2.write_private_key(str(tmp_path / "keys" / "k2"))
        os.chmod(tmp_path / "keys" / "k2", 0o600)
        with open(tmp_path / "keys" / "authorized_keys", "a") as f:
            f.write(k2.export_public_key().decode())
        data = Path(teacher) / "data"   # outside the teacher's readable paths either way
        proc, port, _ = await start_server(teacher, data, tmp_path / "keys" / "authorized_keys")
        try:
            bob = await SshTerm.open(port, keys["bob"])
            bob_tty = (await bob.wait_for(r"tty=(/dev/pts/\d+)")).group(1)

            k1_folder = data / "users" / keys["k1.derived"]
            k1_folder.mkdir(parents=True, exist_ok=True)
            grades = os.path.join(teacher, "grades.csv")
            (k1_folder / "probe-paths.txt").write_text(f"{bob_tty}\n{grades}\n")
            (k1_folder / "run.npz").write_text("k1's saved run")
            k1 = await SshTerm.open(port, keys["k1"])
            await k1.wait_for(rf"user={keys['k1.derived']} ")
            k1.send("r")
            await k1.wait_for(rf"read {re.escape(grades)} \w+")
            assert re.search(rf"read {bob_tty} DENIED", k1.text()), k1.text()          # finding 2
            assert re.search(rf"read {re.escape(grades)} DENIED", k1.text()), k1.text()  # finding 4
            k1.send("q")
            await k1.closed()

            thief = await SshTerm.open(port, str(tmp_path / "keys" / "k2"))
            found = await thief.wait_for(r"user=(\S+) ")
            assert found.group(1) == derived_name(k2) != keys["k1.derived"]           # finding 1
            thief.send("q")
            await thief.closed()
            bob.send("q")
            await bob.closed()
        finally:
            log = await stop_server(proc)
        assert "Traceback" not in log
    finally:
        shutil.rmtree(teacher, ignore_errors=True)


async def test_low_open_files_limit_silent_flood_and_sessions_still_work(tmp_path):
    """Findings 5 and 13: with a hard open-files limit of 160, 125 silent sockets neither flood
    the log nor lock a student out, and sessions start (their limit is clamped, not 1024)."""
    keys = write_keys(tmp_path / "keys", {"alice": "alice"})

    def low_limit():
        resource.setrlimit(resource.RLIMIT_NOFILE, (160, 160))

    proc, port, lines = await start_server(tmp_path, tmp_path / "data", tmp_path / "keys" / "authorized_keys",
                                           "--max-sessions", "4", "--max-per-address", "0", preexec=low_limit)
    try:
        silent = []
        for _ in range(125):
            try:
                silent.append((await asyncio.open_connection("127.0.0.1", port))[1])
            except OSError:
                break
        await asyncio.sleep(2.0)
        async with asyncssh.connect("127.0.0.1", port, username="alice", client_keys=[keys["alice"]],
                                    known_hosts=None, agent_path=None) as conn:
            term = await Term.open(conn)
            term.send("l")
            found = await term.wait_for(r"limits as=\d+")
            assert found
            term.send("q")
            assert await term.closed() == 0
        for w in silent:
            w.close()
    finally:
        log = await stop_server(proc)
    text = "".join(lines) + log
    assert "Traceback" not in text
    assert len(text.splitlines()) < 60, text[-3000:]
