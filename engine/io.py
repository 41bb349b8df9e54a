"""Saving and loading a run: weights, config, history and counters in one .npz.

The file holds only plain arrays (no pickle): `theta` (every parameter, flat), the
history as float arrays, and `meta`, a JSON document stored as bytes (format version,
config, sizes, parameter names and shapes, step and epoch counts). A save writes a
temporary file beside the target and renames it into place, so a crash mid-save
leaves the old file (or none), never half a file.
"""

from __future__ import annotations

import json
import os
import tempfile
import zipfile

import numpy as np

from .config import RunConfig, build
from .errors import ConfigError, FileFormatError, NetstepError
from .trainer import History

FORMAT = "netstep-run"
VERSION = 1
_HISTORY = ("loss", "eval_step", "train_loss", "accuracy", "test_loss", "test_accuracy")


def atomic_write(path, write):
    """Call write(fileobj) on a temp file in path's folder, then rename it to path."""
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".netstep-", suffix=".tmp", dir=folder)
    try:
        # mkstemp makes the file owner-only; give it the mode an ordinary open() would.
        umask = os.umask(0)
        os.umask(umask)
        os.fchmod(fd, 0o666 & ~umask)
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def save(trainer, path):
    """Save the trainer's run (config, weights, history, counters) to `path` (.npz)."""
    path = os.fspath(path)
    if not path.endswith(".npz"):
        path += ".npz"
    if trainer.config is None:
        # load() rebuilds the run (data included) from its config; without one the file could not be read back.
        raise NetstepError("only a run built from a RunConfig (engine.build) can be saved: this trainer has no config")
    net = trainer.net
    config = trainer.config.to_dict() if trainer.config is not None else None
    shuffling = trainer.shuffling_state()
    meta = {
        "format": FORMAT, "version": VERSION, "config": config, "sizes": net.sizes,
        "hidden": net.hidden, "output": net.output, "init": net.init, "dtype": str(net.dtype),
        "params": {name: list(p.shape) for name, p in net.params.items()},
        "step": trainer.step_count, "epoch": trainer.epoch_count, "lr": trainer.base_lr,
        # What it takes to continue exactly where the run stopped: the optimizer's
        # update count and state (saved as opt_* arrays) and the shuffling generator.
        "optimizer": trainer.opt.name, "opt_t": trainer.opt.t, "opt_state": sorted(trainer.opt.state),
        "rng": shuffling["rng"], "pos": shuffling["pos"],
    }
    arrays = {"theta": net.theta, "meta": np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)}
    for key, value in trainer.opt.state.items():
        arrays["opt_" + key] = value
    for name in _HISTORY:
        arrays["history_" + name] = np.asarray(getattr(trainer.history, name), dtype=np.float64)
    if shuffling["pos"] and shuffling["perm"] is not None:
        arrays["perm"] = shuffling["perm"]  # mid-epoch: the rest of this epoch's order
    atomic_write(path, lambda f: np.savez(f, **arrays))
    return path


def load(path):
    """A Trainer rebuilt from a file written by save(). Raises FileFormatError on a bad file."""
    path = os.fspath(path)
    try:
        z = np.load(path, allow_pickle=False)
        if not isinstance(z, np.lib.npyio.NpzFile):
            raise FileFormatError(f"{path} is not a netstep run: it holds a single array, not a .npz archive")
        with z:
            files = set(z.files)
            missing = {"theta", "meta"} - files
            if missing:
                raise FileFormatError(f"{path} is not a netstep run: it has no {', '.join(sorted(missing))}")
            meta = json.loads(bytes(z["meta"]).decode("utf-8"))
            theta = z["theta"]
            if theta.dtype.kind != "f":
                raise FileFormatError(f"{path} is corrupt: its weights are {theta.dtype} values, not floats")
            history = {name: z["history_" + name].astype(np.float64).tolist()
                       for name in _HISTORY if "history_" + name in files}
            opt_state = {name[4:]: np.array(z[name], dtype=np.float64) for name in files if name.startswith("opt_")}
            perm = z["perm"] if "perm" in files else None
    except FileNotFoundError:
        raise FileFormatError(f"{path} not found") from None
    except FileFormatError:
        raise
    except (zipfile.BadZipFile, EOFError, OSError, ValueError, KeyError, UnicodeDecodeError) as e:
        reason = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise FileFormatError(f"{path} is corrupt or truncated ({reason}); expected a .npz saved by netstep") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise FileFormatError(f"{path} is not a netstep run file")
    if meta.get("version") != VERSION:
        raise FileFormatError(f"{path} has format version {meta.get('version')}; this netstep reads version {VERSION}")
    if "config" not in meta:
        raise FileFormatError(f"{path} is not a complete netstep run: it has no config")
    try:
        config = RunConfig.from_dict(meta["config"])
    except (ConfigError, TypeError) as e:
        raise FileFormatError(f"{path} holds an invalid config: {e}") from None
    try:
        trainer = build(config)
    except ConfigError as e:
        raise FileFormatError(f"{path}: cannot rebuild its run: {e}") from None
    net = trainer.net
    if list(net.sizes) != list(meta.get("sizes", [])) or theta.shape != net.theta.shape:
        raise FileFormatError(f"{path}: weights for sizes {meta.get('sizes')} ({theta.size} values) do not match "
                              f"the network {net.sizes} ({net.theta.size} values)")
    if not np.all(np.isfinite(theta)):
        raise FileFormatError(f"{path} holds non-finite weights; refusing to load them")
    try:
        step, epoch, lr = int(meta.get("step", 0)), int(meta.get("epoch", 0)), float(meta.get("lr", config.lr))
        eval_steps = [int(s) for s in history.get("eval_step", [])]
        if step < 0 or epoch < 0 or not 0 < lr <= 1e6:
            raise ValueError
    except (TypeError, ValueError, OverflowError):
        raise FileFormatError(f"{path} is corrupt: its step counters or learning rate are out of range") from None
    net.theta[...] = theta
    trainer.history = History.from_dict(history)
    trainer.history.eval_step[:] = eval_steps
    trainer.step_count, trainer.epoch_count, trainer.base_lr = step, epoch, lr
    _restore_progress(trainer, meta, opt_state, perm, path)
    trainer.checkpoint()
    return trainer


def _restore_progress(trainer, meta, opt_state, perm, path):
    """Optimizer state and shuffling, so a loaded run continues as the saved one would.

    Files without them (or with state that does not fit) still load: the optimizer then
    starts afresh, which is what a reset would do.
    """
    opt = trainer.opt
    if meta.get("optimizer") != opt.name:
        return
    shapes_ok = all(v.shape == trainer.net.theta.shape and np.all(np.isfinite(v)) for v in opt_state.values())
    if not shapes_ok or sorted(opt_state) != sorted(meta.get("opt_state", [])):
        raise FileFormatError(f"{path} is corrupt: its optimizer state does not match its weights")
    try:
        opt.t = int(meta.get("opt_t", 0))
        opt.state = {k: v.astype(trainer.net.dtype) for k, v in opt_state.items()}
        # Mid-epoch: go on with the saved epoch order; without one (or a bad one), start the next epoch.
        trainer.restore_shuffling({"rng": meta.get("rng"), "perm": perm, "pos": meta.get("pos", 0)})
    except (TypeError, ValueError, KeyError, OverflowError):
        raise FileFormatError(f"{path} is corrupt: its optimizer or shuffling state is invalid") from None
