"""The `netstep` command line.

Every command takes a run as --preset NAME, --config FILE and/or flags that override
it. User errors print one line on stderr and exit 2; Textual is imported only by
the commands that open the app, so headless commands start fast.
"""

from __future__ import annotations

import argparse
import json
import sys

EXIT_USAGE = 2


class UserError(Exception):
    """A problem the user can fix: printed as one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        # argparse prints usage plus a message; the contract wants one line and status 2.
        raise UserError(f"{self.prog}: {message} (see {self.prog} --help)")


def add_run_options(p):
    g = p.add_argument_group("run (a preset, a config file, and flags that override them)")
    g.add_argument("--preset", metavar="NAME", help="start from a named preset (default: 'default'; see `netstep presets`)")
    g.add_argument("--config", metavar="FILE", help="a TOML or JSON run config")
    g.add_argument("--dataset", help="xor, circles, moons, spiral, gaussians, digits or csv:PATH")
    g.add_argument("--sizes", metavar="N,N,...", help="layer widths, such as 2,4,1")
    g.add_argument("--hidden", help="hidden activation: relu, leaky_relu, tanh, sigmoid, linear (or a comma list)")
    g.add_argument("--output", help="output activation: sigmoid, softmax, linear, tanh")
    g.add_argument("--loss", help="mse, bce or cross_entropy")
    g.add_argument("--init", help="zeros, small, xavier or he")
    g.add_argument("--optimizer", help="sgd, momentum, adam or rmsprop")
    g.add_argument("--lr", help="learning rate")
    g.add_argument("--l2", help="L2 regularization strength (lambda)")
    g.add_argument("--clip", help="gradient clipping threshold (global norm), or 'none'")
    g.add_argument("--batch-size", dest="batch_size", help="minibatch size ('full' for full batch)")
    g.add_argument("--epochs", help="number of epochs")
    g.add_argument("--seed", help="random seed (weights, shuffling, data)")
    g.add_argument("--set", dest="overrides", action="append", default=[], metavar="FIELD=VALUE",
                   help="set any other run field, such as --set clip_mode=value or --set dataset_options.noise=0.3")


_FLAG_FIELDS = ("dataset", "sizes", "hidden", "output", "loss", "init", "optimizer", "lr", "l2", "clip",
                "batch_size", "epochs", "seed")


def _parse_value(text):
    """A --set value: JSON where it parses (numbers, lists, true/null), else the string."""
    low = text.strip().lower()
    if low in ("none", "null", "full"):
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text


def run_config(args):
    """The RunConfig the arguments describe. Raises UserError with one line on a bad value."""
    import engine

    try:
        name = args.preset or "default"
        if name not in engine.presets:
            raise UserError(f"unknown preset {name!r}; allowed: {', '.join(engine.presets)}")
        config = engine.presets[name]
        if args.config:
            config = engine.RunConfig.from_file(args.config, base=config)
        changes = {}
        for field in _FLAG_FIELDS:
            value = getattr(args, field, None)
            if value is None:
                continue
            if field in ("clip", "batch_size") and value.strip().lower() in ("none", "full", "off"):
                value = None
            changes[field] = value
        for item in args.overrides:
            if "=" not in item:
                raise UserError(f"--set takes FIELD=VALUE, got {item!r}")
            key, _, raw = item.partition("=")
            key = key.strip()
            if key.startswith("dataset_options."):
                opts = dict(changes.get("dataset_options", config.dataset_options))
                opts[key.split(".", 1)[1]] = _parse_value(raw)
                changes["dataset_options"] = opts
            else:
                changes[key] = _parse_value(raw)
        if "dataset" in changes and changes["dataset"] != config.dataset and "dataset_options" not in changes:
            changes["dataset_options"] = {}  # options belong to the preset's dataset, not the new one
        return config.replace(**changes) if changes else config
    except engine.ConfigError as e:
        raise UserError(f"invalid run: {e}") from None


def build_trainer(config):
    import engine

    try:
        return engine.build(config)
    except engine.NetstepError as e:
        raise UserError(f"invalid run: {e}") from None


def make_parser():
    p = _Parser(prog="netstep", description="Learn and inspect neural-network training in the terminal.")
    sub = p.add_subparsers(dest="command", parser_class=_Parser, metavar="COMMAND")

    add_run_options(p)

    t = sub.add_parser("train", help="train headless and print a summary (or --json)")
    add_run_options(t)
    t.add_argument("--json", action="store_true", help="print one JSON object on stdout at the end")
    t.add_argument("--save", metavar="FILE", help="save the trained run (.npz) to FILE")

    gc = sub.add_parser("gradcheck", help="check the run's gradients against centred differences")
    add_run_options(gc)
    gc.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    gc.add_argument("--steps", type=int, default=0, metavar="N", help="train N steps before checking (default 0)")
    gc.add_argument("--threshold", type=float, default=1e-7, help="largest relative error that passes (default 1e-7)")

    d = sub.add_parser("demo", help="run a pathology demo headless: broken run, fixed run, explanation")
    d.add_argument("name", help="dead-relu, exploding, vanishing, symmetry, saturation or gradcheck-bug")
    d.add_argument("--json", action="store_true", help="print one JSON object on stdout")

    ls = sub.add_parser("lessons", help="list the lessons with your progress")
    ls.add_argument("--json", action="store_true", help="print the lessons as JSON")
    ls.add_argument("--check", action="store_true", help="run every lesson headless to its end")

    le = sub.add_parser("lesson", help="open the app in a lesson")
    le.add_argument("id", nargs="?", help="lesson id (see `netstep lessons`); without one, the lesson list")

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

    sub.add_parser("presets", help="list the named presets")

    from tui.commands import class_cmd
    class_cmd.add_parser(sub, _Parser)
    return p


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    try:
        args = make_parser().parse_args(argv)
        command = args.command
        if command is None:
            from tui.commands import app_cmd
            return app_cmd.run(args)
        if command == "presets":
            import engine
            for name in engine.presets:
                print(f"{name:10s} {engine.presets[name].describe()}")
            return 0
        if command == "train":
            from tui.commands import train_cmd
            return train_cmd.run(args)
        if command == "gradcheck":
            from tui.commands import gradcheck_cmd
            return gradcheck_cmd.run(args)
        if command == "demo":
            from tui.commands import demo_cmd
            return demo_cmd.run(args)
        if command in ("lessons", "lesson"):
            from tui.commands import lessons_cmd
            return lessons_cmd.run(args)
        if command == "serve":
            from tui.commands import serve_cmd
            return serve_cmd.run(args)
        if command == "class":
            from tui.commands import class_cmd
            return class_cmd.run(args)
        raise UserError(f"unknown command {command!r}")
    except UserError as e:
        print(f"netstep: {e}" if not str(e).startswith("netstep") else str(e), file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("netstep: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


def entry():
    """Console-script entry point."""
    sys.exit(main())
