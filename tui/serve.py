"""`netstep serve`: the app over SSH, one isolated child process per session.

Shape (after charmbracelet/wish): asyncssh speaks the protocol; every session that asks for a
PTY gets its own child running the app on a fresh pseudo-terminal, because Textual wants a
real terminal and installs process-wide signal handlers. The child leads its own session and
process group with the pty as controlling terminal (so SIGWINCH and SIGHUP reach it), runs
under CPU and memory rlimits at a lower priority, and its whole group is hung up, then killed,
when the session ends. Nothing else is offered: no shell, no commands, no SFTP/SCP, no
forwarding.

Layers, outside in: Server (listening, limits, registry) -> _Connection (one per TCP
connection: auth, identity, idle and grace timers) -> _Session (one SSH session channel:
pty, resize, byte pump) -> Child (one process group on one pty).
"""

from __future__ import annotations

import asyncio
import errno
import fcntl
import hashlib
import importlib.util
import json
import logging
import os
import re
import shlex
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import termios
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import asyncssh

from tui.datadir import data_root, inside, safe_name

log = logging.getLogger("netstep.serve")

LAUNCHER = Path(__file__).with_name("_session_child.py")
HOST_KEY_NAME = "ssh_host_ed25519_key"

# Leaves the app's full-screen modes (alternate screen, mouse and paste reporting, kitty
# keyboard flags, hidden cursor) when the app was killed before it could do so itself.
TERMINAL_RESET = (b"\x1b[0m\x1b[?1000l\x1b[?1002l\x1b[?1003l\x1b[?1006l\x1b[?1015l"
                  b"\x1b[?2004l\x1b[?1004l\x1b[<u\x1b[?25h\x1b[?1049l\r\n")

_TERM_OK = re.compile(r"[A-Za-z0-9._+-]{1,64}")
_LESSON_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
_ENV_VALUE_OK = re.compile(r"[A-Za-z0-9._@:/+ -]{0,128}")
_CLIENT_ENV = ("LANG", "LC_ALL", "LC_CTYPE", "LC_MESSAGES", "COLORTERM", "TZ")
_SERVER_ENV = ("PATH", "PYTHONPATH", "VIRTUAL_ENV", "TZ")


class ServeError(Exception):
    """A problem with the server's set-up the instructor can fix (bad file, port in use)."""


