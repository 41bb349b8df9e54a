"""The bounds of `netstep serve` without a network: the input gate, the memory budget, the
flags made from ServeConfig, the sandbox's read rules, and the session's crash wrapper."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from dataclasses import fields

import pytest

from tui.serve import InputGate, ServeConfig, ServeError
from tui.serve.config import APP_BASELINE_MB, MIN_MEMORY_MB, add_flags, from_args
from tui.serve.pty_child import PASTE_END, PASTE_START
from tui.serve.sandbox import package_dirs, sandbox_rules, session_rules

# -- the input gate (finding 9)


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def test_gate_passes_a_burst_then_the_rate_and_drops_the_rest():
    clock = Clock()
    gate = InputGate(burst=1000, rate=100, clock=clock)
    assert gate.admit(b"a" * 600) == b"a" * 600
    assert gate.admit(b"b" * 600) == b"b" * 400        # 1000 at once, no more
    assert gate.dropped == 200 and gate.admit(b"c") == b""
    clock.now = 2.0                                     # 2 s at 100 B/s
    assert gate.admit(b"d" * 500) == b"d" * 200
    clock.now = 1000.0                                  # refills only up to the burst
    assert len(gate.admit(b"e" * 5000)) == 1000


def test_gate_lets_typing_through_untouched():
    clock = Clock()
    gate = InputGate(burst=64 << 10, rate=16 << 10, clock=clock)
    for i in range(10000):                              # 10,000 keys at 50 a second
        clock.now = i / 50
        assert gate.admit(b"k") == b"k"
    assert gate.dropped == 0


def test_gate_always_passes_the_end_of_a_cut_paste():
    clock = Clock()
    gate = InputGate(burst=100, rate=10, clock=clock)
    out = gate.admit(PASTE_START + b"x" * 500 + PASTE_END + b"after")
    assert out.startswith(PASTE_START) and out.endswith(PASTE_END) and len(out) <= 100 + len(PASTE_END)
    assert not gate.in_paste
    # A paste end split across two dropped packets is found too.
    gate = InputGate(burst=50, rate=0, clock=clock)
    out = gate.admit(PASTE_START + b"y" * 200 + PASTE_END[:3])
    out += gate.admit(PASTE_END[3:] + b"z")
    assert out.endswith(PASTE_END) and out.count(PASTE_END) == 1
    # No end is invented when no paste was open.
    gate = InputGate(burst=10, rate=0, clock=clock)
    assert PASTE_END not in gate.admit(b"q" * 50 + PASTE_END)


def test_gate_never_hands_over_half_an_escape_sequence():
    gate = InputGate(burst=10, rate=0, clock=Clock())
    assert gate.admit(b"abcdefg\x1b[A" + b"h" * 20) == b"abcdefg"


# -- the memory budget (finding 8)


@pytest.mark.parametrize("machine, sessions, expected", [
    (24105, 16, 24105 * 3 // 4 // 16),   # this build machine: 1129 MB each
    (16384, 8, 1536),
    (4096, 16, MIN_MEMORY_MB),           # a small machine: the app's floor (and a warning at start)
    (262144, 4, 2048),                   # a big one: capped
])
def test_default_memory_limit_is_the_machines_share(monkeypatch, machine, sessions, expected):
    monkeypatch.setattr("tui.serve.config.machine_memory_mb", lambda: machine)
    config = ServeConfig(allow_anonymous=True, max_sessions=sessions)
    assert config.session_memory_mb() == expected
    assert config.engine_budget_bytes() == (expected - APP_BASELINE_MB) << 20
    limits = {name: soft for name, soft, _ in config.rlimits()}
    assert limits["RLIMIT_AS"] == expected << 20


def test_explicit_memory_limit_wins_and_zero_means_none():
    assert ServeConfig(memory_limit=900).session_memory_mb() == 900
    config = ServeConfig(memory_limit=0)
    assert config.engine_budget_bytes() == 0 and "RLIMIT_AS" not in {n for n, *_ in config.rlimits()}


def test_open_files_limit_of_a_child_is_clamped_to_the_servers_hard_limit(monkeypatch):
    """Finding 13: a hard limit below 1024 made every child's setrlimit fail."""
    import resource

    monkeypatch.setattr(resource, "getrlimit", lambda which: (256, 256))
    limits = {name: (soft, hard) for name, soft, hard in ServeConfig().rlimits()}
    assert limits["RLIMIT_NOFILE"] == (256, 256)


