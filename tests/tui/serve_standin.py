"""A tiny stand-in for the app in the `netstep serve` tests: raw keys in, a small screen out.

Keys: q quits (status 0), x exits with status 3, s dies by SIGSEGV, m tries to allocate 3 GB,
b spins the CPU forever, l shows the process's limits, f probes the filesystem (a classmate's
folder, /etc/shadow, its own folder), r tries to open each path listed in probe-paths.txt in
its folder (an attack test writes that file), ! raises a Python exception, g starts a
grandchild in the same process group that ignores SIGHUP, h makes this process ignore SIGHUP
too; anything else is recorded (and bracketed-paste markers counted). The last line is a rule
as wide as the terminal, so a resize visibly reflows the screen.
"""

import os
import resource
import signal
import subprocess
import sys
import termios
import tty

keys = []
notes = []
pastes = [0, 0]       # bracketed-paste starts and ends seen
tail = b""            # the last bytes read: a marker may span two reads


def draw():
    cols, rows = os.get_terminal_size(0)
    lines = [
        f"STANDIN pid={os.getpid()} tty={os.ttyname(0)} size={cols}x{rows} term={os.environ.get('TERM')}",
        f"user={os.environ.get('NETSTEP_USER')} cwd={os.getcwd()}",
        f"data={os.environ.get('NETSTEP_DATA_DIR')}",
        f"args={' '.join(sys.argv[1:])} lang={os.environ.get('LANG')}",
        f"budget={os.environ.get('NETSTEP_MEMORY_BUDGET')} confine={os.environ.get('NETSTEP_CONFINE_DIR')}",
        f"pastes={pastes[0]}/{pastes[1]}",
        f"keys={''.join(keys)[-60:]}",
        *notes[-10:],
        f"count={len(keys)}",
        "=" * cols,
    ]
    os.write(1, ("\x1b[2J\x1b[H" + "\r\n".join(line[:cols] for line in lines)).encode())


def limits():
    as_soft = resource.getrlimit(resource.RLIMIT_AS)[0]
    cpu_soft = resource.getrlimit(resource.RLIMIT_CPU)[0]
    ctty = os.tcgetpgrp(0) == os.getpgrp()
    return (f"limits as={as_soft} cpu={cpu_soft} nice={os.nice(0)} sid={os.getsid(0)} "
            f"pgid={os.getpgrp()} fg={ctty}")


def attempt(action):
    try:
        action()
        return "ok"
    except PermissionError:
        return "DENIED"
    except OSError as e:
        return type(e).__name__


def probe():
    def read(path):
        with open(path, "rb") as f:
            f.read(1)

    def write(path):
        with open(path, "w") as f:
            f.write("x")

    return (f"probe read-other={attempt(lambda: read('../bob/secret.txt'))} "
            f"write-other={attempt(lambda: write('../bob/evil.txt'))} "
            f"shadow={attempt(lambda: read('/etc/shadow'))} own={attempt(lambda: write('own.txt'))} "
            f"tmp={attempt(lambda: __import__('tempfile').TemporaryFile().close())} "
            f"signal-parent={attempt(lambda: os.kill(os.getppid(), 0))} "
            f"tcp={attempt(lambda: __import__('socket').create_connection(('127.0.0.1', 9), 5))}")


def read_listed():
    """One line per path in probe-paths.txt: ok (and the first bytes) or why it failed."""
    lines = []
    for path in open("probe-paths.txt").read().split():
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY)
        except OSError as e:
            lines.append(f"read {path} {'DENIED' if isinstance(e, PermissionError) else type(e).__name__}")
            continue
        os.close(fd)
        lines.append(f"read {path} OPENED")
    return lines


def main():
    old = termios.tcgetattr(0)
    tty.setraw(0, termios.TCSANOW)   # as Textual does: keys typed early are kept
    signal.signal(signal.SIGWINCH, lambda *_: draw())
    draw()
    try:
        while True:
            data = os.read(0, 65536)
            if not data:
                return 0
            global tail
            seen = tail + data
            pastes[0] += seen.count(b"\x1b[200~")
            pastes[1] += seen.count(b"\x1b[201~")
            tail = seen[-5:]
            data = data.replace(b"\x1b", b"^")    # keys are shown on the screen: no escapes
            for ch in data.decode("utf-8", "replace"):
                if ch == "q":
                    return 0
                if ch == "x":
                    return 3
                if ch == "s":
                    os.kill(os.getpid(), signal.SIGSEGV)
                if ch == "b":
                    while True:
                        pass
                if ch == "m":
                    try:
                        block = bytearray(3 << 30)
                        notes.append(f"allocated {len(block)}")
                    except MemoryError:
                        notes.append("MemoryError")
                elif ch == "l":
                    notes.append(limits())
                elif ch == "f":
                    notes.append(probe())
                elif ch == "r":
                    notes.extend(read_listed())
                elif ch == "!":
                    raise RuntimeError("the stand-in crashed on purpose")
                elif ch == "g":
                    code = "import signal, time; signal.signal(signal.SIGHUP, signal.SIG_IGN); time.sleep(600)"
                    kid = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.DEVNULL,
                                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                    notes.append(f"grandchild={kid.pid}")
                elif ch == "h":
                    signal.signal(signal.SIGHUP, signal.SIG_IGN)
                    notes.append("ignoring SIGHUP")
                else:
                    keys.append(ch)
            draw()
    finally:
        termios.tcsetattr(0, termios.TCSAFLUSH, old)
        os.write(1, b"\r\nbye\r\n")


if __name__ == "__main__":
    sys.exit(main())