@dataclass
class ServeConfig:
    host: str = "127.0.0.1"
    port: int = 2222                   # 0 picks a free port (tests)
    authorized_keys: str | None = None
    host_key: str | None = None        # default: <data dir>/ssh_host_ed25519_key
    max_sessions: int = 16
    idle_timeout: float = 1800.0       # seconds without a keystroke; 0 = never
    allow_anonymous: bool = False
    max_per_address: int = 4           # connections at once from one address; 0 = no limit
    login_grace: float = 30.0          # seconds to authenticate, and then to start a session
    cpu_limit: int = 3600              # CPU seconds per session child (RLIMIT_CPU); 0 = none
    memory_limit: int = 1536           # MB of address space per child (RLIMIT_AS); 0 = none
    file_limit: int = 512              # MB, largest file a child may write (RLIMIT_FSIZE)
    nice: int = 10                     # children run below the server
    kill_grace: float = 3.0            # SIGHUP, then SIGKILL after this many seconds
    keepalive: float = 30.0            # probe silent clients; 4 unanswered probes drop them
    sandbox: bool = True               # Landlock: a session reads only code, writes only its folder
    data_dir: str | None = None        # default: tui.datadir.data_root()
    command: list[str] = field(default_factory=lambda: [sys.executable, "-m", "tui"])

    def validate(self) -> None:
        checks = [
            (0 <= self.port <= 65535, f"--port must be 0..65535, got {self.port}"),
            (1 <= self.max_sessions <= 1000, f"--max-sessions must be 1..1000, got {self.max_sessions}"),
            (self.idle_timeout >= 0 and self.idle_timeout == self.idle_timeout,
             f"--idle-timeout must be >= 0 seconds (0 = never), got {self.idle_timeout}"),
            (self.max_per_address >= 0, f"--max-per-address must be >= 0 (0 = no limit), got {self.max_per_address}"),
            (self.login_grace > 0, f"--login-grace must be > 0 seconds, got {self.login_grace}"),
            (self.cpu_limit >= 0, f"--cpu-limit must be >= 0 seconds (0 = none), got {self.cpu_limit}"),
            (self.memory_limit == 0 or self.memory_limit >= 256,
             f"--memory-limit must be >= 256 MB (0 = none), got {self.memory_limit}"),
            (bool(self.host), "--host must not be empty"),
            (bool(self.command), "the session command must not be empty"),
        ]
        for ok, message in checks:
            if not ok:
                raise ServeError(message)
        if not self.authorized_keys and not self.allow_anonymous:
            raise ServeError("serve needs --authorized-keys FILE (your students' public keys), "
                             "or --allow-anonymous on a trusted network")

    def rlimits(self) -> list[tuple[str, int, int]]:
        inf = -1  # resource.RLIM_INFINITY
        limits = [("RLIMIT_CORE", 0, 0), ("RLIMIT_NOFILE", 1024, 1024)]
        if self.cpu_limit:
            # SIGXCPU at the soft limit, SIGKILL a little later if that is ignored.
            limits.append(("RLIMIT_CPU", self.cpu_limit, self.cpu_limit + 10))
        if self.memory_limit:
            limits.append(("RLIMIT_AS", self.memory_limit << 20, self.memory_limit << 20))
        if self.file_limit:
            limits.append(("RLIMIT_FSIZE", self.file_limit << 20, self.file_limit << 20))
        return [(name, soft, inf if hard < 0 else hard) for name, soft, hard in limits]


# ---------------------------------------------------------------------------------------------
# identity


@dataclass(frozen=True)
class KeyEntry:
    name: str          # the student's folder name
    fingerprint: str   # as OpenSSH prints it (SHA256:...)


def _key_name(key) -> str:
    return "key-" + hashlib.sha256(key.public_data).hexdigest()[:16]


def parse_authorized_keys(text: str, source: str) -> dict[bytes, KeyEntry]:
    """OpenSSH authorized_keys text -> {public key blob: entry}.

    The comment after a key names its owner's folder (sanitised); a key without a comment,
    or whose comment another key also has, gets a folder named from its fingerprint.
    Leading OpenSSH options (from=..., command=...) are skipped: this server has its own rules.
    """
    parsed = []
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        words = line.split()
        key = None
        for start in range(len(words) - 1):
            try:
                key = asyncssh.import_public_key(" ".join(words[start:]))
                break
            except (asyncssh.KeyImportError, ValueError):
                continue
        if key is None:
            raise ServeError(f"{source} line {lineno} is not an OpenSSH public key "
                             "(expected: ssh-ed25519 AAAA... name)")
        comment = key.get_comment() or ""
        parsed.append((key, safe_name(comment, fallback="") if comment else ""))
    if not parsed:
        raise ServeError(f"{source} holds no public keys (one 'ssh-ed25519 AAAA... name' per line)")
    counts = Counter(name for _, name in parsed if name)
    for name, n in counts.items():
        if n > 1:
            log.warning("authorized keys: %d keys share the name %r; each gets a folder named "
                        "from its fingerprint instead (give them distinct comments)", n, name)
    entries: dict[bytes, KeyEntry] = {}
    for key, name in parsed:
        if not name or counts[name] > 1:
            name = _key_name(key)
        entries.setdefault(key.public_data, KeyEntry(name, key.get_fingerprint("sha256")))
    return entries


