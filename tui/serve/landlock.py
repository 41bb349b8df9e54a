"""Landlock, the kernel's file sandbox (Linux >= 5.13): its numbers and one `confine` call.

Standard library only and free of netstep imports: the session child (session_child.py, run
as `python -I -S`) loads this file by its path before it execs the app, and the server
imports it as tui.serve.landlock to ask the kernel's ABI version. One copy of the numbers.
"""

from __future__ import annotations

import ctypes
import os
import stat
import struct

PR_SET_NO_NEW_PRIVS = 38

# The same syscall numbers on every architecture.
SYS_CREATE_RULESET, SYS_ADD_RULE, SYS_RESTRICT_SELF = 444, 445, 446
RULESET_VERSION, RULE_PATH_BENEATH = 1, 1
EXECUTE, WRITE_FILE, READ_FILE, READ_DIR = 1 << 0, 1 << 1, 1 << 2, 1 << 3
REFER, TRUNCATE, IOCTL_DEV = 1 << 13, 1 << 14, 1 << 15
FILE_RIGHTS = EXECUTE | WRITE_FILE | READ_FILE | TRUNCATE | IOCTL_DEV   # the only ones a file rule takes
READ = EXECUTE | READ_FILE | READ_DIR

# What each kind of rule grants. "list": the folder that holds netstep's packages in a source
# checkout, so imports can find them, without reading the checkout's other files.
MODES = ("read", "list", "write", "device")


def abi(libc=None) -> int:
    """The kernel's Landlock ABI version, 0 where there is none."""
    try:
        libc = libc or ctypes.CDLL(None, use_errno=True)
        return max(0, libc.syscall(SYS_CREATE_RULESET, None, 0, RULESET_VERSION))
    except (OSError, AttributeError):
        return 0


def handled_rights(version: int) -> int:
    handled = REFER - 1                     # ABI 1: execute ... make_sym
    if version >= 2:
        handled |= REFER                    # rename/link across folders
    if version >= 3:
        handled |= TRUNCATE
    if version >= 5:
        handled |= IOCTL_DEV
    return handled


def rights(mode: str, handled: int, is_dir: bool) -> int:
    access = {"read": READ, "list": READ_DIR, "write": handled,
              "device": READ_FILE | WRITE_FILE | IOCTL_DEV}[mode]
    if not is_dir:
        access &= FILE_RIGHTS
    return access & handled


def confine(rules) -> int:
    """Confine this process and whatever it execs to `rules`: [(path, mode)], mode in MODES.

    Reads are allowed only beneath "read" paths (and the files named by "device" rules), and
    writes (creating, removing, renaming too) only beneath "write" ones; everything else on
    the filesystem is refused by the kernel, whichever part of the app a path came through.
    Returns the ABI version used, 0 where the kernel has no Landlock.
    """
    libc = ctypes.CDLL(None, use_errno=True)
    version = abi(libc)
    if version < 1:
        return 0
    handled = handled_rights(version)
    # ABI 4: no TCP at all (the app needs none); ABI 6: no signals to, and no abstract
    # sockets of, processes outside this sandbox (the server, other students' sessions).
    net = (1 << 0) | (1 << 1) if version >= 4 else 0          # bind_tcp, connect_tcp
    scoped = (1 << 0) | (1 << 1) if version >= 6 else 0       # abstract_unix_socket, signal
    attr = struct.pack("=QQQ", handled, net, scoped)[:8 if version < 4 else 16 if version < 6 else 24]
    ruleset = libc.syscall(SYS_CREATE_RULESET, attr, len(attr), 0)
    if ruleset < 0:
        raise OSError(ctypes.get_errno(), "landlock_create_ruleset")
    try:
        for path, mode in rules:
            try:
                fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
            except OSError:
                continue  # not on this machine
            try:
                access = rights(mode, handled, stat.S_ISDIR(os.fstat(fd).st_mode))
                rule = struct.pack("=Qi", access, fd)
                if access and libc.syscall(SYS_ADD_RULE, ruleset, RULE_PATH_BENEATH, rule, 0) < 0:
                    raise OSError(ctypes.get_errno(), f"landlock_add_rule {path}")
            finally:
                os.close(fd)
        if libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 or libc.syscall(SYS_RESTRICT_SELF, ruleset, 0) < 0:
            raise OSError(ctypes.get_errno(), "landlock_restrict_self")
    finally:
        os.close(ruleset)
    return version
