"""A browser session's app process: textual-serve's AppService, starting the confined session
child (tui/serve/launch.py) on pipes, with the classroom's channel beside them (web.py has the
rest of the browser path)."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import subprocess
from typing import TYPE_CHECKING

from aiohttp import web
from textual_serve.app_service import AppService
from textual_serve.download_manager import DownloadManager

from tui.serve.channel import Channel, open_pipes
from tui.serve.pty_child import ERROR_KEEP, InputGate

if TYPE_CHECKING:
    from tui.serve.web import WebSession

log = logging.getLogger("netstep.serve")

MAX_PACKET = 16 << 20        # bytes in one packet from the app; more is a broken app, not a screen


class _AppProcess(AppService):
    """textual-serve's AppService, starting the confined session child instead of a shell
    command, with its input gated, its errors kept for the log and its whole group ended."""

    def __init__(self, session: "WebSession", ws: web.WebSocketResponse, downloads: DownloadManager):
        super().__init__("netstep", write_bytes=ws.send_bytes, write_str=ws.send_str, close=ws.close,
                         download_manager=downloads)
        self.session = session
        self.gate = InputGate()
        self.errors = bytearray()
        self.popen: subprocess.Popen | None = None
        self.channel: Channel | None = None     # the classroom's pipes (channel.py)
        self.returncode: int | None = None
        self.exited = asyncio.Event()
        self._stdout: asyncio.StreamReader | None = None
        self._stderr: asyncio.StreamReader | None = None
        self._pidfd = None

    @property
    def pid(self) -> int | None:
        return self.popen.pid if self.popen else None

    async def _open_app_process(self, width: int = 80, height: int = 24):
        # Popen and a pidfd as in pty_child.Child (not asyncio's subprocess, whose watcher
        # reaps the leader at once): the group is killed while its leader is still a zombie,
        # so its id cannot have been reused.
        argv, env, cwd = self.session.launch(width, height)
        ends = open_pipes()   # (ours to read, theirs to write, theirs to read, ours to write), as Child's
        env.update(NETSTEP_STATUS_FD=str(ends[1]), NETSTEP_CONTROL_FD=str(ends[2]))
        try:
            self.popen = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                          stderr=subprocess.PIPE, env=env, cwd=cwd, start_new_session=True,
                                          close_fds=True, pass_fds=ends[1:3])
        except BaseException:
            for fd in ends:
                os.close(fd)
            raise
        finally:
            if self.popen is not None:
                os.close(ends[1])
                os.close(ends[2])
        hub = self.session.server.hub
        self.channel = Channel(ends[0], ends[3], lambda m: hub.message(self.session, m))
        loop = asyncio.get_running_loop()
        try:
            self._stdout = asyncio.StreamReader(limit=1 << 16)
            await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(self._stdout), self.popen.stdout)
            self._stderr = asyncio.StreamReader(limit=1 << 16)
            await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(self._stderr), self.popen.stderr)
            transport, protocol = await loop.connect_write_pipe(asyncio.streams.FlowControlMixin, self.popen.stdin)
            self._stdin = asyncio.StreamWriter(transport, protocol, None, loop)
            self._pidfd = os.pidfd_open(self.popen.pid)
            loop.add_reader(self._pidfd, self._reap)
        except BaseException:      # never leave a child nobody watches
            self.signal_group(signal.SIGKILL)
            self.popen.wait()
            raise
        return self.popen

    def signal_group(self, sig) -> None:
        if self.popen is not None and self.returncode is None:
            try:
                os.killpg(self.popen.pid, sig)
            except (ProcessLookupError, PermissionError):
                pass

    def _reap(self) -> None:
        loop = asyncio.get_running_loop()
        loop.remove_reader(self._pidfd)
        os.close(self._pidfd)
        self.signal_group(signal.SIGKILL)   # whatever the app left in its group
        self.returncode = self.popen.wait()
        if self.channel is not None:
            self.channel.close()     # its last status is read first
        self.exited.set()

    async def on_data(self, payload: bytes) -> None:
        self.session.server.hub.output(self.session, payload)    # the screen a teacher watches
        await super().on_data(payload)

    def inject(self, data: bytes) -> None:
        """A teacher's keys (--teachers-can-type): through the same gate as the student's."""
        data = self.gate.admit(data)
        if data and self.returncode is None and self._stdin is not None:
            try:
                self._stdin.write(self.encode_packet(b"D", data))
            except RuntimeError:
                pass

    async def send_bytes(self, data: bytes) -> bool:
        data = self.gate.admit(data)
        return await super().send_bytes(data) if data else True

    async def _read_errors(self) -> None:
        while chunk := await self._stderr.read(65536):
            self.errors += chunk
            del self.errors[:-ERROR_KEEP]

    async def run(self) -> None:
        """The packets from the app to the browser (textual-serve's loop, bounded)."""
        errors = asyncio.create_task(self._read_errors())
        stdout = self._stdout
        try:
            for _ in range(10):      # the web driver's prelude
                if await stdout.readline() == b"__GANGLION__\n":
                    break
            else:
                return
            while True:
                kind = await stdout.readexactly(1)
                size = int.from_bytes(await stdout.readexactly(4), "big")
                if size > MAX_PACKET:
                    log.error("web session %s: the app sent a %d-byte packet; ended", self.session.who, size)
                    return
                payload = await stdout.readexactly(size)
                if kind == b"D":
                    await self.on_data(payload)
                elif kind == b"M":
                    await self.on_meta(payload)
                elif kind == b"P":
                    await self.on_packed(payload)
        except (asyncio.IncompleteReadError, ConnectionResetError, ValueError, RuntimeError):
            pass         # the app ended, or the browser went away mid-write
        finally:
            try:
                await asyncio.wait_for(self.exited.wait(), self.session.front.config.kill_grace)
            except asyncio.TimeoutError:
                self.signal_group(signal.SIGKILL)
                await self.exited.wait()
            try:    # EOF once the group is gone; a process that escaped it must not hold us
                await asyncio.wait_for(errors, 1.0)
            except asyncio.TimeoutError:
                pass
            await self.remote_close()

    async def stop(self) -> None:
        """Ask the app to quit; SIGTERM, then SIGKILL after the grace period."""
        if self._task is None:
            return
        await self.send_meta({"type": "quit"})
        grace = self.session.front.config.kill_grace
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                await asyncio.wait_for(asyncio.shield(self._task), grace)
                break
            except asyncio.TimeoutError:
                self.signal_group(sig)
        await self._task
