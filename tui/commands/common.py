"""What every command shares: the run flags, turning them into a RunConfig, user errors, JSON out.

Command modules import this (never tui.cli), so the imports run one way:
tui.cli -> tui.commands.* -> tui.commands.common -> engine. No Textual here.
"""

from __future__ import annotations

import argparse
import json
import sys

EXIT_USAGE = 2


class UserError(Exception):
    """A problem the user can fix: printed as one line, exit status 2."""


class Parser(argparse.ArgumentParser):
    def error(self, message):
        # argparse prints usage plus a message; the contract wants one line and status 2.
        raise UserError(f"{self.prog}: {message} (see {self.prog} --help)")


FLAG_FIELDS = ("dataset", "sizes", "hidden", "output", "loss", "init", "optimizer", "lr", "l2", "clip",
               "batch_size", "epochs", "seed", "features", "l1", "dropout", "task")


def add_run_options(p):
    """The run flags, with the allowed values taken from the engine's own name tuples."""
    from engine import activations, datasets, features, init, limits, losses, optim

    g = p.add_argument_group("run (a preset, a config file, and flags that override them)")
    g.add_argument("--preset", metavar="NAME", help="start from a named preset (default: 'default'; see `netstep presets`)")
    g.add_argument("--config", metavar="FILE", help="a TOML or JSON run config")
    g.add_argument("--state", metavar="STRING", help="a run string from `netstep share` (flags still override it)")
    g.add_argument("--dataset", help=f"{', '.join(datasets.NAMES)} or csv:PATH")
    g.add_argument("--sizes", metavar="N,N,...",
                   help="layer widths, such as 2,4,1; the first and last must be the data's width")
    g.add_argument("--hidden", help=f"hidden activation: {', '.join(activations.HIDDEN)} (or a comma list, one per layer)")
    g.add_argument("--output", help=f"output activation: {', '.join(activations.OUTPUT)}")
    g.add_argument("--loss", help=", ".join(losses.LOSSES))
    g.add_argument("--init", help=", ".join(init.INITS))
    g.add_argument("--optimizer", help=", ".join(optim.OPTIMIZERS))
    g.add_argument("--lr", help="learning rate")
    g.add_argument("--l2", help="L2 regularization strength (lambda)")
    g.add_argument("--clip", help="gradient clipping threshold (global norm), or 'none'")
    g.add_argument("--batch-size", dest="batch_size", help="minibatch size ('full' for full batch)")
    g.add_argument("--epochs", help=f"number of epochs (0 to {limits.MAX_EPOCHS:,})")
    g.add_argument("--seed", help="random seed (weights, shuffling, data, dropout masks)")
    g.add_argument("--features", metavar="F,F,...",
                   help=f"the network's inputs, computed from 2-D data: a comma list from {', '.join(features.NAMES)} "
                        f"(default x1,x2); --sizes then starts with their number (filled in when --sizes is not given)")
    g.add_argument("--l1", help="L1 regularization strength (lambda1): adds (lambda1/m) sum |W|")
    g.add_argument("--dropout", help="probability of dropping each hidden unit in training, in [0, 1)")
    g.add_argument("--task", help="classification or regression (plane and bumps are regression; a csv: file's "
                                  "last column is then a real-valued target)")
    g.add_argument("--set", dest="overrides", action="append", default=[], metavar="FIELD=VALUE",
                   help="set any other run field, such as --set clip_mode=value or --set dataset_options.noise=0.3")


def parse_value(text, key="--set"):
    """A --set value: JSON where it parses (numbers, lists, true/null), else the string."""
    from engine import limits

    low = text.strip().lower()
    if low in ("none", "null", "full"):
        return None
    if limits.bracket_depth(text) > limits.MAX_NESTING:
        raise UserError(f"--set {key}: the value nests more than {limits.MAX_NESTING} levels deep; "
                        f"a run field is a number, a word or a short list")
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        return text


def run_config(args):
    """The RunConfig the arguments describe. Raises UserError with one line on a bad value."""
    import engine

    try:
        name = args.preset or "default"
        if name not in engine.presets:
            raise UserError(f"unknown preset {name!r}; allowed: {', '.join(engine.presets)}")
        config = engine.presets[name]
        if getattr(args, "state", None) is not None:
            config = state_config(args)
        elif args.config:
            config = engine.RunConfig.from_file(args.config, base=config)
        changes = {}
        for field in FLAG_FIELDS:
            value = getattr(args, field, None)
            if value is None:
                continue
            if field in ("clip", "batch_size") and value.strip().lower() in ("none", "full", "off"):
                value = None
            changes[field] = value
        for item in args.overrides:
            if "=" not in item:
                raise UserError(f"--set takes FIELD=VALUE, got {item[:60]!r}")
            key, _, raw = item.partition("=")
            key = key.strip()
            if key.startswith("dataset_options."):
                opts = dict(changes.get("dataset_options", config.dataset_options))
                opts[key.split(".", 1)[1]] = parse_value(raw, key)
                changes["dataset_options"] = opts
            else:
                changes[key] = parse_value(raw, key)
        if "dataset" in changes and changes["dataset"] != config.dataset and "dataset_options" not in changes:
            changes["dataset_options"] = {}  # options belong to the preset's dataset, not the new one
        return config.replace(**changes) if changes else config
    except engine.NetstepError as e:
        raise UserError(f"invalid run: {e}") from None


def build_trainer(config):
    import engine

    try:
        return engine.build(config)
    except engine.NetstepError as e:
        raise UserError(f"invalid run: {e}") from None


def print_json(doc, **kwargs) -> None:
    """One JSON document on stdout, NaN and inf as null (engine.jsonsafe)."""
    from engine.jsonsafe import dumps

    sys.stdout.write(dumps(doc, **kwargs) + "\n")


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
