"""What a session may touch under Landlock: the rules the server hands to each session child.

Reading: the system's libraries, this interpreter (its prefixes, standard library and
site-packages) and netstep's own package folders. Never the folder the server was started
from, nor any other entry of the server's import path: a teacher who starts `netstep serve`
in a folder of grades exposes nothing. Devices: the session's own terminal, /dev/null and
/dev/urandom, not the rest of /dev (another student's /dev/pts/N). Writing: the session's
own folder only.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import sysconfig


# Files under /etc that Python, NumPy and the app read; the rest of /etc stays closed.
ETC_FILES = ("/etc/ld.so.cache", "/etc/localtime", "/etc/passwd", "/etc/group", "/etc/nsswitch.conf",
             "/etc/hosts", "/etc/locale.alias", "/etc/mime.types", "/etc/ld.so.conf", "/etc/ld.so.conf.d")
SYSTEM = ("/usr", "/lib", "/lib32", "/lib64", "/bin", "/sbin", "/proc", "/sys")
DEVICES = ("/dev/null", "/dev/urandom", "/dev/tty")   # /dev/tty is always the caller's own terminal
PACKAGES = ("tui", "engine")


def interpreter_paths() -> set[str]:
    """This Python: its prefixes, standard library and site-packages (a venv's too)."""
    paths = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix}
    for scheme_path in ("stdlib", "platstdlib", "purelib", "platlib"):
        try:
            paths.add(sysconfig.get_path(scheme_path))
        except KeyError:
            pass
    try:
        import site

        paths.update(site.getsitepackages())
    except (AttributeError, ImportError):
        pass
    return {p for p in paths if p}


def package_dirs() -> set[str]:
    dirs = set()
    for package in PACKAGES:
        spec = importlib.util.find_spec(package)
        if spec is not None:
            dirs.update(spec.submodule_search_locations or [])
    return dirs


def _beneath(path: str, roots) -> bool:
    return any(os.path.commonpath([path, root]) == root for root in roots)


def sandbox_rules(command: list[str]) -> list[tuple[str, str]]:
    """The rules every session shares; the server adds the session's terminal and folder."""
    read = {*SYSTEM, *ETC_FILES, *interpreter_paths(), *package_dirs()}
    # A script given as the session command (tests, benchmarks) is read from its folder.
    read.update(os.path.dirname(os.path.abspath(arg)) for arg in command[1:] if os.path.isfile(arg))
    rules = [(os.path.realpath(p), "read") for p in sorted(read) if os.path.exists(p)]
    granted = [path for path, _ in rules]
    # A source checkout (an editable install, PYTHONPATH): imports list the folder holding the
    # packages; listing is all they get there, not its files.
    for package in package_dirs():
        parent = os.path.dirname(os.path.realpath(package))
        if not _beneath(parent, granted):
            rules.append((parent, "list"))
    return rules + [(device, "device") for device in DEVICES]


def session_rules(shared: list[tuple[str, str]], folder: str, tty: str | None) -> list[tuple[str, str]]:
    """One session's rules: the shared ones, its own folder to write and its own terminal
    (none for a browser session, whose app talks over pipes)."""
    return shared + [(os.path.realpath(folder), "write")] + ([(tty, "device")] if tty else [])


def exposed(rules, path: str) -> str | None:
    """The rule under which `path` is readable by every session, or None."""
    real = os.path.realpath(path)
    for rule_path, mode in rules:
        if mode == "read" and os.path.commonpath([rule_path, real]) == rule_path:
            return rule_path
    return None
