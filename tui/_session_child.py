"""First program of every `netstep serve` session child; it sets the child up and execs the app.

Run as `python -I -S _session_child.py SPEC_JSON ARGV...` by tui.serve with the session's
pseudo-terminal on fds 0-2, already the leader of a new session (Popen start_new_session).
Doing this here instead of in a preexec_fn keeps the server's fork free of Python code
(preexec_fn is unsafe in a threaded process), at the price of one extra, tiny interpreter
start. Standard library only, nothing from netstep.
"""

import ctypes
import fcntl
import json
import os
import resource
import signal
import stat
import struct
import sys
import termios

PR_SET_PDEATHSIG = 1
PR_SET_NO_NEW_PRIVS = 38

# Landlock (Linux >= 5.13): the same numbers on every architecture.
SYS_CREATE_RULESET, SYS_ADD_RULE, SYS_RESTRICT_SELF = 444, 445, 446
RULESET_VERSION, RULE_PATH_BENEATH = 1, 1
EXECUTE, WRITE_FILE, READ_FILE, READ_DIR = 1 << 0, 1 << 1, 1 << 2, 1 << 3
TRUNCATE, IOCTL_DEV = 1 << 14, 1 << 15
FILE_RIGHTS = EXECUTE | WRITE_FILE | READ_FILE | TRUNCATE | IOCTL_DEV   # the only ones a file rule takes
READ = EXECUTE | READ_FILE | READ_DIR


def landlock_abi(libc) -> int:
    return libc.syscall(SYS_CREATE_RULESET, None, 0, RULESET_VERSION)


def sandbox(rules) -> int:
    """Confine this process and whatever it execs to `rules`: [(path, "read" | "write" | "device")].

    Reads are allowed only beneath the "read" paths, and writes (creating, removing, renaming
    too) only beneath the "write" ones; everything else on the filesystem is refused by the
    kernel, whichever widget of the app a path came through. Returns the Landlock ABI
    version used, 0 where the kernel has no Landlock.
    """
    libc = ctypes.CDLL(None, use_errno=True)
    abi = landlock_abi(libc)
    if abi < 1:
        return 0
    handled = (1 << 13) - 1                 # ABI 1: execute ... make_sym
    if abi >= 2:
        handled |= 1 << 13                  # refer (rename/link across folders)
    if abi >= 3:
        handled |= TRUNCATE
    if abi >= 5:
        handled |= IOCTL_DEV
    # ABI 4: no TCP at all (the app needs none); ABI 6: no signals to, and no abstract
    # sockets of, processes outside this sandbox (the server, other students' sessions).
    net = (1 << 0) | (1 << 1) if abi >= 4 else 0          # bind_tcp, connect_tcp
    scoped = (1 << 0) | (1 << 1) if abi >= 6 else 0       # abstract_unix_socket, signal
    attr = struct.pack("=QQQ", handled, net, scoped)[:8 if abi < 4 else 16 if abi < 6 else 24]
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
                access = handled if mode == "write" else READ | (IOCTL_DEV if mode == "device" else 0)
                if mode == "device":
                    access |= WRITE_FILE
                if not stat.S_ISDIR(os.fstat(fd).st_mode):
                    access &= FILE_RIGHTS
                rule = struct.pack("=Qi", access & handled, fd)
                if libc.syscall(SYS_ADD_RULE, ruleset, RULE_PATH_BENEATH, rule, 0) < 0:
                    raise OSError(ctypes.get_errno(), f"landlock_add_rule {path}")
            finally:
                os.close(fd)
        if libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 or libc.syscall(SYS_RESTRICT_SELF, ruleset, 0) < 0:
            raise OSError(ctypes.get_errno(), "landlock_restrict_self")
    finally:
        os.close(ruleset)
    return abi


def main():
    spec = json.loads(sys.argv[1])
    argv = sys.argv[2:]

    # The pty becomes our controlling terminal: SIGWINCH on resize and SIGHUP on hang-up
    # now reach this process group, which is the terminal's foreground group.
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)

    # If the server dies without cleaning up (kill -9), the kernel kills us too.
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        pass
    if os.getppid() != spec["parent"]:
        os._exit(1)  # the server is already gone

    # A server started under nohup or with a blocked mask must not pass that on:
    # the session ends by SIGHUP and that has to work.
    for sig in (signal.SIGHUP, signal.SIGINT, signal.SIGQUIT, signal.SIGTERM, signal.SIGPIPE,
                signal.SIGXCPU, signal.SIGXFSZ, signal.SIGWINCH):
        signal.signal(sig, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_SETMASK, [])

    for name, soft, hard in spec["limits"]:
        resource.setrlimit(getattr(resource, name), (soft, hard))
    if spec.get("nice"):
        os.nice(spec["nice"])
    if spec.get("sandbox"):
        try:
            sandbox(spec["sandbox"])
        except OSError as e:   # never run a session unconfined when confinement was asked for
            os.write(2, f"netstep: cannot confine this session ({e}); ask the instructor\r\n".encode())
            os._exit(126)

    try:
        os.execvp(argv[0], argv)
    except OSError as e:
        os.write(2, f"netstep: cannot start {argv[0]}: {e.strerror}\r\n".encode())
        os._exit(127)


if __name__ == "__main__":
    main()
