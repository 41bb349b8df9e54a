"""Browser access: `netstep serve --web PORT`, the same app in a browser through textual-serve.

textual-serve supplies the page, its terminal (xterm.js) and the packet protocol to Textual's
WebDriver; this module decides who gets a session and starts it exactly as the SSH path does:
the same launcher (session_child.py) with the same rlimits, nice level and Landlock rules, in
the student's own folder, with the environment Server.child_env builds. Only the transport
differs: the app talks to the server over pipes (Textual's web driver) instead of a pty.

Who: a student opens their link, URL/s/SECRET (web_links.py). A valid link gets the page, and
in it a websocket URL holding a ticket: random, single-use, valid for --login-grace seconds
and tied to that student. The secret itself never appears in another URL, and nothing is
logged with it (aiohttp's access log is off; our lines name the student). A ticket rather
than a cookie: two students sharing one browser each get their own session, and a page on
another site cannot open a session with a student's cookie. Everything else is HTTP 403, and
no process starts before a ticket is redeemed.

Limits: a browser session counts as a login on the SSH server (Server.admit_login), so
--max-sessions and --max-per-key bound SSH and browser sessions together; --idle-timeout,
--cpu-limit, --memory-limit, --file-limit and the keyboard input gate apply as over SSH.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import aiohttp_jinja2
import jinja2
import textual_serve
from aiohttp import WSMsgType, web
from textual_serve.app_service import AppService
from textual_serve.download_manager import DownloadManager

from tui.serve.config import ServeError
from tui.serve.landlock import abi as landlock_abi
from tui.serve.pty_child import ERROR_KEEP, InputGate, _clamp_size, describe_exit
from tui.serve.sandbox import sandbox_rules
from tui.serve.web_links import LINK_PATH, LinkTable

log = logging.getLogger("netstep.serve")

TEXTUAL_SERVE = Path(textual_serve.__file__).parent     # its page template and static files
LAUNCHER = Path(__file__).with_name("session_child.py")   # server.LAUNCHER (not imported: no cycle)
MAX_PACKET = 16 << 20        # bytes in one packet from the app; more is a broken app, not a screen
MAX_MESSAGE = 256 << 10      # bytes in one websocket message from a browser
TICKETS_PER_NAME = 8         # pages opened and not yet connected, per student
FORBIDDEN = "netstep: this is not a valid link. Open your own link, as your teacher gave it to you."


class _Ticket:
    __slots__ = ("name", "expires")

    def __init__(self, name: str, expires: float):
        self.name, self.expires = name, expires


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
        self.popen = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                      stderr=subprocess.PIPE, env=env, cwd=cwd, start_new_session=True,
                                      close_fds=True)
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
        self.exited.set()

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


class WebSession:
    """One browser tab's session: counted as a login on the SSH server, its child, its timers."""

    def __init__(self, front: "WebFront", name: str, key: bytes, peer: str):
        self.front = front
        self.server = front.server
        self.name, self.peer = name, peer
        self.addr, self.username = peer, name     # as a _Connection has them, for code listing logins
        self.key = key
        self.identity = None
        self.app: _AppProcess | None = None
        self.ws: web.WebSocketResponse | None = None
        self.reason: str | None = None
        self.since = time.monotonic()
        self.last_input = self.since

    @property
    def who(self) -> str:
        return f"{self.peer} as {self.name}"

    def launch(self, width: int, height: int) -> tuple[list[str], dict[str, str], str]:
        """argv, environment and folder of the child: Server.spawn's, on pipes."""
        folder = self.identity.folder
        (folder / ".tmp").mkdir(mode=0o700, exist_ok=True)
        env = self.server.child_env(SimpleNamespace(conn=self, chan=None, term="xterm-256color"))
        env.update({
            "TEXTUAL_DRIVER": "textual.drivers.web_driver:WebDriver",
            "TEXTUAL_COLOR_SYSTEM": "truecolor",
            "TERM_PROGRAM": "textual", "COLUMNS": str(width), "ROWS": str(height),
            "NETSTEP_ERROR_FD": "2",    # app_main's crash capture: the stderr pipe read below
        })
        config = self.front.config
        spec = {"parent": os.getpid(), "limits": config.rlimits(), "nice": config.nice, "tty": False}
        if self.front.rules is not None:
            spec["sandbox"] = self.front.rules + [(os.path.realpath(folder), "write")]
        argv = [sys.executable, "-I", "-S", str(LAUNCHER), json.dumps(spec), *config.command]
        return argv, env, str(folder)

    def touch(self) -> None:
        self.last_input = time.monotonic()

    async def end(self, reason: str) -> None:
        self.reason = self.reason or reason
        if self.ws is not None:
            await self.ws.close()