class AuthorizedKeys:
    """The --authorized-keys file, re-read when it changes (students added mid-class)."""

    def __init__(self, path):
        self.path = Path(path)
        self._stamp = None
        self.entries: dict[bytes, KeyEntry] = {}
        self._load(strict=True)

    def _load(self, strict: bool) -> None:
        try:
            stat = self.path.stat()
            stamp = (stat.st_mtime_ns, stat.st_size, stat.st_ino)
            if stamp == self._stamp:
                return
            entries = parse_authorized_keys(self.path.read_text(encoding="utf-8", errors="replace"),
                                            str(self.path))
        except (OSError, ServeError) as e:
            message = e if isinstance(e, ServeError) else \
                f"cannot read authorized keys {self.path}: {e.strerror or e}"
            if strict:
                raise ServeError(str(message)) from None
            log.warning("%s; keeping the %d keys read before", message, len(self.entries))
            return
        if self._stamp is not None:
            log.info("authorized keys: re-read %s, %d keys", self.path, len(entries))
        self._stamp, self.entries = stamp, entries

    def lookup(self, key) -> KeyEntry | None:
        self._load(strict=False)
        return self.entries.get(key.public_data)


def load_host_key(path: Path):
    """The server's private host key at `path`, generated (ed25519, mode 0600) if missing."""
    if not path.exists():
        key = asyncssh.generate_private_key("ssh-ed25519", comment="netstep host key")
        try:
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            fd, tmp = tempfile.mkstemp(prefix=".host-key-", dir=path.parent)  # mode 0600
            try:
                with os.fdopen(fd, "wb") as f:
                    f.write(key.export_private_key("openssh"))
                    f.flush()
                    os.fsync(f.fileno())
                os.link(tmp, path)   # atomic and exclusive: a racing server's key wins, not ours
                log.info("host key: generated %s (%s)", path, key.get_fingerprint("sha256"))
                return key
            except FileExistsError:
                pass
            finally:
                os.unlink(tmp)
        except OSError as e:
            raise ServeError(f"cannot write host key {path}: {e.strerror or e}") from None
    try:
        mode = path.stat().st_mode & 0o777
        if mode & 0o077:
            log.warning("host key %s is readable by others (mode %03o); run: chmod 600 %s", path, mode, path)
        return asyncssh.read_private_key(str(path))
    except (OSError, asyncssh.KeyImportError, ValueError) as e:
        raise ServeError(f"cannot read host key {path}: {getattr(e, 'strerror', None) or e}") from None


# Files under /etc that Python, NumPy and the app read; the rest of /etc stays closed.
_ETC_FILES = ("/etc/ld.so.cache", "/etc/localtime", "/etc/passwd", "/etc/group", "/etc/nsswitch.conf",
              "/etc/hosts", "/etc/locale.alias", "/etc/mime.types", "/etc/ld.so.conf", "/etc/ld.so.conf.d")


def sandbox_rules(command: list[str]) -> list[tuple[str, str]]:
    """What every session may read: the system's libraries, this Python and its packages,
    netstep's own code and the session command's files; /dev for its terminal. Writes go
    only to the session's own folder, added per session."""
    read = {"/usr", "/lib", "/lib32", "/lib64", "/bin", "/sbin", "/proc", "/sys", *_ETC_FILES,
            sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix}
    read.update(p for p in sys.path if p and os.path.isdir(p))
    for package in ("tui", "engine"):
        spec = importlib.util.find_spec(package)
        if spec is not None:
            read.update(spec.submodule_search_locations or [])
    read.update(os.path.dirname(os.path.abspath(arg)) for arg in command if os.path.isfile(arg))
    rules = [(os.path.realpath(p), "read") for p in sorted(read) if os.path.exists(p)]
    return rules + [("/dev", "device")]


def landlock_abi() -> int:
    """The kernel's Landlock ABI version, 0 where there is none."""
    try:
        import ctypes

        return max(0, ctypes.CDLL(None, use_errno=True).syscall(444, None, 0, 1))
    except (OSError, AttributeError):
        return 0


@dataclass
class Identity:
    name: str          # NETSTEP_USER
    folder: Path       # NETSTEP_DATA_DIR
    guest: bool        # folder is thrown away at disconnect
    how: str           # for the log


