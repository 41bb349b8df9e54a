"""`netstep serve`: the app over SSH, one isolated child process per session.

Shape (after charmbracelet/wish): asyncssh speaks the protocol; every session that asks for a
PTY gets its own child running the app on a fresh pseudo-terminal, because Textual wants a
real terminal and installs process-wide signal handlers. The child leads its own session and
process group, runs under CPU, memory and file rlimits at a lower priority inside a Landlock
sandbox, and its whole group is hung up, then killed, when the session ends. Nothing else is
offered: no shell, no commands, no SFTP/SCP, no forwarding.

Modules, outside in:
    config.py        ServeConfig (every limit and its default; the flags are made from it)
    identity.py      authorized_keys -> the folder each key owns; the host key
    server.py        listening, admission (MaxStartups, per key, in total), the registry
    protocol.py      one SSH connection and its one session channel
    pty_child.py     one app process group on its pty; the input gate; exit descriptions
    sandbox.py       what a session may read, list, write and open (Landlock rules)
    landlock.py      the kernel interface, shared with session_child.py
    session_child.py the first program of a child: limits, sandbox, then exec the app
    app_main.py      the app in the child, its tracebacks kept for the server's log
    web.py           --web: the same children for browsers, through textual-serve
    web_links.py     students' secret links for the browser, kept hashed
    channel.py       the classroom channel: two pipes per session beside its pty, JSON lines
    hub.py           the classroom: status files, teachers' requests (watch, send, type), the load
    vscreen.py       a pyte virtual screen per session, for a teacher watching

Names are loaded on first use, so `tui.serve.config` (imported by the command line to build
its flags) does not import asyncssh.
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "ServeConfig": "config", "ServeError": "config",
    "KeyEntry": "identity", "Identity": "identity", "AuthorizedKeys": "identity",
    "parse_authorized_keys": "identity", "load_host_key": "identity",
    "Server": "server", "serve": "server", "HOST_KEY_NAME": "server", "LAUNCHER": "server",
    "Child": "pty_child", "InputGate": "pty_child", "describe_exit": "pty_child",
    "sandbox_rules": "sandbox", "landlock_abi": "server",
    "TERMINAL_RESET": "protocol",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'tui.serve' has no attribute {name!r}")
    return getattr(importlib.import_module(f"tui.serve.{module}"), name)
