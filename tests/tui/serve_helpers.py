"""Shared pieces of the `netstep serve` tests: keys, an in-process server, a client terminal."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import sys
from pathlib import Path

import asyncssh
import pyte

from tui.serve import Server, ServeConfig

STANDIN = str(Path(__file__).with_name("serve_standin.py"))
WAIT = 60.0  # generous: a busy 2-core machine; nothing here asserts on time


def make_keys(folder: Path) -> dict:
    """alice and bob are authorized (by comment), eve is not; returns name -> private key path."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name in ("alice", "bob", "eve"):
        key = asyncssh.generate_private_key("ssh-ed25519", comment=name)
        path = folder / name
        key.write_private_key(str(path))
        os.chmod(path, 0o600)
        key.write_public_key(str(path) + ".pub")
        paths[name] = str(path)
    (folder / "authorized_keys").write_text(
        "# the class\n" + "".join(Path(paths[n] + ".pub").read_text() for n in ("alice", "bob")))
    return paths


@contextlib.asynccontextmanager
async def running(tmp_path: Path, **overrides):
    keys = make_keys(tmp_path / "keys")
    settings = dict(port=0, authorized_keys=str(tmp_path / "keys" / "authorized_keys"),
                    data_dir=str(tmp_path / "data"), command=[sys.executable, STANDIN],
                    kill_grace=2.0, max_per_address=0, max_per_key=0, max_startups="100:30:200")
    settings.update(overrides)
    server = Server(ServeConfig(**settings))
    await server.start()
    server.test_keys = keys
    try:
        yield server
    finally:
        await server.close()


async def connect(server, who: str | None = "alice", username: str = "student", **kw):
    keys = [server.test_keys[who]] if who else []
    return await asyncio.wait_for(
        asyncssh.connect("127.0.0.1", server.port, username=username, client_keys=keys,
                         known_hosts=None, agent_path=None, **kw), WAIT)


class Term:
    """A client terminal: an asyncssh process on a PTY, its output fed into a pyte screen."""

    def __init__(self, process, cols: int, rows: int):
        self.process = process
        self.screen = pyte.Screen(cols, rows)
        self.stream = pyte.ByteStream(self.screen)
        self.raw = bytearray()
        self.eof = False

    @classmethod
    async def open(cls, conn, cols=200, rows=24, command=None, **kw):
        process = await asyncio.wait_for(
            conn.create_process(command, term_type="xterm-256color", term_size=(cols, rows),
                                encoding=None, **kw), WAIT)
        return cls(process, cols, rows)

    def text(self) -> str:
        return "\n".join(line.rstrip() for line in self.screen.display)

    async def _read(self, timeout: float) -> None:
        data = await asyncio.wait_for(self.process.stdout.read(65536), timeout)
        if not data:
            self.eof = True
            return
        self.raw += data
        self.stream.feed(data)

    async def wait_for(self, pattern: str, timeout: float = WAIT) -> re.Match:
        """Read until the screen matches `pattern` (a regex); fail with the screen if it never does."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            found = re.search(pattern, self.text())
            if found:
                return found
            if self.eof:
                raise AssertionError(f"session ended before {pattern!r} appeared:\n{self.text()}")
            left = deadline - loop.time()
            if left <= 0:
                raise AssertionError(f"{pattern!r} never appeared:\n{self.text()}")
            try:
                await self._read(left)
            except asyncio.TimeoutError:
                pass

    async def pid(self) -> int:
        return int((await self.wait_for(r"STANDIN pid=(\d+)")).group(1))

    def send(self, keys: str | bytes) -> None:
        self.process.stdin.write(keys.encode() if isinstance(keys, str) else keys)

    def resize(self, cols: int, rows: int) -> None:
        self.screen.resize(rows, cols)
        self.process.change_terminal_size(cols, rows)

    async def closed(self, timeout: float = WAIT) -> int:
        """Drain the output until the session ends; returns its exit status."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not self.eof:
            await self._read(max(0.1, deadline - loop.time()))
        await asyncio.wait_for(self.process.wait_closed(), timeout)
        return self.process.exit_status


def group_members(pgid: int) -> list[int]:
    """Live or zombie processes in process group `pgid` (from /proc)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        if int(fields[2]) == pgid:
            found.append(int(entry))
    return found


async def gone(pid: int, timeout: float = WAIT) -> bool:
    """True once no process (not even a zombie) is left in the group `pid` led."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        if not os.path.exists(f"/proc/{pid}") and not group_members(pid):
            return True
        await asyncio.sleep(0.05)
    return False


async def until(condition, timeout: float = WAIT) -> None:
    """Wait until `condition()` is true (the server's state, polled)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        assert loop.time() < deadline, "the server never got there"
        await asyncio.sleep(0.02)


class _Recorder(asyncssh.SSHClient):
    exc = None

    def connection_lost(self, exc):
        self.exc = exc


async def refusal_after_login(server, who: str, **kw) -> str:
    """Log in as `who` and expect the server to hang up at once; returns its reason."""
    recorder = _Recorder()
    try:
        conn = await connect(server, who, client_factory=lambda: recorder, **kw)
        try:
            process = await asyncio.wait_for(conn.create_process(term_type="xterm", encoding=None), WAIT)
            await asyncio.wait_for(process.wait_closed(), WAIT)
        except asyncssh.ChannelOpenError:
            pass
        await asyncio.wait_for(conn.wait_closed(), WAIT)
    except asyncssh.DisconnectError as e:
        return e.reason
    assert isinstance(recorder.exc, asyncssh.DisconnectError), f"{who} was let in"
    return recorder.exc.reason
