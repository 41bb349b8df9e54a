"""`netstep serve`: the app over SSH, one isolated session per connection (see tui/serve.py)."""

from __future__ import annotations

import sys

from tui.commands.common import UserError

# Tests and benchmarks swap in another program here; users get the app.
COMMAND = None


def config_from_args(args):
    from tui.serve import ServeConfig

    config = ServeConfig(host=args.host, port=args.port, authorized_keys=args.authorized_keys,
                         host_key=args.host_key, max_sessions=args.max_sessions,
                         idle_timeout=args.idle_timeout, allow_anonymous=args.allow_anonymous,
                         max_per_address=args.max_per_address, login_grace=args.login_grace,
                         cpu_limit=args.cpu_limit, memory_limit=args.memory_limit, sandbox=args.sandbox)
    if COMMAND:
        config.command = list(COMMAND)
    return config


def _announce(server) -> None:
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
    keys = f"{len(server.keys.entries)} authorized keys" if server.keys is not None else "no keys"
    idle = f"{c.idle_timeout:g} s" if c.idle_timeout else "off"
    per_address = c.max_per_address or "no limit"
    print(f"netstep serve: listening on {c.host}:{server.port}; host key "
          f"{server.host_key.get_fingerprint('sha256')}; {keys}; data in {server.root}", file=out)
    if not c.sandbox:
        sandbox = "not sandboxed (--no-sandbox)"
    elif server.landlock:
        sandbox = f"sandboxed with Landlock (ABI {server.landlock})"
    else:
        sandbox = "not sandboxed (no Landlock in this kernel)"
    print(f"netstep serve: at most {c.max_sessions} sessions ({per_address} per address), idle timeout {idle}, "
          f"per session {c.cpu_limit or 'unlimited'} CPU s and {c.memory_limit or 'unlimited'} MB, {sandbox}",
          file=out)
    host = "localhost" if c.host in ("127.0.0.1", "::1", "0.0.0.0", "::") else c.host
    print(f"netstep serve: students connect with: ssh -p {server.port} {host}   (Ctrl-C here stops the server)",
          file=out, flush=True)


def run(args) -> int:
    import asyncio  # here, not at the top: `netstep --help` and headless commands never need it
    import logging

    from tui.serve import ServeError, serve

    config = config_from_args(args)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(message)s", "%Y-%m-%d %H:%M:%S"))
    log = logging.getLogger("netstep.serve")
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    log.propagate = False
    logging.getLogger("asyncssh").setLevel(logging.WARNING)
    try:
        return asyncio.run(serve(config, ready=_announce))
    except ServeError as e:
        raise UserError(str(e)) from None
