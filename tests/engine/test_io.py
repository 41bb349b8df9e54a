"""engine.io: save and load a run; bad files give FileFormatError; saves are atomic."""

import json
import os
import zipfile

import numpy as np
import pytest

import engine
from engine import FileFormatError, io


@pytest.fixture
def trained():
    trainer = engine.build(engine.presets["moons"].replace(batch_size=32, epochs=3, l2=0.01))
    trainer.fit(3)
    return trainer


@pytest.fixture
def saved(trained, tmp_path):
    return io.save(trained, tmp_path / "run.npz")


def test_round_trip(trained, saved):
    loaded = io.load(saved)
    assert np.array_equal(loaded.net.theta, trained.net.theta)
    for name in trained.net.params:
        assert np.array_equal(loaded.net.params[name], trained.net.params[name])
    assert loaded.config == trained.config
    assert (loaded.step_count, loaded.epoch_count) == (trained.step_count, trained.epoch_count) == (15, 3)
    np.testing.assert_equal(loaded.history.to_dict(), trained.history.to_dict())  # NaN (no r2 here) equals NaN
    assert all(isinstance(s, int) for s in loaded.history.eval_step)
    assert loaded.lr == trained.lr
    assert loaded.evaluate(record=False) == trained.evaluate(record=False)
    # The loaded run trains on.
    assert loaded.step().ok and loaded.step_count == 16


def test_round_trip_keeps_lr_changes_float32_and_list_hidden(tmp_path):
    config = engine.RunConfig(dataset="gaussians", dataset_options={"n_classes": 3}, sizes=[2, 4, 4, 3],
                              hidden=["relu", "tanh"], output="softmax", loss="cross_entropy", dtype="float32")
    trainer = engine.build(config)
    trainer.fit(2)
    trainer.lr = 0.125
    loaded = io.load(io.save(trainer, tmp_path / "f32"))
    assert loaded.net.theta.dtype == np.float32
    assert np.array_equal(loaded.net.theta, trainer.net.theta)
    assert loaded.net.hidden == ["relu", "tanh"] and loaded.lr == 0.125


def test_save_adds_the_extension_and_writes_plain_arrays(trained, tmp_path):
    path = io.save(trained, tmp_path / "plain")
    assert path.endswith("plain.npz") and os.path.exists(path)
    with np.load(path, allow_pickle=False) as z:  # no pickle needed to read it
        meta = json.loads(bytes(z["meta"]).decode())
        assert meta["format"] == "netstep-run" and meta["sizes"] == trained.net.sizes
        assert meta["params"]["W1"] == list(trained.net.params["W1"].shape)


def test_save_needs_a_config(tmp_path):
    net = engine.MLP([2, 2, 1], seed=0)
    trainer = engine.Trainer(net, "bce", engine.optim.SGD(0.1), [[0, 0], [1, 1]], [[0], [1]])
    with pytest.raises(engine.NetstepError, match="RunConfig"):
        io.save(trainer, tmp_path / "manual.npz")
    assert os.listdir(tmp_path) == []


# ----- bad files -----------------------------------------------------------------------------