# -- the flags are the fields (issue 11 part 5)


def _parser():
    parser = argparse.ArgumentParser()
    add_flags(parser)
    return parser


def test_every_flag_default_is_the_fields_default():
    parsed = from_args(_parser().parse_args([]))
    assert parsed == ServeConfig()
    flagged = [f.name for f in fields(ServeConfig) if f.metadata]
    help_text = _parser().format_help()
    for name in flagged:
        flag = "--no-sandbox" if name == "sandbox" else "--" + name.replace("_", "-")
        assert flag in help_text


def test_flags_parse_into_the_config():
    args = _parser().parse_args(["--max-per-key", "0", "--max-startups", "5:50:20", "--no-sandbox",
                                 "--login-grace", "12.5", "--allow-anonymous", "--memory-limit", "600"])
    config = from_args(args)
    assert (config.max_per_key, config.max_startups, config.sandbox, config.login_grace,
            config.allow_anonymous, config.memory_limit) == (0, "5:50:20", False, 12.5, True, 600)
    config.validate()


@pytest.mark.parametrize("field, value", [
    ("login_grace", float("inf")), ("login_grace", float("nan")), ("login_grace", 0.0),
    ("idle_timeout", float("inf")), ("idle_timeout", -1.0), ("kill_grace", float("nan")),
    ("keepalive", float("inf")), ("max_per_key", -1), ("file_limit", -5),
])
def test_non_finite_and_negative_numbers_are_refused(field, value):
    with pytest.raises(ServeError, match="--"):
        ServeConfig(allow_anonymous=True, **{field: value}).validate()


# -- what a session may read (findings 2 and 4)


def test_read_rules_are_the_interpreter_and_packages_never_the_cwd_or_sys_path(tmp_path, monkeypatch):
    teacher = tmp_path / "teacher"
    teacher.mkdir()
    monkeypatch.chdir(teacher)
    monkeypatch.syspath_prepend(str(teacher))
    rules = sandbox_rules([sys.executable, "-m", "tui"])
    reads = [p for p, mode in rules if mode == "read"]
    assert not any(os.path.commonpath([p, str(teacher)]) == p for p in reads)
    assert "/dev" not in [p for p, _ in rules]
    assert {p for p, mode in rules if mode == "device"} == {"/dev/null", "/dev/urandom", "/dev/tty"}
    for package in package_dirs():
        assert any(os.path.commonpath([p, os.path.realpath(package)]) == p for p in reads)
    mine = session_rules(rules, str(tmp_path / "alice"), "/dev/pts/7")
    assert mine[-2:] == [(os.path.realpath(tmp_path / "alice"), "write"), ("/dev/pts/7", "device")]


# -- the crash wrapper (finding 12)


def _run_wrapped(tmp_path, script: str):
    path = tmp_path / "app.py"
    path.write_text(script)
    read, write = os.pipe()
    env = dict(os.environ, NETSTEP_ERROR_FD=str(write))
    result = subprocess.run([sys.executable, "-m", "tui.serve.app_main", "--script", str(path)],
                            capture_output=True, text=True, env=env, pass_fds=(write,), timeout=60)
    os.close(write)
    with os.fdopen(read) as f:
        logged = f.read()
    return result, logged


def test_an_uncaught_error_goes_to_the_log_not_the_screen(tmp_path):
    result, logged = _run_wrapped(tmp_path, "raise ValueError('secret /srv/path')\n")
    assert result.returncode == 70 and "secret" not in result.stderr + result.stdout
    assert "Traceback" in logged and "ValueError: secret /srv/path" in logged


def test_a_traceback_printed_by_the_app_counts_as_a_crash(tmp_path):
    # Textual prints the traceback of a crashed app and returns normally.
    script = "import sys, traceback\ntry:\n    1/0\nexcept Exception:\n    traceback.print_exc()\n"
    result, logged = _run_wrapped(tmp_path, script)
    assert result.returncode == 70 and "ZeroDivisionError" in logged and "Traceback" not in result.stderr


def test_a_short_message_of_a_failed_command_still_reaches_the_student(tmp_path):
    script = "import sys\nprint('netstep: no lesson named xyz', file=sys.stderr)\nsys.exit(2)\n"
    result, logged = _run_wrapped(tmp_path, script)
    assert result.returncode == 2 and "no lesson named xyz" in result.stderr and "no lesson" in logged
