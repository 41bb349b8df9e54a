"""The `netstep` command line.

Every command takes a run as --preset NAME, --config FILE and/or flags that override
it. User errors print one line on stderr and exit 2. Each command lives in its own
module under tui/commands with `add_parser(sub)` and `run(args)`; shared helpers are in
tui/commands/common.py, so imports run one way (cli -> commands -> common). Textual is
imported only by the commands that open the app, so headless commands start fast.
"""

from __future__ import annotations

import importlib
import os
import sys

# One BLAS thread, set before NumPy is first imported (nothing above imports it). The nets
# here are small: a second OpenBLAS thread saves nothing on a product of 1438 x 64 but
# spin-waits after each one, which cost the digits app 5x the CPU per step and per
# evaluation (benchmarks/tui_bench.py). Served sessions set the same; a user's own
# setting wins.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

from tui.commands.common import EXIT_USAGE, Parser, UserError, add_run_options, build_trainer, run_config

__all__ = ["EXIT_USAGE", "UserError", "add_run_options", "build_trainer", "entry", "main", "make_parser", "run_config"]

# Command modules, in the order `netstep --help` lists them.
COMMANDS = ("train", "gradcheck", "demo", "lessons", "serve", "presets", "share", "race", "export", "class")


def _module(name):
    return importlib.import_module(f"tui.commands.{name}_cmd")


def make_parser():
    p = Parser(prog="netstep", description="Learn and inspect neural-network training in the terminal.")
    sub = p.add_subparsers(dest="command", parser_class=Parser, metavar="COMMAND")
    add_run_options(p)  # `netstep [run flags]` opens the app on that run
    p.set_defaults(handler=_module("app").run)
    for name in COMMANDS:
        _module(name).add_parser(sub)
    return p


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    try:
        from tui.commands import app_cmd

        if app_cmd.quick_preset(argv) is not None:
            # A preset alone: nothing to check first, so the parser (whose help texts
            # import the engine) and the run wait until the dashboard's frame is on screen.
            return app_cmd.run_quick(argv)
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
