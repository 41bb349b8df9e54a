"""`netstep share [run flags] [--steps N]`: the run as one URL-safe line; `--state` reads it back."""

from __future__ import annotations

from tui.commands.common import UserError, build_trainer, run_config


def add_parser(sub):
    from tui.commands.common import add_run_options

    p = sub.add_parser("share", help="print the run as one short string that --state reproduces")
    add_run_options(p)
    p.add_argument("--steps", type=int, metavar="N", help="record that the run stood at step N")
    p.set_defaults(handler=run)
    return p


def run(args) -> int:
    from engine import share

    if args.steps is not None and args.steps < 0:
        raise UserError(f"--steps must be an integer >= 0, got {args.steps}")
    config = run_config(args)
    build_trainer(config)  # a run that cannot be built is refused now, not when the string is opened
    steps = args.steps if args.steps is not None else getattr(args, "state_steps", None)
    print(share.encode(config, steps))
    return 0


def advance(trainer, args):
    """Step a freshly built trainer to the step count its --state string recorded (the app opens there)."""
    steps = getattr(args, "state_steps", None)
    if not steps:
        return trainer
    import numpy as np

    with np.errstate(over="ignore", invalid="ignore"):  # the guard reports a diverging run
        while trainer.step_count < steps and trainer.step().ok:
            pass
    return trainer
