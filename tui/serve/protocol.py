"""The SSH side of one connection: admission, key login, the session channel and its timers.

_Connection (one per TCP connection: admission, auth, identity, idle and grace timers) ->
_Session (its one session channel: pty, resize, the byte pump) -> Child (pty_child.py).
Nothing but the app is offered: no shell, no commands, no SFTP/SCP, no forwarding.
"""

from __future__ import annotations

import asyncio
import logging
import re
import shutil
import time
from typing import TYPE_CHECKING

import asyncssh

from tui.serve.identity import Identity, KeyEntry
from tui.serve.pty_child import Child, _clamp_size, describe_exit

if TYPE_CHECKING:
    from tui.serve.server import Server

log = logging.getLogger("netstep.serve")

# Leaves the app's full-screen modes (alternate screen, mouse and paste reporting, kitty
# keyboard flags, hidden cursor) when the app was killed before it could do so itself.
TERMINAL_RESET = (b"\x1b[0m\x1b[?1000l\x1b[?1002l\x1b[?1003l\x1b[?1006l\x1b[?1015l"
                  b"\x1b[?2004l\x1b[?1004l\x1b[<u\x1b[?25h\x1b[?1049l\r\n")

_TERM_OK = re.compile(r"[A-Za-z0-9._+-]{1,64}")


def _normal_addr(host: str) -> str:
    return host[7:] if host.startswith("::ffff:") else host


def _ago(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 60}m{seconds % 60:02d}s" if seconds >= 60 else f"{seconds}s"