# ---------------------------------------------------------------------------------------------
# the child on its pty


def _set_winsize(fd: int, cols: int, rows: int) -> None:
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))


def _raw_input(fd: int) -> None:
    """Raw input from the start, output processing kept (a traceback still reads right).

    Keys a student types while the app is still starting wait, unechoed, for the app;
    Ctrl-C and Ctrl-S reach the app as keys instead of killing it or freezing the output.
    """
    attrs = termios.tcgetattr(fd)
    attrs[0] &= ~(termios.BRKINT | termios.ICRNL | termios.INLCR | termios.IGNCR | termios.INPCK |
                  termios.ISTRIP | termios.IXON | termios.IXOFF)
    attrs[3] &= ~(termios.ECHO | termios.ECHONL | termios.ICANON | termios.IEXTEN | termios.ISIG)
    attrs[6][termios.VMIN], attrs[6][termios.VTIME] = 1, 0
    termios.tcsetattr(fd, termios.TCSANOW, attrs)


def _clamp_size(cols: int, rows: int) -> tuple[int, int]:
    cols = cols if 0 < cols <= 1000 else 80
    rows = rows if 0 < rows <= 1000 else 24
    return cols, rows


class Child:
    """One process group on one pseudo-terminal; output and exit arrive as callbacks."""

    def __init__(self, argv, env, cwd, size, on_output, on_exit, on_input_drained):
        self.argv, self.env, self.cwd = argv, env, cwd
        self.size = _clamp_size(*size)
        self.on_output, self.on_exit, self.on_input_drained = on_output, on_exit, on_input_drained
        self.pid = None
        self.returncode = None
        self.master = None
        self._pidfd = None
        self._proc = None
        self._inbuf = bytearray()
        self._reading = False
        self._writing = False
        self._kill_timer = None
        self._loop = asyncio.get_running_loop()

    @property
    def running(self) -> bool:
        return self.pid is not None and self.returncode is None

    def start(self) -> None:
        master, slave = os.openpty()  # both non-inheritable: other sessions' children never hold them
        try:
            _set_winsize(slave, *self.size)
            _raw_input(slave)
            self._proc = subprocess.Popen(self.argv, stdin=slave, stdout=slave, stderr=slave, cwd=self.cwd,
                                          env=self.env, start_new_session=True, close_fds=True)
        except BaseException:
            os.close(master)
            raise
        finally:
            os.close(slave)  # else reading the master never reports the child's end
        self.pid = self._proc.pid
        self.master = master
        try:
            os.set_blocking(master, False)
            self._pidfd = os.pidfd_open(self.pid)
            self._loop.add_reader(self._pidfd, self._exited)
        except BaseException:   # never leave a child nobody watches
            self._signal_group(signal.SIGKILL)
            self._proc.wait()
            os.close(master)
            self.master = None
            raise
        self.resume_output()

    # -- bytes in and out

    def pause_output(self) -> None:
        if self._reading:
            self._loop.remove_reader(self.master)
            self._reading = False

    def resume_output(self) -> None:
        if not self._reading and self.master is not None and self.returncode is None:
            self._loop.add_reader(self.master, self._readable)
            self._reading = True

    def _readable(self) -> None:
        try:
            data = os.read(self.master, 65536)
        except BlockingIOError:
            return
        except OSError:      # EIO: every slave fd is closed; the exit arrives on the pidfd
            data = b""
        if not data:
            self.pause_output()
            return
        self.on_output(data)

    def write(self, data: bytes) -> int:
        """Queue keystrokes for the child; returns how many bytes are still waiting."""
        if self.master is None or self.returncode is not None:
            return 0
        self._inbuf += data
        self._flush()
        return len(self._inbuf)

    def _flush(self) -> None:
        while self._inbuf and self.master is not None:
            try:
                n = os.write(self.master, self._inbuf)
            except BlockingIOError:
                break
            except OSError:
                self._inbuf.clear()
                break
            del self._inbuf[:n]
        want = bool(self._inbuf) and self.master is not None
        if want and not self._writing:
            self._loop.add_writer(self.master, self._flush)
            self._writing = True
        elif not want and self._writing:
            self._loop.remove_writer(self.master)
            self._writing = False
            self.on_input_drained()

    def resize(self, cols: int, rows: int) -> None:
        self.size = _clamp_size(cols, rows)
        if self.master is not None and self.returncode is None:
            # The kernel sends SIGWINCH to the terminal's foreground group when the size changes.
            _set_winsize(self.master, *self.size)

    # -- ending

    def _signal_group(self, sig) -> None:
        try:
            os.killpg(self.pid, sig)
        except (ProcessLookupError, PermissionError):
            pass

    def terminate(self, grace: float) -> None:
        """Hang up the whole group; whatever is left after `grace` seconds is killed."""
        if not self.running or self._kill_timer is not None:
            return
        self._signal_group(signal.SIGHUP)
        self._signal_group(signal.SIGCONT)  # a stopped process must wake to see the hang-up
        self._kill_timer = self._loop.call_later(grace, self.kill)

    def kill(self) -> None:
        if self.running:
            self._signal_group(signal.SIGKILL)

    def _exited(self) -> None:
        self._loop.remove_reader(self._pidfd)
        os.close(self._pidfd)
        # The group leader is a zombie until reaped, so its group id cannot be reused yet:
        # anything it left behind in the group goes now.
        self._signal_group(signal.SIGKILL)
        self.returncode = self._proc.wait()
        if self._kill_timer is not None:
            self._kill_timer.cancel()
        if self._reading:   # what the app wrote just before it ended
            for _ in range(64):
                try:
                    data = os.read(self.master, 65536)
                except OSError:
                    break
                if not data:
                    break
                self.on_output(data)
        self.pause_output()
        if self._writing:
            self._loop.remove_writer(self.master)
            self._writing = False
        os.close(self.master)
        self.master = None
        self.on_exit(self.returncode)


