"""`netstep export-code [run flags | --state STRING | --run FILE.npz] -o FILE [--force]`:
the run as one standalone NumPy script in the course's notation."""

from __future__ import annotations

import os

from tui.commands.common import UserError, build_trainer, run_config


def add_parser(sub):
    from tui.commands.common import add_run_options

    p = sub.add_parser("export-code", help="write the run as a standalone NumPy script (W1, b1, Z1, A1, dZ2 ...)")
    add_run_options(p)
    p.add_argument("--run", metavar="FILE.npz", help="a saved run: the script starts from its weights and state")
    # -o only: --output is the run flag for the output activation.
    p.add_argument("-o", dest="out_file", metavar="FILE", required=True, help="the script to write, such as net.py")
    p.add_argument("--force", action="store_true", help="overwrite FILE (and its data file) if they exist")
    p.set_defaults(handler=run)
    return p


def _run_flags_given(args):
    """The run flags given beside --run: every option of this command that is not its own and is set."""
    own = {"command", "handler", "run", "out_file", "force"}
    return [f"--{k.replace('_', '-')}" if k != "overrides" else "--set"
            for k, v in vars(args).items() if k not in own and v not in (None, [], False)]


def run(args) -> int:
    import engine
    from engine import export

    if args.run:
        given = _run_flags_given(args)
        if given:
            raise UserError(f"--run takes the whole run from its file; drop {', '.join(given)}")
        try:
            trainer = engine.io.load(args.run)
        except engine.NetstepError as e:
            raise UserError(f"cannot export {args.run}: {e}") from None
    else:
        trainer = build_trainer(run_config(args))
    path = args.out_file
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise UserError(f"-o {path}: folder {folder} does not exist")
    if os.path.isdir(path):
        raise UserError(f"-o {path} is a folder; give a file name such as net.py")
    try:
        written = export.write(trainer, path, force=args.force)
    except export.ExportError as e:
        raise UserError(str(e)) from None
    except OSError as e:
        raise UserError(f"cannot write {path}: {e.strerror or e}") from None
    for name in written:
        print(f"wrote {name}")
    print(f"run it with: python {written[0]}")
    return 0
