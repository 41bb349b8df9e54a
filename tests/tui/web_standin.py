"""A tiny stand-in for the app in the `netstep serve --web` tests: Textual's web-driver
protocol on stdin/stdout (the prelude, then packets: type byte, 4-byte length, payload).

It reports who and where it runs and its limits; keys: q quits (an exit packet, status 0),
f probes the filesystem (a classmate's folder, the server's data folder, its own folder),
h ignores SIGTERM and the quit request (the server must kill it), ! raises an exception,
z stops showing the count per key and = shows it; anything else is counted.
A quit request from the server ends it with status 0.
Served with the classroom's pipes (NETSTEP_STATUS_FD / NETSTEP_CONTROL_FD) it publishes a
status as the app does (lesson adam, step 2 of 5, its check not met, `trained` = keys counted)
at start and after each key, and shows every message the server sends as `CONTROL {json}`.
"""

import json
import os
import resource
import signal
import sys
import threading

out = sys.stdout.buffer
stubborn = False
lock = threading.Lock()     # the control listener writes packets too


def packet(kind: bytes, payload: bytes) -> None:
    with lock:
        out.write(kind + len(payload).to_bytes(4, "big") + payload)
        out.flush()


def channel():
    """(write, read) ends of the classroom's pipes, or None when not served with them."""
    try:
        return int(os.environ["NETSTEP_STATUS_FD"]), int(os.environ["NETSTEP_CONTROL_FD"])
    except (KeyError, ValueError):
        return None


def publish(fds, keys: int) -> None:
    if fds:
        status = {"kind": "status", "screen": "lesson", "lesson": "adam", "title": "Standin lesson", "step": 2,
                  "steps": 5, "check": False, "trained": keys, "playing": False}
        os.write(fds[0], json.dumps(status).encode() + b"\n")


def listen(fd: int) -> None:
    with os.fdopen(fd, "rb") as control:
        for line in control:
            say("CONTROL " + json.dumps(json.loads(line), sort_keys=True))


def say(text: str) -> None:
    packet(b"D", (text + "\r\n").encode())


def attempt(action) -> str:
    try:
        action()
        return "ok"
    except PermissionError:
        return "DENIED"
    except OSError as e:
        return type(e).__name__


def probe() -> str:
    folder = os.environ["NETSTEP_DATA_DIR"]
    users = os.path.dirname(folder)
    mate = next((os.path.join(users, n) for n in sorted(os.listdir(users)) if os.path.join(users, n) != folder), None) \
        if attempt(lambda: os.listdir(users)) == "ok" else os.path.join(users, "bob")

    def write_own():
        with open(os.path.join(folder, "mine.txt"), "w") as f:
            f.write("x")

    def write_root():
        with open(os.path.join(os.path.dirname(users), "planted.txt"), "w") as f:
            f.write("x")

    def read_links():
        with open(os.path.join(os.path.dirname(users), "web_links.json")) as f:
            f.read()

    return (f"PROBE mate={attempt(lambda: os.listdir(mate))} links={attempt(read_links)} "
            f"own={attempt(write_own)} root={attempt(write_root)}")


def main() -> None:
    global stubborn
    out.write(b"__GANGLION__\n")
    say(f"WEBSTANDIN pid={os.getpid()} user={os.environ.get('NETSTEP_USER')} cwd={os.getcwd()} "
        f"size={os.environ.get('COLUMNS')}x{os.environ.get('ROWS')}")
    say(f"data={os.environ.get('NETSTEP_DATA_DIR')} confine={os.environ.get('NETSTEP_CONFINE_DIR')} "
        f"budget={os.environ.get('NETSTEP_MEMORY_BUDGET')} driver={os.environ.get('TEXTUAL_DRIVER')}")
    say(f"limits as={resource.getrlimit(resource.RLIMIT_AS)[0]} cpu={resource.getrlimit(resource.RLIMIT_CPU)[0]} "
        f"nice={os.nice(0)} sid={os.getsid(0) == os.getpid()} tty={os.isatty(0)}")
    keys = 0
    quiet = False
    fds = channel()
    say(f"channel={'yes' if fds else 'no'}")
    if fds:
        threading.Thread(target=listen, args=(fds[1],), daemon=True).start()
    publish(fds, keys)
    stdin = sys.stdin.buffer
    while True:
        head = stdin.read(5)
        if len(head) < 5:
            return
        kind, size = head[:1], int.from_bytes(head[1:], "big")
        payload = stdin.read(size)
        if kind == b"M":
            meta = json.loads(payload)
            if meta.get("type") == "quit" and not stubborn:
                packet(b"M", b'{"type": "exit"}')
                return
            if meta.get("type") == "resize":
                say(f"resized {meta['width']}x{meta['height']}")
            continue
        for ch in payload.decode("utf-8", "replace"):
            if ch == "q":
                packet(b"M", b'{"type": "exit"}')
                return
            if ch == "!":
                raise RuntimeError("standin crashed on purpose")
            if ch == "f":
                say(probe())
            elif ch == "z":
                quiet = True
            elif ch == "=":
                say(f"total={keys}")
            elif ch == "h":
                stubborn = True
                signal.signal(signal.SIGTERM, signal.SIG_IGN)
                say("STUBBORN")
            else:
                keys += 1
                if not quiet:
                    say(f"keys={keys}")
                publish(fds, keys)


if __name__ == "__main__":
    main()
