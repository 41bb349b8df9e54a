"""Browser access: `netstep serve --web PORT`, the same app in a browser through textual-serve.

textual-serve supplies the page, its terminal (xterm.js) and the packet protocol to Textual's
WebDriver; this module decides who gets a session and starts it exactly as the SSH path does:
the same launcher, environment, rlimits, nice level and Landlock rules (tui/serve/launch.py,
shared with Server.spawn), in the student's own folder. Only the transport differs: the app
talks to the server over pipes (Textual's web driver) instead of a pty.

In the classroom a browser student is one like any other: the session gets the same status
and control pipes (channel.py) and sits in the hub (hub.py) as a `Seat`; the screen bytes
inside the web driver's data packets feed the hub's virtual screen, so a teacher can watch it.

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
import time
from pathlib import Path

import aiohttp_jinja2
import jinja2
import textual_serve
from aiohttp import WSMsgType, web
from textual_serve.download_manager import DownloadManager

from tui.serve.channel import Channel
from tui.serve.config import ServeError
from tui.serve.launch import child_env, launch_argv, launch_spec
from tui.serve.pty_child import _clamp_size, describe_exit
from tui.serve.web_app import _AppProcess
from tui.serve.web_links import LINK_PATH, LinkTable

log = logging.getLogger("netstep.serve")

TEXTUAL_SERVE = Path(textual_serve.__file__).parent     # its page template and static files
MAX_MESSAGE = 256 << 10      # bytes in one websocket message from a browser
TICKETS_PER_NAME = 8         # pages opened and not yet connected, per student
FORBIDDEN = "netstep: this is not a valid link. Open your own link, as your teacher gave it to you."


class _Ticket:
    __slots__ = ("name", "expires")

    def __init__(self, name: str, expires: float):
        self.name, self.expires = name, expires


class WebSession:
    """One browser tab's session: counted as a login on the SSH server, its child, its timers.

    For the classroom hub it is a session like an SSH one (hub.ClassSession): identity, size,
    channel and inject."""

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
        self.size = (80, 24)

    @property
    def channel(self) -> Channel | None:
        return self.app.channel if self.app is not None else None

    def inject(self, data: bytes) -> None:
        if self.app is not None:
            self.app.inject(data)

    @property
    def who(self) -> str:
        return f"{self.peer} as {self.name}"

    def launch(self, width: int, height: int) -> tuple[list[str], dict[str, str], str]:
        """argv, environment and folder of the child: Server.spawn's, on pipes."""
        folder = self.identity.folder
        env = child_env(self.server.config, self.identity, "xterm-256color")
        env.update({
            "TEXTUAL_DRIVER": "textual.drivers.web_driver:WebDriver",
            "TEXTUAL_COLOR_SYSTEM": "truecolor",
            "TERM_PROGRAM": "textual", "COLUMNS": str(width), "ROWS": str(height),
            "NETSTEP_ERROR_FD": "2",    # app_main's crash capture: the stderr pipe read below
        })
        spec = launch_spec(self.server.config, self.server._sandbox_rules, folder, None)
        return launch_argv(spec, self.server.config.command), env, str(folder)

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
        self.port: int | None = None
        self.closing = False
        self._runner: web.AppRunner | None = None
        self._idle_task: asyncio.Task | None = None

    # -- life cycle

    async def listen(self) -> None:
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
        width, height = session.size = _clamp_size(_int(request.query.get("width")), _int(request.query.get("height")))
        app = session.app = _AppProcess(session, ws, self.downloads)
        self.sessions.add(session)
        self.server.hub.joined(session)      # in the class view from the start, as over SSH
        try:
            await app.start(width, height)
            log.info("web session %s: pid %d, %dx%d, data %s", session.who, app.pid, width, height,
                     session.identity.folder)
            await self._pump(session, ws, app)
        except Exception:
            log.exception("web session %s: failed", session.who)
        finally:
            await app.stop()
            self.server.hub.left(session)
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
                data = arg.encode("utf-8", "replace")
                self.server.hub.keys(session, data)
                await app.send_bytes(data)
            elif kind == "resize" and isinstance(arg, dict):
                session.touch()
                session.size = _clamp_size(_int(arg.get("width")), _int(arg.get("height")))
                self.server.hub.resized(session, *session.size)
                await app.set_terminal_size(*session.size)
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