class _Session(asyncssh.SSHServerSession):
    """One session channel: its pty request, resizes, and the byte pump to its Child."""

    def __init__(self, conn: "_Connection"):
        self.conn = conn
        self.server = conn.server
        self.chan = None
        self.pty = False
        self.term = "xterm-256color"
        self.size = (80, 24)
        self.command = None
        self.child: Child | None = None
        self.open = True
        self.end_reason = None     # set when the server ends the session (idle, shutdown)
        self.end_message = None
        self._input_paused = False

    # -- what the classroom hub needs of a session (hub.ClassSession; web.WebSession has them too)

    @property
    def identity(self) -> Identity:
        return self.conn.identity

    @property
    def channel(self):
        return self.child.channel if self.child is not None else None

    def inject(self, data: bytes) -> None:
        """A teacher's keys (--teachers-can-type), through the child's input gate."""
        if self.child is not None and self.child.running:
            self.child.write(data)

    # -- requests

    def connection_made(self, chan) -> None:
        self.chan = chan

    def pty_requested(self, term_type, term_size, term_modes) -> bool:
        self.pty = True
        if term_type and _TERM_OK.fullmatch(term_type):
            self.term = term_type
        self.size = _clamp_size(term_size[0], term_size[1])
        return True

    def shell_requested(self) -> bool:
        return True

    def exec_requested(self, command: str) -> bool:
        self.command = command  # judged in session_started, so the refusal can say why
        return True

    def subsystem_requested(self, subsystem: str) -> bool:
        log.info("refused %s %s: subsystem %r (no SFTP or other subsystems here)",
                 self.conn.peer, self.conn.who, subsystem)
        return False

    def break_received(self, msec: int) -> bool:
        return False

    def session_started(self) -> None:
        try:
            self._start()
        except Exception:
            log.exception("session %s %s: could not start", self.conn.peer, self.conn.who)
            self.refuse("netstep: could not start a session; please try again.", "start failed")

    def _start(self) -> None:
        extra, refusal = self.server.resolve_command(self.command)
        if refusal:
            self.refuse(refusal, f"command {self.command!r} refused")
            return
        if not self.pty:
            self.refuse(f"netstep: this server runs a full-screen terminal app and needs a terminal; "
                        f"connect with plain `ssh -p {self.server.port} HOST` (or add -t).",
                        "no PTY requested")
            return
        full = self.server.full_message()
        if full:
            self.refuse(full, "server full")
            return
        self.conn.session_began()
        self.child = self.server.spawn(self, extra)
        log.info("session %s %s: pid %d, %s %dx%d, data %s", self.conn.peer, self.conn.who,
                 self.child.pid, self.term, *self.size, self.conn.identity.folder)

    def refuse(self, message: str, reason: str) -> None:
        self.conn.reason = self.conn.reason or reason
        log.info("refused %s %s: %s", self.conn.peer, self.conn.who, reason)
        if self.open:
            try:
                self.chan.write_stderr(message.encode() + b"\r\n")
                self.chan.exit(1)
            except BrokenPipeError:
                self.open = False

    # -- bytes and sizes

    def data_received(self, data, datatype) -> None:
        self.conn.touch()
        if self.child is not None and self.child.running:
            self.server.hub.keys(self, data)
            waiting = self.child.write(data)
            if waiting > 65536 and not self._input_paused:
                self.chan.pause_reading()   # let the SSH window push back on a paste flood
                self._input_paused = True

    def _input_drained(self) -> None:
        if self._input_paused and self.open:
            self._input_paused = False
            self.chan.resume_reading()

    def terminal_size_changed(self, width, height, pixwidth, pixheight) -> None:
        self.conn.touch()
        self.size = _clamp_size(width, height)
        if self.child is not None:
            self.child.resize(*self.size)
            self.server.hub.resized(self, *self.size)

    def eof_received(self) -> bool:
        return True  # keep the channel: the app decides when the session is over

    def pause_writing(self) -> None:
        if self.child is not None:
            self.child.pause_output()   # a slow client slows the app, not the server's memory

    def resume_writing(self) -> None:
        if self.child is not None:
            self.child.resume_output()

    def _output(self, data: bytes) -> None:
        self.server.hub.output(self, data)
        if self.open:
            try:
                self.chan.write(data)
            except BrokenPipeError:   # the client closed the channel; connection_lost follows
                self.open = False

    # -- ending

    def end(self, reason: str, message: str | None) -> None:
        """End the session from the server side: stop the child, then say why and close."""
        if self.end_reason is None:
            self.end_reason, self.end_message = reason, message
        if self.child is not None and self.child.running:
            self.child.terminate(self.server.config.kill_grace)
        elif self.child is None and self.open:
            self.refuse(message or "netstep: session closed.", reason)

    def _child_exited(self, returncode: int) -> None:
        reason, message = describe_exit(returncode, self.server.config.cpu_limit)
        if self.end_reason is not None:
            reason, message = self.end_reason, self.end_message
        elif not self.open:
            reason = "client closed the connection"
        self.conn.reason = self.conn.reason or reason
        dropped = f"; {self.child.gate.dropped} bytes of input dropped (flood)" if self.child.gate.dropped else ""
        errors = self.child.errors.decode("utf-8", "replace").strip()
        if errors and (returncode != 0 or "Traceback" in errors):
            errors = "; its error output:\n" + "\n".join("    " + line for line in errors.splitlines())
        else:
            errors = ""
        how = f"signal {-returncode}" if returncode < 0 else f"status {returncode}"
        log.info("session end %s %s: pid %d, %s (%s)%s%s", self.conn.peer, self.conn.who,
                 self.child.pid, reason, how, dropped, errors)
        self.server.child_ended(self)
        if self.open:
            try:
                if message:
                    self.chan.write(TERMINAL_RESET + message.encode() + b"\r\n")
                self.chan.exit(returncode if returncode >= 0 else 128 - returncode)
            except BrokenPipeError:
                self.open = False
        self.conn.cleanup()

    def connection_lost(self, exc) -> None:
        self.open = False
        if self.child is not None and self.child.running:
            self.child.terminate(self.server.config.kill_grace)
        self.conn.session_closed()


