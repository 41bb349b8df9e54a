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
import zipfile

import numpy as np

from . import limits
from .config import RunConfig, build
from .errors import ConfigError, FileFormatError, NetstepError
from .history import History
from .safefile import UnsafeFileError, open_user_file, write_user_file

FORMAT = "netstep-run"
VERSION = 1


def atomic_write(path, write, code=False):
    """Call write(fileobj) on a temp file in path's folder, then rename it to path.

    Through engine.safefile: names ending in .py or naming progress.sqlite3, and (when
    served) paths outside the user's folder, are refused with UnsafeFileError.
    """
    return write_user_file(path, write, "file", code)


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
    for name, values in trainer.history.to_dict().items():  # plain float arrays (engine.history)
        arrays["history_" + name] = np.asarray(values, dtype=np.float64)
    if shuffling["pos"] and shuffling["perm"] is not None:
        arrays["perm"] = shuffling["perm"]  # mid-epoch: the rest of this epoch's order
    write_user_file(path, lambda f: np.savez(f, **arrays), "saved run")
    return path


def load(path):
    """A Trainer rebuilt from a file written by save(). Raises FileFormatError on a bad file.

    Nothing in the file is trusted before it is checked: its size and kind (no FIFO,
    device or folder), that it is a zip archive of the members save() writes, each
    member's unpacked size and its .npy header (dtype, shape) against what the member
    holds, the metadata's size and nesting, and the weights' shape against the config's
    network before that network is built.
    """
    path = os.fspath(path)
    try:
        with open_user_file(path, limits.MAX_NPZ_BYTES, "saved run") as f:
            arrays = _read_npz(f, path)
    except FileFormatError:
        raise
    except UnsafeFileError as e:
        raise FileFormatError(str(e)) from None
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError, ValueError, KeyError, NotImplementedError) as e:
        reason = str(e).splitlines()[0][:120] if str(e) else type(e).__name__
        raise FileFormatError(f"{path} is corrupt or truncated ({reason}); expected a .npz saved by netstep") from None
    meta = _meta(arrays.pop("meta"), path)
    theta = arrays.pop("theta")
    if theta.dtype.kind != "f" or theta.ndim != 1:
        raise FileFormatError(f"{path} is corrupt: its weights are a {theta.dtype} array of shape {theta.shape}, "
                              f"not a flat float vector")
    history, opt_state, perm = {}, {}, arrays.get("perm")
    for name, value in arrays.items():
        if name.startswith("history_"):
            if value.ndim != 1 or value.dtype.kind not in "fiu":
                raise FileFormatError(f"{path} is corrupt: its {name} is not a list of numbers")
            history[name[8:]] = value.astype(np.float64).tolist()
        elif name.startswith("opt_"):
            if value.dtype.kind not in "fiu":
                raise FileFormatError(f"{path} is corrupt: its optimizer state {name[4:]} is not numbers")
            opt_state[name[4:]] = np.array(value, dtype=np.float64)
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
    # The weights must fit the config's network before that network (and its data) is built.
    n_params = sum((a + 1) * b for a, b in zip(config.sizes, config.sizes[1:]))
    if list(config.sizes) != meta.get("sizes") or theta.shape != (n_params,):
        raise FileFormatError(f"{path}: weights for sizes {str(meta.get('sizes'))[:60]} ({theta.size} values) do not "
                              f"match the network {config.sizes} ({n_params} values)")
    try:
        trainer = build(config)
    except ConfigError as e:
        raise FileFormatError(f"{path}: cannot rebuild its run: {e}") from None
    net = trainer.net
    if list(net.sizes) != list(config.sizes) or theta.shape != net.theta.shape:
        raise FileFormatError(f"{path}: weights for sizes {config.sizes} ({theta.size} values) do not match "
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
    try:
        loaded = History.from_dict(history)
    except (TypeError, ValueError, OverflowError):
        raise FileFormatError(f"{path} is corrupt: its history is inconsistent") from None
    net.theta[...] = theta
    trainer.history = loaded
    trainer.step_count, trainer.epoch_count, trainer.base_lr = step, epoch, lr
    _restore_progress(trainer, meta, opt_state, perm, path)
    trainer.checkpoint()
    return trainer


_MEMBERS = ("theta", "meta", "perm")
_MAX_MEMBERS = 64
_ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")


def _what_it_is(head: bytes) -> str:
    """A few words on what a file that is not a .npz archive looks like."""
    if head.startswith(b"\x93NUMPY"):
        return "a single NumPy array (.npy), not a .npz archive"
    if head[:1] == b"\x80":
        return "pickled Python data, which netstep never loads"
    if not head:
        return "empty"
    if all(32 <= c < 127 or c in (9, 10, 13) for c in head):
        return "a text file, not a .npz archive"
    return "binary data but not a .npz archive (not a zip file)"


def _read_npz(f, path) -> dict:
    """The archive's arrays, each checked before it is read; FileFormatError names the first problem."""
    head = f.read(8)
    if not head.startswith(_ZIP_MAGIC):
        raise FileFormatError(f"{path} is not a netstep run: it is {_what_it_is(head)}; expected a .npz file saved by netstep "
                              f"(netstep train --save, or ctrl+s in the app)")
    f.seek(0)
    with zipfile.ZipFile(f) as z:
        infos = z.infolist()
        if len(infos) > _MAX_MEMBERS:
            raise FileFormatError(f"{path} holds {len(infos)} members; a netstep run has at most {_MAX_MEMBERS}")
        names = {}
        for info in infos:
            name = info.filename.removesuffix(".npy")
            if not (name in _MEMBERS or name.startswith(("opt_", "history_"))) or name in names \
                    or not info.filename.endswith(".npy"):
                raise FileFormatError(f"{path} is not a netstep run: it holds an unexpected member "
                                      f"{info.filename[:60]!r}; expected theta, meta, opt_*, history_* and perm")
            names[name] = info
        missing = {"theta", "meta"} - set(names)
        if missing:
            raise FileFormatError(f"{path} is not a netstep run: it has no {', '.join(sorted(missing))}")
        unpacked = sum(i.file_size for i in infos)
        if unpacked > limits.MAX_NPZ_UNPACKED:
            raise FileFormatError(f"{path} would unpack to {limits.human(unpacked)}; a saved run is read only up to "
                                  f"{limits.human(limits.MAX_NPZ_UNPACKED)}")
        return {name: _read_member(z, info, name, path) for name, info in names.items()}


def _read_member(z, info, name, path):
    with z.open(info) as m:
        version = np.lib.format.read_magic(m)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(m)
        elif version == (2, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(m)
        else:
            raise FileFormatError(f"{path}: member {name} has an unknown .npy version {version}")
        if name == "theta" and dtype.kind != "f":
            raise FileFormatError(f"{path} is corrupt: its weights are {dtype} values, not floats")
        if dtype.hasobject or dtype.kind not in "fiub" or len(shape) > 2:
            raise FileFormatError(f"{path} is corrupt: member {name} is a {dtype} array of {len(shape)} dimensions; "
                                  f"a netstep run holds only plain number arrays (never pickled objects)")
        if any(int(n) < 0 for n in shape):
            raise FileFormatError(f"{path} is corrupt: member {name} claims a negative shape {shape}")
        count = 1
        for n in shape:
            count *= int(n)
        if count * dtype.itemsize > info.file_size:
            raise FileFormatError(f"{path} is corrupt: member {name} claims shape {shape} ({count:,} values) but "
                                  f"holds {info.file_size:,} bytes")
        if name == "meta" and count > limits.MAX_META_BYTES:
            raise FileFormatError(f"{path}: its metadata is {count:,} bytes; at most {limits.MAX_META_BYTES:,}")
        data = m.read(count * dtype.itemsize)
        if len(data) != count * dtype.itemsize:
            raise FileFormatError(f"{path} is truncated: member {name} ends early")
        order = "F" if fortran else "C"
        return np.frombuffer(data, dtype=dtype).reshape(shape, order=order).copy()


def _meta(raw, path) -> dict:
    """The JSON metadata: bytes -> dict, with its size and nesting bounded before it is parsed."""
    if raw.dtype != np.uint8 or raw.ndim != 1:
        raise FileFormatError(f"{path} is corrupt: its metadata is a {raw.dtype} array, not JSON bytes")
    try:
        text = bytes(raw).decode("utf-8")
    except UnicodeDecodeError:
        raise FileFormatError(f"{path} is corrupt: its metadata is not UTF-8 JSON") from None
    if limits.bracket_depth(text) > limits.MAX_NESTING:
        raise FileFormatError(f"{path} is corrupt: its metadata nests more than {limits.MAX_NESTING} levels deep")
    try:
        meta = json.loads(text)
    except (ValueError, RecursionError) as e:
        raise FileFormatError(f"{path} is corrupt: its metadata is not valid JSON ({str(e)[:80]})") from None
    if not isinstance(meta, dict):
        raise FileFormatError(f"{path} is not a netstep run: its metadata is a JSON {type(meta).__name__}, "
                              f"not an object")
    return meta


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