def rewrite(saved, tmp_path, name, meta_changes=None, drop=(), **arrays):
    with np.load(saved, allow_pickle=False) as z:
        data = {k: z[k] for k in z.files}
    meta = json.loads(bytes(data["meta"]).decode())
    if meta_changes is not None:
        meta = meta_changes(meta)
    data["meta"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
    data.update(arrays)
    for key in drop:
        del data[key]
    path = tmp_path / name
    np.savez(path, **data)
    return path


def load_error(path):
    with pytest.raises(FileFormatError) as info:
        io.load(path)
    message = str(info.value)
    assert str(path) in message and "\n" not in message
    return message


def test_truncated_file(saved, tmp_path):
    raw = open(saved, "rb").read()
    for cut in (len(raw) // 2, len(raw) - 10, 30):
        path = tmp_path / f"cut{cut}.npz"
        path.write_bytes(raw[:cut])
        assert "corrupt or truncated" in load_error(path)


def test_corrupt_bytes(saved, tmp_path):
    raw = bytearray(open(saved, "rb").read())
    with zipfile.ZipFile(saved) as zf:
        info = zf.getinfo("theta.npy")
    # Flip bytes inside the stored weights: the zip's CRC check notices.
    start = info.header_offset + 30 + len(info.filename) + 200
    raw[start:start + 8] = b"\x00\xff" * 4
    path = tmp_path / "flipped.npz"
    path.write_bytes(bytes(raw))
    message = load_error(path)
    assert "corrupt" in message and "CRC" in message


@pytest.mark.parametrize("content", [b"", b"hello, world\n", b"PK\x03\x04garbage"])
def test_not_a_zip(tmp_path, content):
    path = tmp_path / "junk.npz"
    path.write_bytes(content)
    load_error(path)


def test_other_numpy_files(tmp_path):
    np.savez(tmp_path / "other.npz", a=np.zeros(3))
    assert "not a netstep run" in load_error(tmp_path / "other.npz")
    np.save(tmp_path / "plain.npy", np.zeros(3))
    assert "not a netstep run" in load_error(tmp_path / "plain.npy")
    np.savez(tmp_path / "pickled.npz", theta=np.array([object()], dtype=object), meta=np.zeros(2, np.uint8))
    load_error(tmp_path / "pickled.npz")


def test_missing_file(tmp_path):
    assert "not found" in load_error(tmp_path / "nope.npz")


@pytest.mark.parametrize("name,change,words", [
    ("format", lambda m: dict(m, format="something-else"), ["not a netstep run"]),
    ("version", lambda m: dict(m, version=99), ["version 99"]),
    ("listmeta", lambda m: [1, 2], ["not a netstep run"]),
    ("noconfig", lambda m: {k: v for k, v in m.items() if k != "config"}, ["no config"]),
    ("badconfig", lambda m: dict(m, config=dict(m["config"], lr=-1)), ["invalid config", "lr"]),
    ("unbuildable", lambda m: dict(m, config=dict(m["config"], dataset="csv:/nonexistent/x.csv")), ["cannot rebuild"]),
    ("mismatch", lambda m: dict(m, config=dict(m["config"], sizes=[2, 5, 1])), ["do not match"]),
    ("badstep", lambda m: dict(m, step="many"), ["corrupt"]),
    ("badlr", lambda m: dict(m, lr=-3.0), ["corrupt"]),
])
def test_bad_meta(saved, tmp_path, name, change, words):
    message = load_error(rewrite(saved, tmp_path, f"{name}.npz", change))
    for word in words:
        assert word in message, (word, message)


@pytest.mark.parametrize("name,arrays,words", [
    ("short", lambda t: {"theta": t[:-1]}, ["do not match"]),
    ("nan", lambda t: {"theta": np.where(np.arange(t.size) == 3, np.nan, t)}, ["non-finite"]),
    ("strings", lambda t: {"theta": np.array(["x"] * t.size)}, ["not floats"]),
    ("history", lambda t: {"history_loss": np.array(["a", "b"])}, ["corrupt"]),
    ("badmeta", lambda t: {"meta": np.frombuffer(b"\xff\xfe{", dtype=np.uint8)}, ["corrupt"]),
])
def test_bad_arrays(saved, tmp_path, name, arrays, words):
    with np.load(saved) as z:
        theta = z["theta"]
    message = load_error(rewrite(saved, tmp_path, f"{name}.npz", **arrays(theta)))
    for word in words:
        assert word in message, (word, message)


def test_missing_arrays(saved, tmp_path):
    assert "no theta" in load_error(rewrite(saved, tmp_path, "notheta.npz", drop=("theta",)))


# ----- atomic saves ---------------------------------------------------------------------------

def test_a_failed_save_leaves_the_old_file_and_no_partial_file(trained, tmp_path, monkeypatch):
    path = io.save(trained, tmp_path / "run.npz")
    old = open(path, "rb").read()
    trained.step()

    def broken_savez(f, **arrays):
        f.write(b"PK\x03\x04 half a file")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(np, "savez", broken_savez)
    with pytest.raises(OSError, match="No space left"):
        io.save(trained, path)
    assert open(path, "rb").read() == old
    assert sorted(os.listdir(tmp_path)) == ["run.npz"], "the temporary file was cleaned up"
    monkeypatch.undo()
    assert io.load(path).step_count == 15


def test_a_failed_first_save_leaves_nothing(trained, tmp_path, monkeypatch):
    def broken_savez(f, **arrays):
        f.write(b"partial")
        raise KeyboardInterrupt  # even an interrupt mid-write

    monkeypatch.setattr(np, "savez", broken_savez)
    with pytest.raises(KeyboardInterrupt):
        io.save(trained, tmp_path / "new.npz")
    assert os.listdir(tmp_path) == []


def test_atomic_write_replaces_in_one_step(tmp_path):
    target = tmp_path / "out.txt"
    target.write_bytes(b"old")
    io.atomic_write(target, lambda f: f.write(b"new contents"))
    assert target.read_bytes() == b"new contents"

    def fail(f):
        f.write(b"half")
        raise ValueError("boom")

    with pytest.raises(ValueError):
        io.atomic_write(target, fail)
    assert target.read_bytes() == b"new contents"
    assert os.listdir(tmp_path) == ["out.txt"]


def test_save_overwrites_an_existing_run(trained, tmp_path):
    path = io.save(trained, tmp_path / "run.npz")
    trained.fit(1)
    io.save(trained, path)
    assert io.load(path).epoch_count == 4
    assert os.listdir(tmp_path) == ["run.npz"]


@pytest.mark.parametrize("changes", [
    {"optimizer": "adam", "lr": 0.05},
    {"optimizer": "momentum", "lr": 0.5},
    {"dataset": "circles", "optimizer": "rmsprop", "lr": 0.01, "batch_size": 50},
])
def test_a_loaded_run_continues_exactly_as_the_saved_one(tmp_path, changes):
    """Optimizer state and the shuffling generator are saved: stepping on after a load
    gives the same weights as stepping on without one (at an epoch boundary)."""
    config = engine.presets["default"].replace(**changes)
    original = engine.build(config)
    for _ in range(3 * original.steps_per_epoch):
        original.step()
    path = engine.io.save(original, tmp_path / "run.npz")
    loaded = engine.io.load(path)
    for _ in range(2 * original.steps_per_epoch):
        original.step()
        loaded.step()
    assert np.array_equal(original.net.theta, loaded.net.theta)
    assert loaded.opt.t == original.opt.t


@pytest.mark.parametrize("steps", [1, 3])
def test_a_run_saved_mid_epoch_continues_with_the_same_batches(tmp_path, steps):
    config = engine.presets["default"].replace(dataset="circles", optimizer="adam", lr=0.01, batch_size=20)
    original = engine.build(config)
    assert original.steps_per_epoch > 4
    for _ in range(steps):
        original.step()
    loaded = engine.io.load(engine.io.save(original, tmp_path / "run.npz"))
    assert loaded._pos == original._pos > 0
    for _ in range(2 * original.steps_per_epoch):
        a, b = original.step(), loaded.step()
        assert np.array_equal(a._Y, b._Y)
    assert np.array_equal(original.net.theta, loaded.net.theta)


def test_a_bad_saved_epoch_order_starts_the_next_epoch(tmp_path):
    config = engine.presets["default"].replace(dataset="circles", batch_size=50)
    original = engine.build(config)
    original.step()
    path = engine.io.save(original, tmp_path / "run.npz")
    with np.load(path) as z:
        arrays = dict(z)
    arrays["perm"] = np.zeros_like(arrays["perm"])  # not a permutation
    np.savez(path, **arrays)
    loaded = engine.io.load(path)
    assert loaded._pos == 0
    assert loaded.step().ok


# ----- crafted files: each refused with one line before anything large is read (issue 13) ------

def _patch_declared_size(path, member, size):
    """Make the zip's headers claim `member` unpacks to `size` bytes (what a zip bomb declares)."""
    import struct

    raw = bytearray(path.read_bytes())
    name = member.encode()
    with zipfile.ZipFile(path) as z:
        info = z.getinfo(member)
    # Central directory entry: signature PK\x01\x02, uncompressed size at offset 24.
    at = raw.find(b"PK\x01\x02")
    while at != -1:
        n = struct.unpack_from("<H", raw, at + 28)[0]
        if raw[at + 46:at + 46 + n] == name:
            struct.pack_into("<I", raw, at + 24, size)
        at = raw.find(b"PK\x01\x02", at + 4)
    struct.pack_into("<I", raw, info.header_offset + 22, size)  # the local header's copy
    path.write_bytes(bytes(raw))


def test_a_zip_bomb_is_refused_by_its_declared_size(saved, tmp_path):
    # A 3 MB file inflating to 3 GiB declares 3 GiB in its headers; refused before inflating.
    bomb = tmp_path / "bomb.npz"
    with open(saved, "rb") as f:
        bomb.write_bytes(f.read())
    _patch_declared_size(bomb, "theta.npy", 3 << 30)
    message = load_error(bomb)
    assert "would unpack to 3.0 GiB" in message and "1.0 GiB" in message


def test_a_header_claiming_1e11_floats_is_refused_before_allocating(saved, tmp_path):
    path = tmp_path / "liar.npz"
    with zipfile.ZipFile(saved) as z, zipfile.ZipFile(path, "w") as out:
        for info in z.infolist():
            data = z.read(info)
            if info.filename == "theta.npy":
                header = "{'descr': '<f8', 'fortran_order': False, 'shape': (100000000000,), }"
                header = header.ljust(118) + "\n"
                data = b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + header.encode() + bytes(80)
            out.writestr(info.filename, data)
    message = load_error(path)
    assert "100,000,000,000 values" in message and "claims shape" in message


def test_an_object_array_member_is_refused_without_unpickling(saved, tmp_path):
    path = rewrite(saved, tmp_path, "objects.npz")
    with zipfile.ZipFile(path, "a") as z:
        header = "{'descr': '|O', 'fortran_order': False, 'shape': (1,), }".ljust(118) + "\n"
        z.writestr("history_loss2.npy", b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + header.encode()
                   + b"\x80\x04N.")
    assert "never pickled objects" in load_error(path)


def test_an_unexpected_member_is_refused(saved, tmp_path):
    path = rewrite(saved, tmp_path, "extra.npz")
    with zipfile.ZipFile(path, "a") as z:
        z.writestr("evil.py", b"import os\n")
    assert "unexpected member 'evil.py'" in load_error(path)


@pytest.mark.parametrize("name,arrays,words", [
    ("theta2d", {"theta": np.zeros((3, 3))}, "flat float vector"),
    ("history3d", {"history_loss": np.zeros((2, 2, 2))}, "3 dimensions"),
    ("meta_floats", {"meta": np.zeros(4)}, "not JSON bytes"),
    ("opt_text", {"opt_m": np.array(["a", "b"])}, "plain number arrays"),
], ids=["theta-2d", "history-3d", "meta-floats", "optimizer-text"])
def test_wrong_dtypes_and_shapes_give_one_line(saved, tmp_path, name, arrays, words):
    assert words in load_error(rewrite(saved, tmp_path, f"{name}.npz", **arrays))


@pytest.mark.parametrize("text, words", [
    (b"{" * 50_000 + b"}" * 50_000, "nests more than 32 levels"),
    (b'{"format": [' + b"[" * 5000 + b"]" * 5000 + b"]}", "nests more than 32 levels"),
    (b"\xff\xfe not utf-8", "not UTF-8 JSON"),
    (b"{'single': 'quotes'}", "not valid JSON"),
    (b"[1, 2, 3]", "metadata is a JSON list"),
], ids=["deep-objects", "deep-lists", "not-utf8", "not-json", "a-list"])
def test_bad_json_metadata_gives_one_line(saved, tmp_path, text, words):
    path = rewrite(saved, tmp_path, "meta.npz", meta=np.frombuffer(text, dtype=np.uint8))
    assert words in load_error(path)


def test_weights_that_do_not_fit_are_refused_before_the_network_is_built(saved, tmp_path, monkeypatch):
    built = []
    monkeypatch.setattr(io, "build", lambda config: built.append(config))
    path = rewrite(saved, tmp_path, "short.npz", theta=np.zeros(5))
    assert "do not match the network" in load_error(path)
    assert built == []


def test_a_text_file_and_a_folder_say_what_they_are_not(tmp_path):
    # Issue 12 item 10: "corrupt or truncated (... allow_pickle ...)" and "[Errno 21]" before.
    text = tmp_path / "notes.npz"
    text.write_text("these are my notes\n")
    message = load_error(text)
    assert "not a netstep run: it is a text file, not a .npz archive" in message and "expected a .npz" in message
    pickled = tmp_path / "pickled.npz"
    pickled.write_bytes(b"\x80\x04\x95\x05\x00\x00\x00\x00\x00\x00\x00N.")
    assert "pickled Python data" in load_error(pickled) and "allow_pickle" not in load_error(pickled)
    message = load_error(tmp_path)
    assert "is a directory; expected a regular file" in message and "Errno" not in message


def test_a_fifo_is_refused_without_blocking(tmp_path):
    fifo = tmp_path / "run.npz"
    os.mkfifo(fifo)
    assert "named pipe (FIFO)" in load_error(fifo)


def test_save_refuses_names_that_could_shadow_modules_or_progress(trained, tmp_path):
    with pytest.raises(engine.NetstepError, match="progress"):
        io.atomic_write(tmp_path / "progress.sqlite3", lambda f: f.write(b"x"))
    with pytest.raises(engine.NetstepError, match=r"\.py could be run as Python code"):
        io.atomic_write(tmp_path / "numpy.py", lambda f: f.write(b"x"))
    assert sorted(os.listdir(tmp_path)) == []
