"""The server's settings: one dataclass whose fields are also the `netstep serve` flags.

Each field carries its flag, metavar and help in its metadata, so a default is written once
(here) and `add_flags` builds the command line from it. Standard library only and no
asyncssh: the command line imports this module to build its parser.
"""

from __future__ import annotations

import math
import os
import resource
import sys
from dataclasses import dataclass, field, fields

# The app's own address space at start (VmPeak ~300 MB, measured on the default run);
# a session limit below this cannot even open the app.
APP_BASELINE_MB = 320
MIN_MEMORY_MB = 384
MAX_DEFAULT_MEMORY_MB = 2048
INPUT_BURST = 64 << 10        # bytes of keyboard input a session may receive at once...
INPUT_RATE = 16 << 10         # ...refilled at this many bytes per second; the rest is dropped
CHILD_FILES = 1024            # open files per session, clamped to the server's hard limit


class ServeError(Exception):
    """A problem with the server's set-up the instructor can fix (bad file, port in use)."""


def _flag(help_text: str, metavar: str | None = None, flag: str | None = None) -> dict:
    return {"help": help_text, "metavar": metavar, "flag": flag}


def machine_memory_mb() -> int:
    """Physical memory of this machine in MB (0 where it cannot be read)."""
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") >> 20
    except (ValueError, OSError, AttributeError):
        return 0


