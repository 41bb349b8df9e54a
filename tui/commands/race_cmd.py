"""`netstep race --vary FIELD=V1,V2[,V3,V4] [run flags] [--json]`: variants of a run side by side."""

from __future__ import annotations

import json
import math

from tui.commands.common import UserError, build_trainer, run_config


def add_parser(sub):
    from tui.commands.common import add_run_options

    p = sub.add_parser("race", help="train 2-4 variants of the run that differ in one field; compare them")
    add_run_options(p)
    p.add_argument("--vary", required=True, metavar="FIELD=V1,V2[,V3,V4]",
                   help="the field to vary and its values, such as optimizer=sgd,adam, lr=0.1,1 or dataset_options.noise=0.1,0.3 "
                        "(separate with ';' when a value holds commas: sizes=2,4,1;2,8,1)")
    p.add_argument("--target", metavar="ACC", help="training accuracy (r2 for a regression run) that counts as reached "
                        "(default 1.0), checked on every training row at each epoch's end (each step in full batch)")
    p.add_argument("--target-loss", dest="target_loss", metavar="LOSS",
                   help="count the target as reached when the training loss is at most LOSS instead")
    p.add_argument("--json", action="store_true", help="print a JSON list, one object per variant")
    p.set_defaults(handler=run)
    return p


def _number(flag, text, low, high):
    try:
        x = float(text)
    except (TypeError, ValueError):
        x = math.nan
    if not (math.isfinite(x) and low <= x <= high):
        raise UserError(f"{flag} must be a number from {low:g} to {high:g}, got {text!r}")
    return x


def _clean(x):
    if isinstance(x, float) and not math.isfinite(x):
        return None
    if isinstance(x, dict):
        return {k: _clean(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_clean(v) for v in x]
    return x


def _show(value):
    if isinstance(value, list):
        return ",".join(map(str, value))
    return "none" if value is None else f"{value:g}" if isinstance(value, float) else str(value)


def run(args) -> int:
    import engine
    from engine import race

    target = 1.0 if args.target is None else _number("--target", args.target, 0.0, 1.0)
    target_loss = None if args.target_loss is None else _number("--target-loss", args.target_loss, 0.0, math.inf)
    config = run_config(args)
    try:
        field, values = race.parse_vary(args.vary)
        variants = race.variants(config, field, values)
    except engine.ConfigError as e:
        raise UserError(f"--vary: {str(e).removeprefix('vary: ')}") from None
    trainers = [build_trainer(v.config) for v in variants]  # every variant must build before any trains
    rows = [race.train(v, target, target_loss, trainer=t) for v, t in zip(variants, trainers)]
    if args.json:
        print(json.dumps(_clean(rows)))
        return 0
    score = "r2" if config.task == "regression" else "accuracy"
    goal = f"loss <= {target_loss:g}" if target_loss is not None else f"{score} >= {target:g}"
    print(f"race on {config.describe()}: {field} varies; target {goal} on the training set")
    print(f"{field:>14s} {'loss':>12s} {score:>9s} {'steps':>7s} {'to target':>10s}")
    for row in rows:
        if "r2" in row:
            acc = f"{row['r2']:.4f}"
        else:
            acc = "-" if row["accuracy"] is None else f"{row['accuracy'] * 100:.1f}%"
        hit = "-" if row["steps_to_target"] is None else str(row["steps_to_target"])
        note = "  stopped: non-finite" if "stopped" in row else ""
        print(f"{_show(row['value']):>14s} {row['loss']:12.6g} {acc:>9s} {row['steps']:7d} {hit:>10s}{note}")
    return 0
