"""The `netstep` command line.

Every command takes a run as --preset NAME, --config FILE and/or flags that override
it. User errors print one line on stderr and exit 2. Each command lives in its own
module under tui/commands with `add_parser(sub)` and `run(args)`; shared helpers are in
tui/commands/common.py, so imports run one way (cli -> commands -> common). Textual is
imported only by the commands that open the app, so headless commands start fast.
"""

from __future__ import annotations

import importlib
import sys

from tui.commands.common import EXIT_USAGE, Parser, UserError, add_run_options, build_trainer, run_config

__all__ = ["EXIT_USAGE", "UserError", "add_run_options", "build_trainer", "entry", "main", "make_parser", "run_config"]

# Command modules, in the order `netstep --help` lists them.
COMMANDS = ("train", "gradcheck", "demo", "lessons", "serve", "presets")


def _module(name):
    return importlib.import_module(f"tui.commands.{name}_cmd")


def make_parser():
    p = Parser(prog="netstep", description="Learn and inspect neural-network training in the terminal.")
    sub = p.add_subparsers(dest="command", parser_class=Parser, metavar="COMMAND")
    add_run_options(p)  # `netstep [run flags]` opens the app on that run
    p.set_defaults(handler=_module("app").run)
    for name in COMMANDS:
        module = _module(name)
        if hasattr(module, "add_parser"):
            module.add_parser(sub)
        else:
            _add_serve_parser(sub).set_defaults(handler=module.run)
    return p


def _add_serve_parser(sub):
    """serve's flags, until tui/commands/serve_cmd.py defines its own add_parser (its owner's to move)."""
    s = sub.add_parser("serve", help="serve the app over SSH, one isolated session per connection")
    s.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1; 0.0.0.0 for a class)")
    s.add_argument("--port", type=int, default=2222, help="port to listen on (default 2222)")
    s.add_argument("--authorized-keys", dest="authorized_keys", metavar="FILE",
                   help="students' public keys, one per line; the comment after each names its folder")
    s.add_argument("--host-key", dest="host_key", metavar="FILE",
                   help="the server's private key (default: made once in the data folder)")
    s.add_argument("--max-sessions", dest="max_sessions", type=int, default=16, metavar="N",
                   help="sessions at once (default 16)")
    s.add_argument("--idle-timeout", dest="idle_timeout", type=float, default=1800.0, metavar="S",
                   help="close a session after S seconds without a keystroke (default 1800; 0 = never)")
    s.add_argument("--allow-anonymous", dest="allow_anonymous", action="store_true",
                   help="let anyone in without a key, each in a throw-away folder (trusted networks only)")
    s.add_argument("--max-per-address", dest="max_per_address", type=int, default=4, metavar="N",
                   help="connections at once from one address (default 4; 0 = no limit, e.g. a class behind NAT)")
    s.add_argument("--login-grace", dest="login_grace", type=float, default=30.0, metavar="S",
                   help="seconds to log in, and then to start a session (default 30)")
    s.add_argument("--cpu-limit", dest="cpu_limit", type=int, default=3600, metavar="S",
                   help="CPU seconds per session before it is stopped (default 3600; 0 = none)")
    s.add_argument("--memory-limit", dest="memory_limit", type=int, default=1536, metavar="MB",
                   help="address space per session in MB (default 1536; 0 = none)")
    s.add_argument("--no-sandbox", dest="sandbox", action="store_false",
                   help="do not confine sessions with Landlock to reading code and writing their own folder")
    return s


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    try:
        args = make_parser().parse_args(argv)
        return args.handler(args)
    except UserError as e:
        print(f"netstep: {e}" if not str(e).startswith("netstep") else str(e), file=sys.stderr)
        return EXIT_USAGE
    except ValueError as e:
        # An engine error a command did not wrap (engine.NetstepError is a ValueError): still one line.
        from engine import NetstepError

        if not isinstance(e, NetstepError):
            raise
        print(f"netstep: {e}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("netstep: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


def entry():
    """Console-script entry point."""
    sys.exit(main())
