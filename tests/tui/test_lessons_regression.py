"""Lesson checks and placeholders on a regression run (scored by R², no accuracy)."""

import textwrap

import pytest

from tui.lessons import checks, facts, parse
from tui.lessons.session import LessonSession


@pytest.fixture(autouse=True)
def _private_data_dir(monkeypatch, tmp_path):
    monkeypatch.setenv("NETSTEP_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("NETSTEP_USER", "tester")


def _session(dataset, check):
    lesson = parse(textwrap.dedent(f"""
        id = "t"
        title = "t"
        [[steps]]
        title = "a"
        text = "R² is {{{{r2}}}}, accuracy {{{{accuracy}}}}."
        [steps.run]
        preset = "default"
        [steps.run.set]
        dataset = "{dataset}"
        sizes = [2, 8, 1]
        optimizer = "adam"
        lr = 0.02
        [steps.check]
        {check}
    """), "t.toml")
    s = LessonSession(lesson)
    s.start(0)
    return s


def test_accuracy_checks_on_a_regression_run_say_why_instead_of_raising():
    # Before: p.metrics["accuracy"] raised KeyError (evaluate gives r2 and no accuracy).
    s = _session("bumps", "accuracy_at_least = 0.5\naccuracy_at_most = 1.0")
    verdicts = dict(s.verdicts())
    assert not verdicts["accuracy_at_least"].ok and not verdicts["accuracy_at_most"].ok
    assert "regression run has no accuracy" in verdicts["accuracy_at_least"].detail
    assert not s.met()


def test_r2_checks_follow_the_runs_r2():
    s = _session("plane", "r2_at_least = 0.9")
    (name, verdict), = s.verdicts()
    r2 = s.trainer.evaluate(record=False)["r2"]
    assert r2 < 0.9 and not verdict.ok and verdict.detail == f"training R² {r2:.4f} (needs at least 0.9)"
    for _ in range(300):
        s.trainer.step()
    (name, verdict), = s.verdicts()
    r2 = s.trainer.evaluate(record=False)["r2"]
    assert r2 >= 0.9 and verdict.ok and f"{r2:.4f}" in verdict.detail
    most = dict(checks.evaluate({"r2_at_most": 0.5}, s))["r2_at_most"]
    assert not most.ok


def test_r2_checks_do_not_apply_to_a_classification_run():
    s = _session("xor", "r2_at_least = 0.0")
    (name, verdict), = s.verdicts()
    assert not verdict.ok and "regression run only" in verdict.detail


def test_the_r2_placeholder_is_the_runs_r2():
    s = _session("bumps", "steps_at_least = 0")
    r2 = s.trainer.evaluate(record=False)["r2"]
    text = facts.render("R² is {{r2}}, accuracy {{accuracy}}.", checks.Probe(s))
    assert text == f"R² is {r2:.4f}, accuracy n/a."
    xor = _session("xor", "steps_at_least = 0")
    assert facts.render("{{r2}}", checks.Probe(xor)) == "n/a (not a regression run)"
    assert facts.unknown("{{r2}} {{test_r2}}") == []