@dataclass
class ServeConfig:
    host: str = field(default="127.0.0.1", metadata=_flag(
        "address to listen on (default %(default)s; 0.0.0.0 for a class)"))
    port: int = field(default=2222, metadata=_flag("port to listen on (default %(default)s; 0 picks a free one)"))
    authorized_keys: str | None = field(default=None, metadata=_flag(
        "students' public keys, one per line; a key's comment names its folder (a plain name, "
        "unique), else the folder is named from the key's fingerprint", "FILE"))
    host_key: str | None = field(default=None, metadata=_flag(
        "the server's private key (default: made once in the data folder)", "FILE"))
    max_sessions: int = field(default=16, metadata=_flag("sessions at once (default %(default)s)", "N"))
    max_per_key: int = field(default=2, metadata=_flag(
        "logged-in connections at once per student key (default %(default)s; 0 = no limit)", "N"))
    max_per_address: int = field(default=20, metadata=_flag(
        "connections still logging in at once from one address (default %(default)s; 0 = no limit); "
        "logged-in sessions are limited per key, so a class behind NAT is fine", "N"))
    max_startups: str = field(default="20:30:100", metadata=_flag(
        "connections still logging in, as OpenSSH's MaxStartups start:rate:full: past START, each "
        "new one is dropped with RATE%% chance, rising to 100%% at FULL (default %(default)s)", "S:R:F"))
    idle_timeout: float = field(default=1800.0, metadata=_flag(
        "close a session after S seconds without a keystroke (default %(default)g; 0 = never)", "S"))
    login_grace: float = field(default=30.0, metadata=_flag(
        "seconds to log in, and then to start a session (default %(default)g)", "S"))
    allow_anonymous: bool = field(default=False, metadata=_flag(
        "let anyone in without a key, each in a throw-away folder (trusted networks only)"))
    cpu_limit: int = field(default=3600, metadata=_flag(
        "CPU seconds per session before it is stopped (default %(default)s; 0 = none)", "S"))
    memory_limit: int | None = field(default=None, metadata=_flag(
        f"address space per session in MB (default: 3/4 of this machine's memory shared by "
        f"--max-sessions, {MIN_MEMORY_MB}..{MAX_DEFAULT_MEMORY_MB}; 0 = none)", "MB"))
    file_limit: int = field(default=512, metadata=_flag(
        "largest file a session may write, in MB (default %(default)s; 0 = none)", "MB"))
    sandbox: bool = field(default=True, metadata=_flag(
        "do not confine sessions with Landlock (reading code only, writing their own folder)",
        flag="--no-sandbox"))
    # -- browser access (tui/serve/web.py): alongside SSH, same folders, sandbox and limits
    web: int | None = field(default=None, metadata=_flag(
        "also serve the app to browsers on this port, beside SSH on --port (0 picks a free one); "
        "students open the links `netstep class links` prints", "PORT"))
    # -- the classroom (issue 15): teachers' keys open the class view
    teachers: str | None = field(default=None, metadata=_flag(
        "teachers' public keys (as --authorized-keys): their connections open the class view "
        "(every student's progress, watch a screen, send a lesson) instead of the app", "FILE"))
    teachers_can_type: bool = field(default=False, metadata=_flag(
        "a teacher watching a student may take the keyboard (off by default; the student sees it)"))
    busy_load: float = 0.85            # machine CPU share above which playing sessions draw less often
    # Not flags: fixed policy, or set by tests and benchmarks.
    nice: int = 10                     # children run below the server
    kill_grace: float = 3.0            # SIGHUP, then SIGKILL after this many seconds
    keepalive: float = 30.0            # probe silent clients; 4 unanswered probes drop them
    data_dir: str | None = None        # default: tui.datadir.data_root()
    # The app under a small wrapper that keeps tracebacks in the server's log; -P and -s: nothing
    # in the student's folder (the working directory, ~/.local) is ever imported.
    command: list[str] = field(default_factory=lambda: [sys.executable, "-P", "-s", "-B", "-m",
                                                        "tui.serve.app_main"])

    # -- checks

    def startups(self) -> tuple[int, int, int]:
        try:
            start, rate, full = (int(x) for x in self.max_startups.split(":"))
        except ValueError:
            raise ServeError(f"--max-startups must be START:RATE:FULL such as 20:30:100, got "
                             f"{self.max_startups!r}") from None
        if not (1 <= start <= full <= 10000 and 0 <= rate <= 100):
            raise ServeError(f"--max-startups needs 1 <= START <= FULL <= 10000 and RATE 0..100, "
                             f"got {self.max_startups!r}")
        return start, rate, full

    def validate(self) -> None:
        def seconds(value, flag, zero_ok, note=""):
            ok = isinstance(value, (int, float)) and math.isfinite(value) and (value >= 0 if zero_ok else value > 0)
            return ok, f"--{flag} must be {'>= 0' if zero_ok else '> 0'} seconds, a finite number{note}, got {value:g}"

        checks = [
            (0 <= self.port <= 65535, f"--port must be 0..65535, got {self.port}"),
            (1 <= self.max_sessions <= 1000, f"--max-sessions must be 1..1000, got {self.max_sessions}"),
            (self.max_per_key >= 0, f"--max-per-key must be >= 0 (0 = no limit), got {self.max_per_key}"),
            (self.max_per_address >= 0,
             f"--max-per-address must be >= 0 (0 = no limit), got {self.max_per_address}"),
            seconds(self.idle_timeout, "idle-timeout", True, " (0 = never)"),
            seconds(self.login_grace, "login-grace", False),
            seconds(self.kill_grace, "kill-grace", False),
            seconds(self.keepalive, "keepalive", False),
            (self.cpu_limit >= 0, f"--cpu-limit must be >= 0 seconds (0 = none), got {self.cpu_limit}"),
            (self.memory_limit is None or self.memory_limit == 0 or self.memory_limit >= MIN_MEMORY_MB,
             f"--memory-limit must be >= {MIN_MEMORY_MB} MB (the app alone needs ~{APP_BASELINE_MB}; "
             f"0 = none), got {self.memory_limit}"),
            (self.file_limit >= 0, f"--file-limit must be >= 0 MB (0 = none), got {self.file_limit}"),
            (bool(self.host), "--host must not be empty"),
            (bool(self.command), "the session command must not be empty"),
        ]
        for ok, message in checks:
            if not ok:
                raise ServeError(message)
        self.startups()
        if self.web is not None:
            if not 0 <= self.web <= 65535:
                raise ServeError(f"--web must be a port 0..65535, got {self.web}")
            if self.web and self.web == self.port:
                raise ServeError(f"--web {self.web} is also the SSH --port; give each its own port")
            if not self.authorized_keys:
                raise ServeError("--web needs --authorized-keys FILE: each student's browser link is made "
                                 "for a key's name (netstep class links)")
        if not self.authorized_keys and not self.allow_anonymous:
            raise ServeError("serve needs --authorized-keys FILE (your students' public keys), "
                             "or --allow-anonymous on a trusted network")

    # -- budgets

    def session_memory_mb(self) -> int:
        """The address-space limit of one session: given, or this machine's share (0 = none)."""
        if self.memory_limit is not None:
            return self.memory_limit
        total = machine_memory_mb()
        if not total:
            return 1536
        share = total * 3 // 4 // self.max_sessions
        return max(MIN_MEMORY_MB, min(MAX_DEFAULT_MEMORY_MB, share))

    def engine_budget_bytes(self) -> int:
        """What the engine may plan to allocate in one session (NETSTEP_MEMORY_BUDGET): the
        session's limit less the app itself; 0 = no budget."""
        limit = self.session_memory_mb()
        return max(64, limit - APP_BASELINE_MB) << 20 if limit else 0

    def rlimits(self) -> list[tuple[str, int, int]]:
        inf = -1  # resource.RLIM_INFINITY
        # A server whose own hard limit is lower cannot grant 1024: take what there is.
        files = CHILD_FILES
        hard_files = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
        if hard_files != resource.RLIM_INFINITY:
            files = min(files, hard_files)
        limits = [("RLIMIT_CORE", 0, 0), ("RLIMIT_NOFILE", files, files)]
        if self.cpu_limit:
            # SIGXCPU at the soft limit, SIGKILL a little later if that is ignored.
            limits.append(("RLIMIT_CPU", self.cpu_limit, self.cpu_limit + 10))
        memory = self.session_memory_mb()
        if memory:
            limits.append(("RLIMIT_AS", memory << 20, memory << 20))
        if self.file_limit:
            limits.append(("RLIMIT_FSIZE", self.file_limit << 20, self.file_limit << 20))
        return [(name, soft, inf if hard < 0 else hard) for name, soft, hard in limits]


# ---------------------------------------------------------------------------------------------
# the command line, generated from the fields


def _flag_fields():
    return [f for f in fields(ServeConfig) if f.metadata]


def add_flags(parser) -> None:
    """Add one flag per ServeConfig field that has flag metadata, with the field's default."""
    for f in _flag_fields():
        meta = f.metadata
        flag = meta["flag"] or "--" + f.name.replace("_", "-")
        if f.type in (bool, "bool"):
            action = "store_false" if f.default else "store_true"
            parser.add_argument(flag, dest=f.name, action=action, help=meta["help"])
            continue
        kind = {"int": int, "float": float, "int | None": int}.get(str(f.type), str)
        parser.add_argument(flag, dest=f.name, type=kind, default=f.default, metavar=meta["metavar"],
                            help=meta["help"])


def from_args(args, **overrides) -> ServeConfig:
    values = {f.name: getattr(args, f.name) for f in _flag_fields() if hasattr(args, f.name)}
    values.update(overrides)
    return ServeConfig(**values)
