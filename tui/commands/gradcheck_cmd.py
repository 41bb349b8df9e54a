"""`netstep gradcheck`: the run's backward pass against centred differences."""

from __future__ import annotations

import json
import math

from tui.cli import UserError, build_trainer, run_config


def run(args) -> int:
    import engine

    trainer = build_trainer(run_config(args))
    if args.steps < 0:
        raise UserError(f"--steps must be >= 0, got {args.steps}")
    if not args.threshold > 0:
        raise UserError(f"--threshold must be a positive number, got {args.threshold}")
    import numpy as np

    with np.errstate(over="ignore", invalid="ignore"):  # the guard reports a diverging run
        for _ in range(args.steps):
            if not trainer.step().ok:
                break
    # Check on at most a few hundred examples: the check costs 4 forward passes per entry.
    X, Y = trainer.X[:256], trainer.Y[:256]
    report = engine.gradcheck(trainer.net, X, Y, trainer.loss, l2=trainer.l2, threshold=args.threshold)
    if args.json:
        # An error is inf where the loss or a gradient is not finite: JSON has no inf, so null.
        errors = {k: (v if math.isfinite(v) else None) for k, v in report.errors.items()}
        print(json.dumps({"errors": errors, "passed": report.passed}))
        return 0 if report.passed else 1
    print(f"gradient check of {trainer.config.describe()} on {len(X)} examples")
    print(f"{'param':6s} {'shape':>10s} {'checked':>9s} {'max rel error':>14s} {'kinks':>6s}  result")
    for name, err in report.errors.items():
        checked, total = report.sampled[name]
        shape = "x".join(map(str, trainer.net.params[name].shape))
        k = len(report.kinks[name])
        ok = "pass" if err < report.threshold else "FAIL"
        print(f"{name:6s} {shape:>10s} {checked:>4d}/{total:<4d} {err:14.3e} {k:6d}  {ok}")
    n_kinks = sum(len(v) for v in report.kinks.values())
    if n_kinks:
        print(f"{n_kinks} probe(s) crossed a ReLU kink (Z = 0), where the slope jumps: reported, not counted.")
    if not all(math.isfinite(e) for e in report.errors.values()):
        print("The loss or a gradient is not finite at these weights (inf/NaN), so nothing could be compared.")
    print(f"{'PASSED' if report.passed else 'FAILED'}: every error must be below {report.threshold:g}")
    return 0 if report.passed else 1