class _Connection(asyncssh.SSHServer):
    """One client connection: admission, authentication, identity, idle and grace timers."""

    def __init__(self, server: "Server"):
        self.server = server
        self.conn = None
        self.peer = "?"
        self.addr = "?"
        self.username = None
        self.identity: Identity | None = None
        self.session: _Session | None = None
        self.reason = None        # why it ended, for the disconnect log line
        self.refusal = None
        self.refused_keys = 0
        self._offered: KeyEntry | None = None
        self._offered_key: bytes | None = None
        self._offered_teacher = False
        self._guest = False
        self._since = time.monotonic()
        self._last_input = self._since
        self._idle_timer = None
        self._grace_timer = None
        self._loop = asyncio.get_running_loop()

    @property
    def who(self) -> str:
        if self.identity:
            return f"user={self.username!r} as {self.identity.name}"
        return f"user={self.username!r}" if self.username is not None else "(not logged in)"

    # -- admission and auth

    def connection_made(self, conn) -> None:
        self.conn = conn
        host, port = conn.get_extra_info("peername")[:2]
        self.addr, self.peer = _normal_addr(host), f"{_normal_addr(host)}:{port}"
        self.refusal = self.server.admit(self)
        if self.refusal:
            # Closed at once: a flood of connections costs one accept and one close each,
            # and one log line per 10 seconds (the server counts them).
            self.server.note_refusal(self.addr, self.refusal)
            self._loop.call_soon(conn.abort)
            return

    def spoke(self) -> bool:
        """True once the client has sent its SSH version line (a silent socket has not)."""
        return self.conn is not None and self.conn.get_extra_info("client_version") is not None

    def begin_auth(self, username: str) -> bool:
        self.username = username
        log.info("connect %s user=%r client=%r", self.peer, username, self.conn.get_extra_info("client_version"))
        keyed = self.server.keys is not None or self.server.teachers is not None
        return keyed or not self.server.config.allow_anonymous

    def public_key_auth_supported(self) -> bool:
        return self.server.keys is not None or self.server.teachers is not None

    def validate_public_key(self, username: str, key) -> bool:
        # A teacher only by a key in --teachers (which shares none with --authorized-keys).
        teachers = self.server.teachers
        entry = teachers.lookup(key) if teachers is not None else None
        teacher = entry is not None
        if entry is None and self.server.keys is not None:
            entry = self.server.keys.lookup(key)
        if entry is None:
            self.refused_keys += 1
            log.info("auth refused %s user=%r: key %s is not in the authorized keys", self.peer,
                     username, key.get_fingerprint("sha256"))
            return False
        self._offered = entry  # the key whose signature completes auth is the last one offered
        self._offered_key = key.public_data
        self._offered_teacher = teacher
        return True

    def kbdint_auth_supported(self) -> bool:
        # With both keys and --allow-anonymous: a known key names the student; anyone else
        # gets in through an empty keyboard-interactive round, as a guest.
        keyed = self.server.keys is not None or self.server.teachers is not None
        return keyed and self.server.config.allow_anonymous

    def get_kbdint_challenge(self, username, lang, submethods):
        self._offered = None
        self._guest = True
        return True

    def password_auth_supported(self) -> bool:
        return False

    def auth_completed(self) -> None:
        try:
            self.identity = self.server.identify(self.username, None if self._guest else self._offered,
                                                 None if self._guest else self._offered_key,
                                                 teacher=self._offered_teacher and not self._guest)
        except Exception as e:  # a bad data dir must not take the server down
            log.error("auth ok %s user=%r but no data folder: %s", self.peer, self.username, e)
            self.reason = "could not create the data folder"
            self.conn.disconnect(asyncssh.DISC_BY_APPLICATION, "netstep: the server could not set up your folder")
            return
        refusal = self.server.admit_login(self)
        if refusal:
            self.reason = refusal
            log.info("refused %s user=%r as %s: %s", self.peer, self.username, self.identity.name, refusal)
            self.conn.disconnect(asyncssh.DISC_TOO_MANY_CONNECTIONS, f"netstep: {refusal}")
            return
        log.info("auth ok %s user=%r as %s (%s)", self.peer, self.username, self.identity.name,
                 self.identity.how)
        grace = self.server.config.login_grace
        self._grace_timer = self._loop.call_later(grace, self._no_session, grace)
        self._schedule_idle(self.server.config.idle_timeout)

    # -- sessions

    def session_requested(self):
        if self.session is not None:
            log.info("refused %s %s: a second session on one connection", self.peer, self.who)
            return False
        self.session = _Session(self)
        return self.conn.create_server_channel(encoding=None), self.session

    def session_began(self) -> None:
        if self._grace_timer is not None:
            self._grace_timer.cancel()
            self._grace_timer = None

    def session_closed(self) -> None:
        # One session per connection: when it closes, so does the connection.
        if self.conn is not None:
            self.conn.close()

    # -- everything else is refused, explicitly and in the log

    def connection_requested(self, dest_host, dest_port, orig_host, orig_port):
        log.info("refused %s %s: port forwarding to %s:%s", self.peer, self.who, dest_host, dest_port)
        raise asyncssh.ChannelOpenError(asyncssh.OPEN_ADMINISTRATIVELY_PROHIBITED,
                                        "port forwarding is disabled on this server")

    def server_requested(self, listen_host, listen_port):
        log.info("refused %s %s: remote port forwarding on %s:%s", self.peer, self.who, listen_host, listen_port)
        return False

    def unix_connection_requested(self, dest_path):
        log.info("refused %s %s: socket forwarding to %s", self.peer, self.who, dest_path)
        raise asyncssh.ChannelOpenError(asyncssh.OPEN_ADMINISTRATIVELY_PROHIBITED,
                                        "forwarding is disabled on this server")

    def unix_server_requested(self, listen_path):
        log.info("refused %s %s: remote socket forwarding on %s", self.peer, self.who, listen_path)
        return False

    def tun_requested(self, unit):
        log.info("refused %s %s: tunnel device", self.peer, self.who)
        return False

    def tap_requested(self, unit):
        log.info("refused %s %s: tap device", self.peer, self.who)
        return False

    # -- timers

    def touch(self) -> None:
        self._last_input = time.monotonic()

    def _schedule_idle(self, delay: float) -> None:
        if self.server.config.idle_timeout > 0:
            self._idle_timer = self._loop.call_later(delay, self._idle_check)

    def _idle_check(self) -> None:
        limit = self.server.config.idle_timeout
        quiet = time.monotonic() - self._last_input
        if quiet < limit:
            self._schedule_idle(limit - quiet)   # rescheduled lazily, not on every keystroke
            return
        self.shutdown(f"idle for {_ago(limit)}",
                      f"netstep: closed after {_ago(limit)} without input; reconnect to continue.")

    def _no_session(self, grace: float) -> None:
        self.shutdown(f"no session started within {grace:g} s",
                      "netstep: no session was started; this server only runs the netstep app.")

    def shutdown(self, reason: str, message: str) -> None:
        """End this connection from the server side, the child first if there is one."""
        self.reason = self.reason or reason
        if self.session is not None and self.session.child is not None and self.session.child.running:
            self.session.end(reason, message)
        elif self.conn is not None:
            self.conn.disconnect(asyncssh.DISC_BY_APPLICATION, message)

    # -- the end

    def connection_lost(self, exc) -> None:
        for timer in (self._idle_timer, self._grace_timer):
            if timer is not None:
                timer.cancel()
        if self.reason is None:
            if self.identity is None:
                why = f"{exc}" if exc else "client left"
                self.reason = f"not authenticated: {why}" + \
                    (f" ({self.refused_keys} keys refused)" if self.refused_keys else "")
            else:
                self.reason = f"client closed the connection ({exc})" if exc else "client closed the connection"
        if self.session is not None and self.session.child is not None and self.session.child.running:
            self.session.open = False
            self.session.child.terminate(self.server.config.kill_grace)
        if self.refusal is not None:
            pass                           # counted in the server's summary of refusals
        elif self.identity is None and self.username is None and not self.spoke():
            # Never said hello (a port scan, a silent flood): counted, not a line each.
            self.server.note_refusal(self.addr, "silent connection closed")
        else:
            log.info("disconnect %s %s after %s: %s", self.peer, self.who,
                     _ago(time.monotonic() - self._since), self.reason)
        self.server.forget(self)
        self.conn = None
        self.cleanup()

    def cleanup(self) -> None:
        """Remove a guest's throw-away folder once both the connection and its child are gone."""
        child_running = self.session is not None and self.session.child is not None and self.session.child.running
        if self.conn is None and not child_running and self.identity is not None and self.identity.guest:
            shutil.rmtree(self.identity.folder, ignore_errors=True)