class WebFront:
    """The aiohttp server: link pages, websockets, textual-serve's static files."""

    def __init__(self, server):
        self.server = server          # the SSH Server: folders, environment, logins
        self.config = server.config
        self.links = LinkTable(server.root)
        self.tickets: dict[str, _Ticket] = {}
        self.sessions: set[WebSession] = set()
        self.downloads = DownloadManager()
        self.rules = None
        self.port: int | None = None
        self.closing = False
        self._runner: web.AppRunner | None = None
        self._idle_task: asyncio.Task | None = None

    # -- life cycle

    async def listen(self) -> None:
        if self.config.sandbox and landlock_abi():
            self.rules = sandbox_rules(self.config.command)
        app = web.Application(client_max_size=MAX_MESSAGE)
        aiohttp_jinja2.setup(app, loader=jinja2.FileSystemLoader(TEXTUAL_SERVE / "templates"))
        app.add_routes([
            web.get(LINK_PATH + "{secret}", self.page),
            web.get("/ws/{ticket}", self.websocket),
            web.static("/static", TEXTUAL_SERVE / "static"),
            web.get("/favicon.ico", _no_icon),     # every browser asks: not a refusal to count
        ])
        app.router.add_route("*", "/{tail:.*}", self.forbidden)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)   # no URLs in any log
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.config.host, self.config.web)
        try:
            await site.start()
        except OSError as e:
            await self._runner.cleanup()
            why = os.strerror(e.errno) if e.errno else str(e)
            raise ServeError(f"cannot listen on {self.config.host}:{self.config.web} for --web: "
                             f"{why.lower()}") from None
        self.port = self._runner.addresses[0][1]
        problem = f" ({self.links.problem})" if self.links.problem else ""
        host = "localhost" if self.config.host in ("127.0.0.1", "::1", "0.0.0.0", "::") else self.config.host
        log.info("web: listening on %s:%d for browsers; %d students have links%s; print them with: netstep "
                 "class links --authorized-keys %s --url http://%s:%d --data %s", self.config.host, self.port,
                 len(self.links), problem, self.config.authorized_keys, host, self.port, self.server.root)
        if self.config.idle_timeout > 0:
            self._idle_task = asyncio.create_task(self._idle_loop())

    async def close(self) -> None:
        self.closing = True
        await asyncio.gather(*(s.end("the server is shutting down") for s in list(self.sessions)),
                             return_exceptions=True)
        for _ in range(int((self.config.kill_grace * 2 + 5) / 0.05)):
            if not self.sessions:
                break
            await asyncio.sleep(0.05)
        if self._idle_task is not None:
            self._idle_task.cancel()
        if self._runner is not None:
            await self._runner.cleanup()

    async def _idle_loop(self) -> None:
        limit = self.config.idle_timeout
        while True:
            await asyncio.sleep(min(limit, 5.0))
            now = time.monotonic()
            idle = [s for s in self.sessions if now - s.last_input >= limit and s.reason is None]
            for s in idle:
                log.info("web session %s: idle for %gs", s.who, limit)
            # At once: a browser slow to answer the close must not hold up the others.
            await asyncio.gather(*(s.end(f"idle for {limit:g} s") for s in idle), return_exceptions=True)

    # -- requests

    def _ready(self) -> bool:
        return not self.closing and self.server.port is not None and not self.server.closing

    def _refuse(self, request: web.Request, why: str) -> web.Response:
        self.server.note_refusal(request.remote or "?", f"web: {why}")
        return web.Response(status=403, text=FORBIDDEN + "\n", headers={"Cache-Control": "no-store"})

    async def forbidden(self, request: web.Request) -> web.Response:
        return self._refuse(request, "no link")

    def _key_of(self, name: str) -> bytes | None:
        """The key blob of the student `name` in the authorized keys (re-read if changed)."""
        keys = self.server.keys
        keys._load(strict=False)     # AuthorizedKeys re-reads a changed file here, as on SSH login
        return next((blob for blob, e in keys.entries.items() if e.name == name), None)

    def _student(self, secret: str) -> tuple[str, bytes] | None:
        name = self.links.name_for(secret)
        key = self._key_of(name) if name else None
        return (name, key) if key else None

    async def page(self, request: web.Request) -> web.StreamResponse:
        if not self._ready():
            return web.Response(status=503, text="netstep: the server is starting or stopping; try again.\n")
        student = self._student(request.match_info["secret"])
        if student is None:
            return self._refuse(request, "invalid link")
        name, key = student
        busy = self._busy(name, key)
        if busy:    # said here, on a page; a refusal on the websocket hides behind "Session ended"
            return web.Response(status=503, text=f"netstep: {busy}\n", headers={"Cache-Control": "no-store"})
        now = time.monotonic()
        for t in [t for t, v in self.tickets.items() if v.expires < now]:
            del self.tickets[t]
        mine = [t for t, v in self.tickets.items() if v.name == name]
        for t in mine[:max(0, len(mine) - TICKETS_PER_NAME + 1)]:
            del self.tickets[t]
        ticket = secrets.token_urlsafe(32)
        self.tickets[ticket] = _Ticket(name, now + self.config.login_grace)
        secure = request.secure or request.headers.get("X-Forwarded-Proto") == "https"
        context = {
            "font_size": 16,
            "app_websocket_url": f"{'wss' if secure else 'ws'}://{request.host}/ws/{ticket}",
            "config": {"static": {"url": "/static/"}},
            "application": {"name": f"netstep · {name}"},
        }
        response = aiohttp_jinja2.render_template("app_index.html", request, context)
        # The link is in this page's address: never send it on, nor keep the page.
        response.headers.update({"Referrer-Policy": "no-referrer", "Cache-Control": "no-store",
                                 "X-Frame-Options": "DENY"})
        return response

    def _busy(self, name: str, key: bytes) -> str | None:
        """What admit_login would refuse now (it still decides when the websocket opens)."""
        n, cap = self.config.max_sessions, self.config.max_per_key
        if len(self.server.logged_in) >= n:
            taken = f"all {n} sessions are" if n > 1 else "the only session is"
            return f"{taken} in use; please try again in a few minutes."
        if cap and self.server.per_key[key] >= cap:
            return (f"{name} is already logged in {self.server.per_key[key]} times (at most {cap} at once); "
                    f"close one first.")
        return None

    def _same_origin(self, request: web.Request) -> bool:
        origin = request.headers.get("Origin")
        if origin is None:
            return True          # not a browser; the ticket alone decides
        return origin.split("://", 1)[-1] == request.host

    async def websocket(self, request: web.Request) -> web.StreamResponse:
        ticket = self.tickets.pop(request.match_info["ticket"], None)
        if ticket is None or ticket.expires < time.monotonic() or not self._same_origin(request):
            return self._refuse(request, "invalid ticket")
        name = ticket.name
        key = self._key_of(name)
        if key is None or not self._ready():
            return self._refuse(request, "link revoked or server stopping")
        session = WebSession(self, name, key, f"{request.remote}")
        ws = session.ws = web.WebSocketResponse(heartbeat=self.config.keepalive, max_msg_size=MAX_MESSAGE)
        await ws.prepare(request)
        try:
            session.identity = self.server.identify(name, self.server.keys.entries.get(key), key)
        except Exception as e:  # a bad data folder must not take the server down
            log.error("web session %s: no data folder: %s", session.who, e)
            await ws.send_bytes(b"\r\nnetstep: the server could not set up your folder.\r\n")
            await ws.close()
            return ws
        refusal = self.server.admit_login(session)    # --max-sessions, --max-per-key: SSH's counts
        if refusal:
            log.info("web refused %s: %s", session.who, refusal)
            await ws.send_bytes(f"\r\nnetstep: {refusal}\r\n".encode())
            await ws.close()
            return ws
        try:
            await self._run(session, ws, request)
        finally:
            self.server.release_login(session)
        return ws

    async def _run(self, session: WebSession, ws: web.WebSocketResponse, request: web.Request) -> None:
        width, height = _clamp_size(_int(request.query.get("width")), _int(request.query.get("height")))
        app = session.app = _AppProcess(session, ws, self.downloads)
        self.sessions.add(session)
        try:
            await app.start(width, height)
            log.info("web session %s: pid %d, %dx%d, data %s", session.who, app.pid, width, height,
                     session.identity.folder)
            await self._pump(session, ws, app)
        except Exception:
            log.exception("web session %s: failed", session.who)
        finally:
            await app.stop()
            self.sessions.discard(session)
            self._log_end(session, app)

    async def _pump(self, session: WebSession, ws: web.WebSocketResponse, app: _AppProcess) -> None:
        """The browser's messages to the app (textual-serve's protocol), bad ones ending it."""
        async for message in ws:
            if message.type != WSMsgType.TEXT:
                continue
            try:
                kind, *rest = json.loads(message.data)
            except (ValueError, TypeError):
                session.reason = "protocol error from the browser"
                break
            arg = rest[0] if rest else None
            if kind == "stdin" and isinstance(arg, str):
                session.touch()
                await app.send_bytes(arg.encode("utf-8", "replace"))
            elif kind == "resize" and isinstance(arg, dict):
                session.touch()
                await app.set_terminal_size(*_clamp_size(_int(arg.get("width")), _int(arg.get("height"))))
            elif kind == "ping":
                await ws.send_json(["pong", arg])
            elif kind == "blur":
                await app.blur()
            elif kind == "focus":
                await app.focus()

    def _log_end(self, session: WebSession, app: _AppProcess) -> None:
        if app.returncode is None:
            return
        reason, _ = describe_exit(app.returncode, self.config.cpu_limit)
        if session.reason:
            reason = session.reason
        errors = app.errors.decode("utf-8", "replace").strip()
        if errors and (app.returncode != 0 or "Traceback" in errors):
            errors = "; its error output:\n" + "\n".join("    " + line for line in errors.splitlines())
        else:
            errors = ""
        dropped = f"; {app.gate.dropped} bytes of input dropped (flood)" if app.gate.dropped else ""
        how = f"signal {-app.returncode}" if app.returncode < 0 else f"status {app.returncode}"
        log.info("web session end %s: pid %d after %ds, %s (%s)%s%s", session.who, app.pid,
                 time.monotonic() - session.since, reason, how, dropped, errors)


async def _no_icon(request: web.Request) -> web.Response:
    return web.Response(status=404)


def _int(value, default: int = 0) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default