def describe_exit(returncode: int, cpu_limit: int) -> tuple[str, str | None]:
    """(reason for the log, line for the student or None) for a child's exit status."""
    if returncode == 0:
        return "app exited", None
    if returncode > 0:
        return f"app exited with status {returncode}", f"netstep: the app stopped (status {returncode})."
    sig = -returncode
    try:
        name = signal.Signals(sig).name
    except ValueError:
        name = f"signal {sig}"
    if sig == signal.SIGXCPU:
        return (f"CPU time limit ({cpu_limit} s) reached",
                f"netstep: this session used up its CPU time ({cpu_limit} s) and was stopped; "
                "reconnect for a fresh one.")
    return f"app ended by {name}", f"netstep: the app ended unexpectedly ({name}); reconnect to start again."


# ---------------------------------------------------------------------------------------------
# SSH side


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


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

    def eof_received(self) -> bool:
        return True  # keep the channel: the app decides when the session is over

    def pause_writing(self) -> None:
        if self.child is not None:
            self.child.pause_output()   # a slow client slows the app, not the server's memory

    def resume_writing(self) -> None:
        if self.child is not None:
            self.child.resume_output()

    def _output(self, data: bytes) -> None:
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
        log.info("session end %s %s: pid %d, %s (status %s)", self.conn.peer, self.conn.who,
                 self.child.pid, reason, returncode)
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
        log.info("connect %s%s", self.peer, f" (will refuse: {self.refusal})" if self.refusal else "")

    def begin_auth(self, username: str) -> bool:
        self.username = username
        if self.refusal:
            # After key exchange, so the client shows the reason ("Received disconnect ...").
            self.reason = self.refusal
            self.conn.disconnect(asyncssh.DISC_TOO_MANY_CONNECTIONS, f"netstep: {self.refusal}")
            return True
        return self.server.keys is not None or not self.server.config.allow_anonymous

    def public_key_auth_supported(self) -> bool:
        return self.server.keys is not None

    def validate_public_key(self, username: str, key) -> bool:
        entry = self.server.keys.lookup(key) if self.server.keys is not None else None
        if entry is None:
            self.refused_keys += 1
            log.info("auth refused %s user=%r: key %s is not in the authorized keys", self.peer,
                     username, key.get_fingerprint("sha256"))
            return False
        self._offered = entry  # the key whose signature completes auth is the last one offered
        return True

    def kbdint_auth_supported(self) -> bool:
        # With both keys and --allow-anonymous: a known key names the student; anyone else
        # gets in through an empty keyboard-interactive round, as a guest.
        return self.server.keys is not None and self.server.config.allow_anonymous

    def get_kbdint_challenge(self, username, lang, submethods):
        self._offered = None
        self._guest = True
        return True

    def password_auth_supported(self) -> bool:
        return False

    def auth_completed(self) -> None:
        try:
            self.identity = self.server.identify(self.username, None if self._guest else self._offered)
        except Exception as e:  # a bad data dir must not take the server down
            log.error("auth ok %s user=%r but no data folder: %s", self.peer, self.username, e)
            self.reason = "could not create the data folder"
            self.conn.disconnect(asyncssh.DISC_BY_APPLICATION, "netstep: the server could not set up your folder")
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


