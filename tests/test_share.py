"""`netstep share` and `--state`: a run as one URL-safe string, read back exactly or refused in one line."""

import base64
import json
import re
import subprocess
import sys
import zlib

import pytest

import engine
from engine import share
from tui.cli import main


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def pack(doc_bytes, version=1):
    body = base64.urlsafe_b64encode(zlib.compress(doc_bytes)).rstrip(b"=").decode()
    return f"ns{version}.{body}"


# ----- the string ------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["seed", "default", "moons", "spiral"])
def test_every_preset_round_trips_exactly(name):
    config = engine.presets[name].replace(lr=0.1 + 0.2, clip=1e-3, l2=1 / 3)  # floats that print long
    text = share.encode(config, steps=17)
    back, steps = share.decode(text)
    assert back.to_dict() == config.to_dict()
    assert steps == 17
    assert re.fullmatch(r"ns1\.[A-Za-z0-9_-]+", text), "URL-safe: no + / = or spaces"


def test_only_changed_fields_are_kept_so_defaults_give_the_shortest_string():
    assert share.changed_fields(engine.RunConfig()) == {}
    assert share.changed_fields(engine.RunConfig(lr=0.5, seed=3)) == {"lr": 0.5, "seed": 3}
    assert len(share.encode(engine.RunConfig())) < len(share.encode(engine.presets["spiral"]))
    config, steps = share.decode(share.encode(engine.RunConfig()))
    assert config.to_dict() == engine.RunConfig().to_dict() and steps is None


def test_share_prints_one_line_that_decodes_to_the_flags(capsys):
    code, out, err = run(capsys, "share", "--preset", "moons", "--lr", "0.03", "--batch-size", "16", "--steps", "40")
    assert code == 0 and err == ""
    assert out.count("\n") == 1
    config, steps = share.decode(out.strip())
    assert config.dataset == "moons" and config.lr == 0.03 and config.batch_size == 16 and steps == 40


# ----- --state reproduces the run ------------------------------------------------------------

@pytest.mark.parametrize("flags", [
    ["--preset", "seed", "--epochs", "300"],
    ["--preset", "moons", "--batch-size", "16", "--epochs", "15", "--lr", "0.03", "--l2", "0.001"],
    ["--dataset", "spiral", "--sizes", "2,16,3", "--output", "softmax", "--loss", "cross_entropy",
     "--optimizer", "momentum", "--lr", "0.2", "--clip", "1", "--epochs", "40", "--seed", "7"],
])
def test_train_with_state_gives_exactly_the_losses_of_the_flags(capsys, flags):
    code, out, _ = run(capsys, "share", *flags)
    assert code == 0
    state = out.strip()
    code, out, _ = run(capsys, "train", *flags, "--json")
    assert code == 0
    by_flags = json.loads(out)
    code, out, _ = run(capsys, "train", "--state", state, "--json")
    assert code == 0
    by_state = json.loads(out)
    assert by_state["loss"] == by_flags["loss"]  # exactly, not approximately
    assert by_state["accuracy"] == by_flags["accuracy"]
    assert by_state["steps"] == by_flags["steps"]
    assert by_state["config"] == by_flags["config"]


def test_flags_after_state_override_it(capsys):
    state = share.encode(engine.presets["seed"].replace(epochs=5))
    code, out, _ = run(capsys, "train", "--state", state, "--lr", "0.1", "--json")
    assert code == 0
    doc = json.loads(out)
    assert doc["config"]["lr"] == 0.1 and doc["config"]["seed"] == 42 and doc["epochs"] == 5


def test_gradcheck_takes_state_too(capsys):
    state = share.encode(engine.presets["default"].replace(seed=3))
    code, out, _ = run(capsys, "gradcheck", "--state", state, "--json")
    assert code == 0 and json.loads(out)["passed"] is True


# ----- refused in one line -------------------------------------------------------------------

GOOD = share.encode(engine.presets["spiral"], steps=5)
BOMB = pack(json.dumps({"c": {"dataset": "xor"}, "s": 0}).encode() + b" " * 5_000_000)


def tampered(text):
    middle = len(text) // 2
    return text[:middle] + ("A" if text[middle] != "A" else "B") + text[middle + 1:]


@pytest.mark.parametrize("bad, says", [
    ("hello", "must start with ns1."),
    ("", "must start with ns1."),
    ("ns2." + GOOD[4:], "version 2"),
    ("nsX." + GOOD[4:], "must start with ns1."),
    (GOOD[:-12], "truncated"),
    (GOOD[:6], "truncated"),
    (tampered(GOOD), "altered"),
    (GOOD[:10] + "+/" + GOOD[12:], "base64url"),
    (GOOD + "AAAA", "bytes after its end"),
    (BOMB, "inflates past"),
    ("ns1." + "A" * 9000, "characters long"),
    (pack(b"[1, 2, 3]"), "does not hold a run"),
    (pack(b"\xff\xfe not json"), "not JSON"),
    (pack(json.dumps({"c": {"lr": -1}}).encode()), "lr"),
    (pack(json.dumps({"c": {"colour": "red"}}).encode()), "colour"),
    (pack(json.dumps({"c": {}, "s": -4}).encode()), "step count"),
    (pack(json.dumps({"c": {"sizes": {"a": 1}}}).encode()), "sizes"),
])
def test_a_bad_string_is_one_line_and_exit_2(capsys, bad, says):
    code, out, err = run(capsys, "train", "--state", bad, "--json")
    assert code == 2
    assert out == ""
    assert err.count("\n") == 1 and "Traceback" not in err
    assert "--state" in err and says in err


def test_the_bomb_really_is_small_outside_and_large_inside():
    assert len(BOMB) < share.MAX_STRING < 5_000_000


def test_state_with_preset_is_refused(capsys):
    code, _, err = run(capsys, "train", "--state", GOOD, "--preset", "seed")
    assert code == 2 and "--preset" in err and err.count("\n") == 1


def test_share_refuses_a_bad_step_count_and_a_run_that_cannot_be_built(capsys):
    code, out, err = run(capsys, "share", "--steps", "-1")
    assert code == 2 and out == "" and "--steps" in err
    code, out, err = run(capsys, "share", "--dataset", "csv:/no/such/file.csv")
    assert code == 2 and out == "" and "not found" in err and err.count("\n") == 1


def test_a_user_sees_one_line_in_a_real_process():
    p = subprocess.run([sys.executable, "-m", "tui", "train", "--state", tampered(GOOD)],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 2 and p.stdout == ""
    assert p.stderr.startswith("netstep: invalid --state:") and p.stderr.count("\n") == 1


def test_the_app_opens_a_shared_run_at_its_step():
    import numpy as np

    from tui.cli import build_trainer, make_parser, run_config
    from tui.commands.share_cmd import advance

    config = engine.presets["moons"].replace(batch_size=32, epochs=3)
    args = make_parser().parse_args(["--state", share.encode(config, steps=7)])
    trainer = advance(build_trainer(run_config(args)), args)
    assert trainer.step_count == 7
    same = engine.build(config)
    for _ in range(7):
        same.step()
    assert np.array_equal(trainer.net.theta, same.net.theta)


def test_the_app_refuses_a_bad_string_before_it_opens(capsys):
    code, out, err = run(capsys, "--state", "ns1.not-a-run")
    assert code == 2 and out == "" and err.startswith("netstep: invalid --state:") and err.count("\n") == 1
