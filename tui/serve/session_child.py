"""First program of every `netstep serve` session child; it sets the child up and execs the app.

Run as `python -I -S session_child.py SPEC_JSON ARGV...` by tui.serve.server with the session's
pseudo-terminal on fds 0-2, already the leader of a new session (Popen start_new_session).
Doing this here instead of in a preexec_fn keeps the server's fork free of Python code
(preexec_fn is unsafe in a threaded process), at the price of one extra, tiny interpreter
start. Standard library only, and landlock.py beside it (the Landlock numbers).
"""

import ctypes
import fcntl
import json
import os
import resource
import signal
import sys
import termios

PR_SET_PDEATHSIG = 1


def _landlock():
    """tui/serve/landlock.py, loaded by its path: this interpreter runs with -I -S and imports
    nothing from netstep (or from the student's folder, its working directory)."""
    import importlib.util

    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "landlock.py")
    spec = importlib.util.spec_from_file_location("_netstep_landlock", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main():
    spec = json.loads(sys.argv[1])
    argv = sys.argv[2:]

    # The pty becomes our controlling terminal: SIGWINCH on resize and SIGHUP on hang-up
    # now reach this process group, which is the terminal's foreground group. A browser
    # session (tui/serve/web.py) has pipes instead of a pty: "tty": false.
    if spec.get("tty", True):
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
        which = getattr(resource, name)
        ceiling = resource.getrlimit(which)[1]
        if ceiling != resource.RLIM_INFINITY:   # never ask above a hard limit: that would fail
            hard = ceiling if hard == resource.RLIM_INFINITY else min(hard, ceiling)
            soft = hard if soft == resource.RLIM_INFINITY else min(soft, hard)
        resource.setrlimit(which, (soft, hard))
    if spec.get("nice"):
        os.nice(spec["nice"])
    if spec.get("sandbox"):
        try:
            _landlock().confine(spec["sandbox"])
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