class Server:
    """Listens, admits, authenticates and keeps the registry of connections and children."""

    def __init__(self, config: ServeConfig):
        config.validate()
        self.config = config
        self.root = Path(config.data_dir) if config.data_dir else data_root()
        self.keys: AuthorizedKeys | None = AuthorizedKeys(config.authorized_keys) if config.authorized_keys else None
        self.host_key = None
        self.port = None
        self.guests: Path | None = None
        self.landlock = 0
        self._sandbox_rules: list[tuple[str, str]] | None = None
        self.connections: set[_Connection] = set()
        self.per_address: Counter = Counter()
        self.sessions: set[_Session] = set()       # sessions whose child is alive
        self.closing = False
        self._acceptor = None
        self._children_gone = asyncio.Event()
        self._children_gone.set()

    # -- life cycle

    async def start(self) -> None:
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
        except OSError as e:
            raise ServeError(f"cannot use data folder {self.root}: {e.strerror or e}") from None
        path = Path(self.config.host_key) if self.config.host_key else self.root / HOST_KEY_NAME
        self.host_key = load_host_key(path)
        self._sandbox_rules = None
        if self.config.sandbox:
            self.landlock = landlock_abi()
            if self.landlock:
                self._sandbox_rules = sandbox_rules(self.config.command)
                root = os.path.realpath(self.root)
                for path, _ in self._sandbox_rules:
                    if os.path.commonpath([path, root]) == path:
                        log.warning("the data folder %s is inside %s, which every session may read: students "
                                    "could read each other's files; use a data folder outside it", root, path)
            else:
                log.warning("this kernel has no Landlock: sessions are not sandboxed, only confined by the app "
                            "(Linux 5.13 or newer with Landlock enabled sandboxes them)")
        anonymous_only = self.keys is None
        try:
            self._acceptor = await asyncssh.create_server(
                lambda: _Connection(self), self.config.host, self.config.port,
                server_host_keys=[self.host_key], server_version="netstep",
                encoding=None, line_editor=False, allow_pty=True,
                agent_forwarding=False, x11_forwarding=False, sftp_factory=None, allow_scp=False,
                public_key_auth=not anonymous_only, kbdint_auth=self.keys is not None and self.config.allow_anonymous,
                password_auth=False, host_based_auth=False, gss_host=None,
                login_timeout=self.config.login_grace,
                keepalive_interval=self.config.keepalive, keepalive_count_max=4)
        except OSError as e:
            why = os.strerror(e.errno) if e.errno else str(e)
            raise ServeError(f"cannot listen on {self.config.host}:{self.config.port}: {why.lower()}") from None
        self.port = self._acceptor.get_port()

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

    # -- admission

    def admit(self, conn: _Connection) -> str | None:
        """Register a new connection, or say why it must be refused (then it is not counted)."""
        cap = self.config.max_per_address
        if self.closing:
            return "the server is shutting down"
        if cap and self.per_address[conn.addr] >= cap:
            return f"too many connections from {conn.addr} (at most {cap} at once)"
        if len(self.connections) >= self.config.max_sessions + 10:
            return "the server is busy; please try again in a minute"
        self.connections.add(conn)
        self.per_address[conn.addr] += 1
        return None

    def forget(self, conn: _Connection) -> None:
        if conn in self.connections:
            self.connections.discard(conn)
            self.per_address[conn.addr] -= 1
            if self.per_address[conn.addr] <= 0:
                del self.per_address[conn.addr]

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

    def identify(self, username: str, entry: KeyEntry | None) -> Identity:
        if entry is not None:
            folder = inside(self.root / "users", entry.name)
            folder.mkdir(mode=0o700, exist_ok=True)
            return Identity(entry.name, folder, False, f"key {entry.fingerprint}")
        name = safe_name(username, fallback="guest")
        folder = Path(tempfile.mkdtemp(prefix=f"{name}-", dir=self.guests))
        return Identity(name, folder, True, "anonymous guest, throw-away folder")

    # -- children

    def child_env(self, session: _Session) -> dict[str, str]:
        identity = session.conn.identity
        env = {k: os.environ[k] for k in _SERVER_ENV if k in os.environ}
        env.setdefault("PATH", os.defpath)
        client_env = session.chan.get_environment() if session.chan is not None else {}
        for k in _CLIENT_ENV:
            v = client_env.get(k)
            if isinstance(v, bytes):
                v = v.decode("utf-8", "replace")
            if isinstance(v, str) and _ENV_VALUE_OK.fullmatch(v):
                env[k] = v
        env.setdefault("LANG", "C.UTF-8")
        env.update({
            "TERM": session.term,
            "HOME": str(identity.folder),
            "TMPDIR": str(identity.folder / ".tmp"),
            "PYTHONDONTWRITEBYTECODE": "1",
            "NETSTEP_DATA_DIR": str(identity.folder),
            "NETSTEP_USER": identity.name,
            "NETSTEP_SERVED": "1",
            # One BLAS thread and few malloc arenas per child: 16 students on 2 cores share
            # better single-threaded, and the address-space limit is not eaten by arenas.
            "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
            "MALLOC_ARENA_MAX": "2",
        })
        return env

    def spawn(self, session: _Session, extra: list[str]) -> Child:
        folder = session.conn.identity.folder
        (folder / ".tmp").mkdir(mode=0o700, exist_ok=True)
        spec = {"parent": os.getpid(), "limits": self.config.rlimits(), "nice": self.config.nice}
        if self._sandbox_rules is not None:
            spec["sandbox"] = self._sandbox_rules + [(os.path.realpath(folder), "write")]
        argv = [sys.executable, "-I", "-S", str(LAUNCHER), json.dumps(spec), *self.config.command, *extra]
        child = Child(argv, self.child_env(session), str(session.conn.identity.folder), session.size,
                      session._output, session._child_exited, session._input_drained)
        child.start()
        self.sessions.add(session)
        self._children_gone.clear()
        return child

    def child_ended(self, session: _Session) -> None:
        self.sessions.discard(session)
        if not self.sessions:
            self._children_gone.set()


async def serve(config: ServeConfig, ready=None) -> int:
    """Run until SIGINT/SIGTERM/SIGHUP; then end every session and return 0."""
    server = Server(config)
    await server.start()
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        loop.add_signal_handler(sig, stop.set)
    if ready is not None:
        ready(server)
    try:
        await stop.wait()
    finally:
        log.info("stopping: ending %d sessions", len(server.sessions))
        await server.close()
        log.info("stopped")
    return 0
