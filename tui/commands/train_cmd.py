"""`netstep train`: train headless; a progress bar on a terminal; --json summary."""

from __future__ import annotations

import contextlib
import signal
import sys
import time

from tui.commands.common import UserError, add_run_options, build_trainer, print_json, run_config


def add_parser(sub):
    t = sub.add_parser("train", help="train headless and print a summary (or --json)")
    add_run_options(t)
    t.add_argument("--json", action="store_true", help="print one JSON object on stdout at the end")
    t.add_argument("--save", metavar="FILE", help="save the trained run (.npz) to FILE")
    t.set_defaults(handler=run)


def _score(metrics) -> str:
    if "r2" in metrics:
        return f"R² {metrics['r2']:.4f}"
    return f"acc {metrics['accuracy'] * 100:5.1f}%"


def _bar(done, total, metrics, width=30):
    frac = done / total if total else 1.0
    filled = int(round(width * frac))
    return (f"\r[{'#' * filled}{'.' * (width - filled)}] epoch {done}/{total}  "
            f"loss {metrics['loss']:.4g}  {_score(metrics)}")


def summary(trainer, metrics, seconds) -> dict:
    import engine.diagnostics

    out = {
        "loss": metrics["loss"],
        "accuracy": metrics.get("accuracy"),  # null for a regression run, which reports r2
        "epochs": trainer.epoch_count,
        "steps": trainer.step_count,
        "seconds": round(seconds, 4),
        "config": trainer.config.to_dict(),
        "diagnostics": engine.diagnostics.compute(trainer),
    }
    if "r2" in metrics:
        out["r2"] = metrics["r2"]
    if "test_accuracy" in metrics:
        out["test_loss"] = metrics["test_loss"]
        out["test_accuracy"] = metrics["test_accuracy"]
    if "test_r2" in metrics:
        out["test_loss"] = metrics["test_loss"]
        out["test_r2"] = metrics["test_r2"]
    if trainer.halted is not None:
        out["stopped"] = trainer.halted.to_dict()
    return out


def run(args) -> int:
    import numpy as np

    # A run that diverges overflows on its way to the trainer's guard, which stops it and
    # says where (the "stopped" line); NumPy's own overflow warnings would only add noise.
    with np.errstate(over="ignore", invalid="ignore"):
        return _run(args)


def _run(args) -> int:
    config = run_config(args)
    trainer = build_trainer(config)
    epochs = config.epochs
    show_bar = not args.json and sys.stderr.isatty()
    t0 = time.perf_counter()
    last_draw = 0.0
    metrics = trainer.evaluate()
    interrupted = []
    with _first_ctrl_c_stops(interrupted):
        for e in range(epochs):
            metrics = trainer.epoch()
            if trainer.halted is not None or interrupted:
                break
            if show_bar:
                now = time.perf_counter()
                if now - last_draw > 0.1 or e == epochs - 1:
                    print(_bar(e + 1, epochs, metrics), end="", file=sys.stderr, flush=True)
                    last_draw = now
    seconds = time.perf_counter() - t0
    if show_bar:
        print(file=sys.stderr)
    result = summary(trainer, metrics, seconds)
    if interrupted:
        result["interrupted"] = True
    if args.save:
        import engine

        try:
            result["saved"] = engine.io.save(trainer, args.save)
        except OSError as e:
            raise UserError(f"cannot save to {args.save}: {e.strerror or e}") from None
        except engine.NetstepError as e:
            raise UserError(f"not saved: {e}") from None
    if args.json:
        print_json(result)
        return EXIT_INTERRUPTED if interrupted else 0
    print(f"run       {trainer.config.describe()}")
    print(f"trained   {trainer.epoch_count} epochs, {trainer.step_count} steps in {seconds:.2f} s")
    print(f"loss      {metrics['loss']:.6g}")
    if "r2" in metrics:
        print(f"R²        {metrics['r2']:.4f} (training set; 1 is a perfect fit, 0 the mean's)")
        if "test_r2" in metrics:
            print(f"test      R² {metrics['test_r2']:.4f}, loss {metrics['test_loss']:.6g}")
    else:
        print(f"accuracy  {metrics['accuracy'] * 100:.1f}% (training set)")
    if "test_accuracy" in metrics:
        print(f"test      {metrics['test_accuracy'] * 100:.1f}% accuracy, loss {metrics['test_loss']:.6g}")
    if trainer.halted is not None:
        print(f"stopped   {trainer.halted.message}")
    if interrupted:
        print(f"stopped   by Ctrl-C after {trainer.epoch_count} of {epochs} epochs")
    # The same warnings --json carries under diagnostics.warnings, one per line.
    for w in result["diagnostics"].get("warnings", []):
        label = "warning" if w.get("severity") == "warning" else w.get("severity", "note")
        print(f"{label:9s} {w.get('message', '')}")
    if args.save:
        print(f"saved     {result['saved']}")
    return EXIT_INTERRUPTED if interrupted else 0


EXIT_INTERRUPTED = 130


@contextlib.contextmanager
def _first_ctrl_c_stops(flag: list):
    """The first Ctrl-C ends the run after the current epoch (the summary follows); a second one
    interrupts at once. Epochs are bounded (engine.limits.MAX_EPOCHS), so this is how a long run ends."""
    def handler(signum, frame):
        if flag:
            raise KeyboardInterrupt
        flag.append(True)

    try:
        old = signal.signal(signal.SIGINT, handler)
    except ValueError:  # not the main thread: keep the default behaviour
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, old)
