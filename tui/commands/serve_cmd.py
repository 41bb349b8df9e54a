"""`netstep serve`: the app over SSH, one isolated session per connection (see tui/serve/).

The flags come from ServeConfig's fields (tui/serve/config.py), so each default is written
once; `add_parser` is what the command line calls.
"""

from __future__ import annotations

import os
import sys

from tui.commands.common import UserError

# Tests and benchmarks swap in another program here; users get the app.
COMMAND = None


def add_parser(sub):
    from tui.serve.config import add_flags

    parser = sub.add_parser("serve", help="serve the app over SSH, one isolated session per connection")
    add_flags(parser)
    parser.set_defaults(handler=run)
    return parser


def config_from_args(args):
    from tui.serve.config import from_args

    config = from_args(args)
    if COMMAND:
        config.command = list(COMMAND)
    return config


def _mb(n: int) -> str:
    return f"{n / 1024:.1f} GB" if n >= 1024 else f"{n} MB"


def _announce(server) -> None:
    from tui.serve.config import INPUT_BURST, INPUT_RATE, machine_memory_mb

    c = server.config
    out = sys.stderr
    if c.allow_anonymous:
        bar = "!" * 78
        print(bar, file=out)
        print("!!! ANONYMOUS MODE: anyone who can reach "
              f"{c.host}:{server.port} gets a session without a key.", file=out)
        print("!!! Use it only on a trusted network. Each guest's files are thrown away at disconnect.",
              file=out)
        if server.keys is not None:
            print("!!! Keys in the authorized-keys file still log their owners in to their own folders.",
                  file=out)
        if c.host not in ("127.0.0.1", "::1", "localhost"):
            print(f"!!! Listening on {c.host}, not only this machine.", file=out)
        print(bar, file=out)
    if os.geteuid() == 0:
        print("netstep serve: WARNING: running as root. Run the server as a plain user: every session "
              "runs as the server's user, and only the sandbox stands between a student and root.", file=out)
    keys = f"{len(server.keys.entries)} authorized keys" if server.keys is not None else "no keys"
    if server.keys is not None and server.keys.problems:
        keys += f" ({len(server.keys.problems)} lines skipped, see above)"
    idle = f"{c.idle_timeout:g} s" if c.idle_timeout else "off"
    print(f"netstep serve: listening on {c.host}:{server.port}; host key "
          f"{server.host_key.get_fingerprint('sha256')}; {keys}; data in {server.root}", file=out)
    if not c.sandbox:
        sandbox = "not sandboxed (--no-sandbox)"
    elif server.landlock:
        sandbox = f"sandboxed with Landlock (ABI {server.landlock})"
    else:
        sandbox = "not sandboxed (no Landlock in this kernel)"
    start, rate, full = server.startups
    per_key = c.max_per_key or "no limit"
    per_address = c.max_per_address or "no limit"
    print(f"netstep serve: at most {c.max_sessions} sessions, {per_key} per key; logging in: {per_address} "
          f"per address, drops from {start} ({rate}%) to {full} at once; login grace {c.login_grace:g} s, "
          f"idle timeout {idle}; {sandbox}", file=out)
    memory = c.session_memory_mb()
    total = machine_memory_mb()
    if memory:
        whole = f" of this machine's {_mb(total)}" if total else ""
        budget = f"{_mb(memory)} per session ({c.max_sessions} x {_mb(memory)} = {_mb(memory * c.max_sessions)}" \
                 f"{whole}); the engine plans within {_mb(c.engine_budget_bytes() >> 20)}"
        if total and memory * c.max_sessions > total:
            budget += "; WARNING: full sessions could exhaust this machine's memory"
    else:
        budget = "no memory limit per session (--memory-limit 0)"
    print(f"netstep serve: memory {budget}; CPU {c.cpu_limit or 'unlimited'} s per session; input "
          f"{INPUT_BURST >> 10} KB at once, {INPUT_RATE >> 10} KB/s", file=out)
    host = "localhost" if c.host in ("127.0.0.1", "::1", "0.0.0.0", "::") else c.host
    print(f"netstep serve: students connect with: ssh -p {server.port} {host}   (Ctrl-C here stops the server)",
          file=out, flush=True)


def run(args) -> int:
    import asyncio  # here, not at the top: `netstep --help` and headless commands never need it
    import logging

    from tui.serve import ServeError, serve

    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(message)s", "%Y-%m-%d %H:%M:%S"))
    log = logging.getLogger("netstep.serve")
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    log.propagate = False
    logging.getLogger("asyncssh").setLevel(logging.WARNING)
    try:
        config = config_from_args(args)
        return asyncio.run(serve(config, ready=_announce))
    except ServeError as e:
        raise UserError(str(e)) from None
