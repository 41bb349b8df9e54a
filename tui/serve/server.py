"""The server: listening, admission and limits, identities, and the registry of children.

Every bound in one place (the README's serve section lists them with their defaults):
connections still logging in are counted apart from logged-in ones, as OpenSSH's
MaxStartups counts them (start:rate:full random early drop, per address too), and a
refused connection is closed at once; a connection that has not said a word after a second
gives its place to a new one, so silent sockets cannot lock a class out. Logged-in
connections are limited per key and in total (--max-sessions), never per address: a class
behind NAT shares one address.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import os
import random
import re
import resource
import shlex
import shutil
import signal
import socket
import tempfile
import time
from collections import Counter
from pathlib import Path

import asyncssh

from tui.datadir import data_root, inside, safe_name
from tui.serve.config import ServeConfig, ServeError
from tui.serve.identity import AuthorizedKeys, Identity, KeyEntry, load_host_key, save_host_key
from tui.serve.hub import Hub, check_teachers, teacher_identity, teacher_session
from tui.serve.launch import LAUNCHER, child_env, launch_argv, launch_spec, package_roots  # noqa: F401 (LAUNCHER, package_roots: their old home)
from tui.serve.protocol import _Connection, _Session
from tui.serve.pty_child import Child
from tui.serve.landlock import abi as landlock_abi
from tui.serve.sandbox import exposed, sandbox_rules

log = logging.getLogger("netstep.serve")

HOST_KEY_NAME = "ssh_host_ed25519_key"
SILENT_AFTER = 1.0        # seconds after which a connection that sent nothing may be evicted
FILES_PER_SESSION = 8     # the server's open files per session (socket, pty, pidfd, pipe, slack)
FILES_RESERVE = 32        # the server's own (logs, keys, the listening sockets)
REFUSAL_LOG_EVERY = 10.0  # seconds between summaries of refused connections

_LESSON_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def check_host(host: str) -> None:
    """Refuse a --host that is no address (999.1.1.1) before anything is written."""
    try:
        ipaddress.ip_address(host)
        return
    except ValueError:
        pass
    if all(part.isdigit() for part in host.split(".")) or ":" in host:
        raise ServeError(f"--host {host} is not an IP address (such as 127.0.0.1 or 0.0.0.0)")
    try:
        socket.getaddrinfo(host, None, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except (socket.gaierror, UnicodeError) as e:
        why = getattr(e, "strerror", None) or str(e)
        raise ServeError(f"--host {host} does not name an address here ({why.lower()})") from None


def raise_file_limit() -> int:
    """Raise our soft open-files limit to the hard one; returns the limit now in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY:
        hard = 1 << 20
    if soft == resource.RLIM_INFINITY or soft >= hard:
        return hard
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        return hard
    except (ValueError, OSError):
        return soft


