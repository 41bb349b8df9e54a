"""`netstep gradcheck`: the run's backward pass against centred differences."""

from __future__ import annotations

import math

from tui.commands.common import UserError, add_run_options, build_trainer, print_json, run_config


def add_parser(sub):
    from engine.gradcheck import THRESHOLD

    gc = sub.add_parser("gradcheck", help="check the run's gradients against centred differences")
    add_run_options(gc)
    gc.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    gc.add_argument("--steps", type=int, default=0, metavar="N", help="train N steps before checking (default 0)")
    gc.add_argument("--threshold", type=float, default=THRESHOLD,
                    help=f"largest relative error that passes (default {THRESHOLD:g}; the course says 1e-5, "
                         f"see the output for why ours is stricter)")
    gc.set_defaults(handler=run)


def run(args) -> int:
    import engine
    from engine.gradcheck import COURSE_THRESHOLD, THRESHOLD, THRESHOLD_NOTE, check_trainer

    trainer = build_trainer(run_config(args))
    if args.steps < 0:
        raise UserError(f"--steps must be >= 0, got {args.steps}")
    if not (args.threshold > 0 and math.isfinite(args.threshold)):
        raise UserError(f"--threshold must be a positive number, got {args.threshold}")
    import numpy as np

    with np.errstate(over="ignore", invalid="ignore"):  # the guard reports a diverging run
        for _ in range(args.steps):
            if not trainer.step().ok:
                break
    # Check on at most a few hundred examples: the check costs 4 forward passes per entry.
    X, Y = trainer.X[:256], trainer.Y[:256]
    # With dropout the masks are fixed for the whole check (engine.gradcheck.check_trainer).
    report = check_trainer(trainer, X, Y, threshold=args.threshold)
    if args.json:
        doc_extra = {"l1": trainer.l1, "dropout": trainer.dropout, "masks_fixed": bool(trainer.dropout)}
        # errors: null where nothing was compared (every entry on a kink) and where the loss
        # or a gradient is not finite (inf): JSON has no inf.
        doc = report.to_dict()
        doc["examples"] = len(X)
        doc.update(doc_extra)
        print_json(doc)
        return 0 if report.passed else 1
    print(f"gradient check of {trainer.config.describe()} on {len(X)} examples")
    if trainer.dropout:
        print(f"dropout {trainer.dropout:g}: one set of masks (from the run's seed) is fixed for every pass of the "
              f"check, so both sides differentiate the same function")
    print(f"{'param':6s} {'shape':>10s} {'probed':>9s} {'max rel error':>14s} {'kinks':>6s}  result")
    for name, err in report.errors.items():
        probed, total = report.sampled[name]
        shape = "x".join(map(str, trainer.net.params[name].shape))
        k = len(report.kinks[name])
        if err is None:
            text, verdict = "not checked", "skipped: every entry on a kink"
        else:
            text, verdict = f"{err:14.3e}", "pass" if err < report.threshold else "FAIL"
        print(f"{name:6s} {shape:>10s} {probed:>4d}/{total:<4d} {text:>14s} {k:6d}  {verdict}")
    n_kinks = sum(len(v) for v in report.kinks.values())
    if n_kinks:
        print(f"{n_kinks} probe(s) crossed a ReLU kink (Z = 0), where the slope jumps: reported, not compared.")
    if report.unchecked:
        print(f"not checked: {', '.join(report.unchecked)} (no entry away from a kink); "
              f"PASSED/FAILED below covers the other parameters only.")
    if any(e is not None and not math.isfinite(e) for e in report.errors.values()):
        print("The loss or a gradient is not finite at these weights (inf/NaN), so nothing could be compared.")
    print(f"{'PASSED' if report.passed else 'FAILED'}: every compared error must be below {report.threshold:g}")
    if report.threshold == THRESHOLD:
        print(f"({THRESHOLD_NOTE})")
    elif report.threshold != COURSE_THRESHOLD:
        print(f"(the course's threshold is {COURSE_THRESHOLD:g})")
    return 0 if report.passed else 1
