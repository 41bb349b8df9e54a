"""`netstep share [run flags] [--steps N]`: the run as one URL-safe line; `--state` reads it back."""

from __future__ import annotations

from tui.cli import UserError, build_trainer, run_config


def add_parser(sub, add_run_options):
    p = sub.add_parser("share", help="print the run as one short string that --state reproduces")
    add_run_options(p)
    p.add_argument("--steps", type=int, metavar="N", help="record that the run stood at step N")
    return p


def state_config(args):
    """The RunConfig a --state string holds (the base that the run flags then override).

    Also sets args.state_steps (the string's step count, or None). A string names a
    whole run, so combining it with --preset or --config is refused rather than guessed.
    """
    import engine
    from engine import share

    if args.preset or args.config:
        which = "--preset" if args.preset else "--config"
        raise UserError(f"--state already names a whole run; drop {which} (flags such as --lr still override it)")
    try:
        config, steps = share.decode(args.state)
    except engine.ConfigError as e:
        raise UserError(f"invalid --state: {str(e).removeprefix('state: ')}") from None
    args.state_steps = steps
    return config


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