class Server:
    """Listens, admits, authenticates and keeps the registry of connections and children."""

    def __init__(self, config: ServeConfig):
        config.validate()
        self.config = config
        self.root = Path(config.data_dir) if config.data_dir else data_root()
        self.keys: AuthorizedKeys | None = AuthorizedKeys(config.authorized_keys) if config.authorized_keys else None
        self.teachers: AuthorizedKeys | None = AuthorizedKeys(config.teachers, "--teachers keys") if config.teachers else None
        check_teachers(self.teachers, self.keys)
        self.hub: Hub | None = None
        self.host_key = None
        self.port = None
        self.guests: Path | None = None
        self.landlock = 0
        self.files = 0
        self.startups = config.startups()
        self._sandbox_rules: list[tuple[str, str]] | None = None
        self.connections: set[_Connection] = set()       # every admitted connection
        self.logging_in: dict[_Connection, float] = {}   # not logged in yet -> since when
        self.per_address: Counter = Counter()            # ...of those, per address
        self.logged_in: set[_Connection] = set()         # logged in, session not ended
        self.per_key: Counter = Counter()                # ...of those, per key
        self.sessions: set[_Session] = set()             # sessions whose child is alive
        self.refused: Counter = Counter()                # refusals since the last summary
        self._refused_logged = 0.0
        self._accept_errors = 0
        self._accept_logged = 0.0
        self.closing = False
        self._acceptor = None
        self._children_gone = asyncio.Event()
        self._children_gone.set()

    # -- life cycle

    async def start(self) -> None:
        check_host(self.config.host)
        self._budget_files()
        loop = asyncio.get_running_loop()
        loop.set_exception_handler(self._loop_error)
        try:
            (self.root / "users").mkdir(parents=True, exist_ok=True, mode=0o700)
            # Guests' folders live under guests/<server pid>/, so a second server on the same
            # data folder leaves ours alone; those of servers no longer running are swept here.
            guests = self.root / "guests"
            guests.mkdir(mode=0o700, exist_ok=True)
            for old in guests.iterdir():
                if not (old.name.isdigit() and _alive(int(old.name))):
                    shutil.rmtree(old, ignore_errors=True)
            self.guests = guests / str(os.getpid())
            self.guests.mkdir(mode=0o700, exist_ok=True)
            self.hub = Hub(self)
        except OSError as e:
            raise ServeError(f"cannot use data folder {self.root}: {e.strerror or e}") from None
        path = Path(self.config.host_key) if self.config.host_key else self.root / HOST_KEY_NAME
        self.host_key, new_key = load_host_key(path)
        self._sandbox_rules = None
        if self.config.sandbox:
            self.landlock = landlock_abi()
            if self.landlock:
                self._sandbox_rules = sandbox_rules(self.config.command)
                under = exposed(self._sandbox_rules, str(self.root))
                if under:
                    log.warning("the data folder %s is inside %s, which every session may read: students "
                                "could read each other's files; use a data folder outside it", self.root, under)
            else:
                log.warning("this kernel has no Landlock: sessions are not sandboxed, only confined by the app "
                            "(Linux 5.13 or newer with Landlock enabled sandboxes them)")
        anonymous_only = self.keys is None and self.teachers is None
        try:
            self._acceptor = await asyncssh.create_server(
                lambda: _Connection(self), self.config.host, self.config.port,
                server_host_keys=[self.host_key], server_version="netstep",
                encoding=None, line_editor=False, allow_pty=True,
                agent_forwarding=False, x11_forwarding=False, sftp_factory=None, allow_scp=False,
                public_key_auth=not anonymous_only,
                kbdint_auth=not anonymous_only and self.config.allow_anonymous,
                password_auth=False, host_based_auth=False, gss_host=None,
                login_timeout=self.config.login_grace,
                keepalive_interval=self.config.keepalive, keepalive_count_max=4)
        except OSError as e:
            why = os.strerror(e.errno) if e.errno else str(e)
            raise ServeError(f"cannot listen on {self.config.host}:{self.config.port}: {why.lower()}") from None
        self.port = self._acceptor.get_port()
        self.hub.start()
        if new_key:   # only a server that listens keeps a new key
            try:
                save_host_key(path, self.host_key)
            except ServeError:
                self._acceptor.close()
                raise

    def _budget_files(self) -> None:
        """Fit the connections we admit to the open files we may have: accept() failing for
        want of files is the one flood the event loop cannot shed by itself."""
        self.files = raise_file_limit()
        start, rate, full = self.startups
        left = self.files - FILES_RESERVE - FILES_PER_SESSION * self.config.max_sessions
        if left < 1:
            raise ServeError(f"--max-sessions {self.config.max_sessions} needs about "
                             f"{FILES_RESERVE + FILES_PER_SESSION * self.config.max_sessions + full} open files, and "
                             f"this process may open {self.files} (raise `ulimit -n`, or lower --max-sessions)")
        if full > left:
            log.warning("open-files limit %d: at most %d connections may be logging in at once "
                        "(--max-startups %s asks for %d)", self.files, left, self.config.max_startups, full)
            self.startups = (min(start, left), rate, left)

    def _loop_error(self, loop, context) -> None:
        if str(context.get("message", "")).startswith("socket.accept() out of system resource"):
            # asyncio retries by itself after a second; one line per period, not a traceback each.
            self._accept_errors += 1
            now = time.monotonic()
            if now - self._accept_logged >= REFUSAL_LOG_EVERY:
                log.error("cannot accept connections: %s (%d times since the last report; open-files "
                          "limit %d)", context.get("exception"), self._accept_errors, self.files)
                self._accept_logged, self._accept_errors = now, 0
            return
        loop.default_exception_handler(context)

    async def close(self, reason: str = "the server is shutting down") -> None:
        """Stop listening, end every session (children first), and wait until all are reaped."""
        if self.closing:
            return
        self.closing = True
        if self._acceptor is not None:
            self._acceptor.close()
        for conn in list(self.connections):
            conn.shutdown(reason, f"netstep: {reason}; your session has ended.")
        # Every child has its own SIGKILL timer at kill_grace; this wait is a backstop.
        try:
            await asyncio.wait_for(self._children_gone.wait(), self.config.kill_grace + 10)
        except asyncio.TimeoutError:
            log.error("children still running after the grace period: %s",
                      [s.child.pid for s in self.sessions if s.child])
        for _ in range(50):  # let the channels send their last words
            if not self.connections:
                break
            await asyncio.sleep(0.05)
        for conn in list(self.connections):
            if conn.conn is not None:
                conn.conn.abort()
        if self._acceptor is not None:
            await self._acceptor.wait_closed()
        if self.guests is not None:
            shutil.rmtree(self.guests, ignore_errors=True)
        if self.hub is not None:
            self.hub.stop()
        self._log_refusals()

    # -- admission: connections still logging in

    def admit(self, conn: _Connection) -> str | None:
        """Register a new connection, or say why it must be refused (then it is not counted)."""
        if self.closing:
            return "the server is shutting down"
        refusal = self._startup_refusal(conn.addr)
        if refusal and self._evict_silent(conn.addr if refusal.startswith("too many from") else None):
            refusal = None
        if refusal:
            return refusal
        self.connections.add(conn)
        self.logging_in[conn] = time.monotonic()
        self.per_address[conn.addr] += 1
        return None

    def _startup_refusal(self, addr: str) -> str | None:
        cap = self.config.max_per_address
        if cap and self.per_address[addr] >= cap:
            return f"too many from {addr} logging in at once (at most {cap})"
        start, rate, full = self.startups
        n = len(self.logging_in)
        if n >= full:
            return f"too many connections logging in ({n}, at most {full})"
        if n >= start:
            # MaxStartups: RATE% at START, rising linearly to 100% at FULL.
            chance = rate + (100 - rate) * (n - start) / max(1, full - start)
            if random.random() * 100 < chance:
                return f"random early drop ({n} connections logging in, {chance:.0f}% dropped)"
        return None

    def _evict_silent(self, addr: str | None) -> bool:
        """Close the oldest connection (from `addr`, if given) that never sent its version line."""
        now = time.monotonic()
        for conn, since in self.logging_in.items():   # oldest first: dicts keep insertion order
            if now - since >= SILENT_AFTER and (addr is None or conn.addr == addr) and not conn.spoke():
                conn.reason = "evicted: silent, and a new connection needed its place"
                self.forget(conn)
                if conn.conn is not None:
                    conn.conn.abort()
                return True
        return False

    def note_refusal(self, addr: str, why: str) -> None:
        """Count a refused connection; log a summary at most every REFUSAL_LOG_EVERY seconds."""
        self.refused[why.split(" (")[0]] += 1
        now = time.monotonic()
        if now - self._refused_logged >= REFUSAL_LOG_EVERY:
            self._log_refusals(f" (latest from {addr})")
            self._refused_logged = now

    def _log_refusals(self, tail: str = "") -> None:
        if self.refused:
            summary = "; ".join(f"{n} x {why}" for why, n in self.refused.most_common(4))
            log.info("connections closed before login: %s%s", summary, tail)
            self.refused.clear()

    # -- admission: logged in

    def admit_login(self, conn: _Connection) -> str | None:
        """Move a connection from logging in to logged in, or say why it may not stay."""
        self._leave_startup(conn)
        if self.closing:
            return "the server is shutting down"
        n = self.config.max_sessions
        if len(self.logged_in) >= n:
            taken = f"all {n} sessions are" if n > 1 else "the only session is"
            return f"{taken} in use; please try again in a few minutes."
        key = conn.identity.key
        cap = self.config.max_per_key
        if key is not None and cap and self.per_key[key] >= cap:
            return (f"{conn.identity.name} is already logged in {self.per_key[key]} times "
                    f"(at most {cap} at once); close one first.")
        self.logged_in.add(conn)
        if key is not None:
            self.per_key[key] += 1
        return None

    def release_login(self, conn: _Connection) -> None:
        """The connection's session is over: its place counts as free from now on."""
        if conn in self.logged_in:
            self.logged_in.discard(conn)
            key = conn.identity.key if conn.identity else None
            if key is not None:
                self.per_key[key] -= 1
                if self.per_key[key] <= 0:
                    del self.per_key[key]

    def _leave_startup(self, conn: _Connection) -> None:
        if self.logging_in.pop(conn, None) is not None:
            self.per_address[conn.addr] -= 1
            if self.per_address[conn.addr] <= 0:
                del self.per_address[conn.addr]

    def forget(self, conn: _Connection) -> None:
        self._leave_startup(conn)
        self.release_login(conn)
        self.connections.discard(conn)

    def full_message(self) -> str | None:
        if self.closing:
            return "netstep: the server is shutting down."
        if len(self.sessions) >= self.config.max_sessions:
            n = self.config.max_sessions
            taken = f"all {n} sessions are" if n > 1 else "the only session is"
            return f"netstep: {taken} in use; please try again in a few minutes."
        return None

    def resolve_command(self, command: str | None) -> tuple[list[str], str | None]:
        """Arguments for the app from an `ssh host COMMAND`, or a refusal. Only `lesson ID`."""
        if command is None or not command.strip():
            return [], None
        try:
            words = shlex.split(command)
        except ValueError:
            words = []
        if len(words) == 2 and words[0] == "lesson" and _LESSON_ID.fullmatch(words[1]):
            return ["lesson", words[1]], None
        shown = command if len(command) <= 40 else command[:37] + "..."
        return [], (f"netstep: this server only runs the netstep app; `{shown}` is not available "
                    f"(connect with no command, or `lesson ID`).")

    # -- identity

    def identify(self, username: str, entry: KeyEntry | None, key: bytes | None = None,
                 teacher: bool = False) -> Identity:
        if entry is not None and teacher:
            return teacher_identity(self.root, entry, key)
        if entry is not None:
            folder = inside(self.root / "users", entry.name)
            folder.mkdir(mode=0o700, exist_ok=True)
            return Identity(entry.name, folder, False, f"key {entry.fingerprint}", key)
        name = safe_name(username, fallback="guest")
        folder = Path(tempfile.mkdtemp(prefix=f"{name}-", dir=self.guests))
        return Identity(name, folder, True, "anonymous guest, throw-away folder")

    # -- children

    def child_env(self, session: _Session) -> dict[str, str]:
        client_env = session.chan.get_environment() if session.chan is not None else {}
        return child_env(self.config, session.conn.identity, session.term, client_env)

    def spawn(self, session: _Session, extra: list[str]) -> Child:
        folder = session.conn.identity.folder
        env = self.child_env(session)

        command, reads = self.config.command, []
        if session.conn.identity.teacher:
            command, extra, reads = teacher_session(self.root, self.config, env)

        def make_argv(tty: str, errors_fd: int) -> list[str]:
            env["NETSTEP_ERROR_FD"] = str(errors_fd)
            return launch_argv(launch_spec(self.config, self._sandbox_rules, folder, tty, reads), command, extra)

        child = Child(env, str(folder), session.size, session._output, session._child_exited,
                      session._input_drained, on_message=lambda m: self.hub.message(session, m))
        self.hub.joined(session)
        try:
            child.start(make_argv)
        except BaseException:
            self.hub.left(session)
            raise
        self.sessions.add(session)
        self._children_gone.clear()
        return child

    def child_ended(self, session: _Session) -> None:
        self.hub.left(session)
        self.sessions.discard(session)
        self.release_login(session.conn)
        if not self.sessions:
            self._children_gone.set()


async def serve(config: ServeConfig, ready=None) -> int:
    """Run until SIGINT/SIGTERM/SIGHUP; then end every session and return 0."""
    server = Server(config)
    web = None
    if config.web is not None:   # browsers too (tui/serve/web.py); listening first, so a busy port leaves no host key
        from tui.serve.web import WebFront

        web = WebFront(server)
        await web.listen()
    try:
        await server.start()
    except BaseException:
        if web is not None:
            await web.close()
        raise
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        loop.add_signal_handler(sig, stop.set)
    if ready is not None:
        ready(server)
    try:
        await stop.wait()
    finally:
        log.info("stopping: ending %d sessions", len(server.sessions) + len(web.sessions if web else ()))
        if web is not None:
            await web.close()
        await server.close()
        log.info("stopped")
    return 0
