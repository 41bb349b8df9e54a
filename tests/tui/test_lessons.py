"""Lesson files, their validation, the check vocabulary, the headless session and the CLI."""

import json
import textwrap
from pathlib import Path

import pytest

import engine
from tui import cli
from tui.lessons import checks, load_all, loader, parse
from tui.lessons.loader import LessonError
from tui.lessons.session import LessonSession, check_lesson

TOPICS = {"xor", "shapes", "initialization", "activations", "forward", "losses", "backward", "gradcheck", "training",
          "boundary", "dead-relu", "exploding", "vanishing", "momentum", "adam", "l2", "softmax", "debugging"}
TOPICS |= {"features", "regularisation", "units"}  # issue 16: features versus depth; L1, L2 and dropout; unit maps


@pytest.fixture(autouse=True)
def _private_data_dir(monkeypatch, tmp_path):
    monkeypatch.setenv("NETSTEP_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("NETSTEP_USER", "tester")


@pytest.fixture(scope="module")
def lessons():
    found, errors = load_all()
    assert errors == []
    return {l.id: l for l in found}


def test_every_shipped_lesson_loads_and_covers_the_course(lessons):
    assert len(lessons) >= 16
    assert TOPICS <= set(lessons)
    for lesson in lessons.values():
        assert lesson.title and lesson.steps and lesson.steps[0].run is not None
        for step in lesson.steps:
            assert step.text.strip() and step.title
            if step.check and step.keys:
                assert step.hint, f"{lesson.id} step {step.number} has a check and keys but no hint"


def test_lessons_are_written_in_our_own_words(lessons):
    path = Path(__file__).resolve().parents[3] / "shared" / "seed-tutorial.txt"
    if not path.exists():
        pytest.skip("the course text (../shared/seed-tutorial.txt) is not available here")
    course = path.read_text(encoding="utf-8")
    words = course.split()
    # No run of 12 words from the course appears in any lesson.
    phrases = {" ".join(words[i:i + 12]) for i in range(len(words) - 12)}
    for lesson in lessons.values():
        for step in lesson.steps:
            text = " ".join(step.text.split())
            assert not any(p in text for p in phrases), f"{lesson.id} step {step.number} copies the course"


# ----- validation names file, step and field ------------------------------------------------

GOOD = """
id = "tiny"
title = "Tiny"
[[steps]]
title = "First"
text = "Read this."
keys = ["space"]
[steps.run]
preset = "default"
[steps.check]
steps_at_least = 1
"""


def _error(text, name="tiny.toml"):
    with pytest.raises(LessonError) as info:
        parse(textwrap.dedent(text), name)
    return str(info.value)


def test_a_good_file_parses():
    lesson = parse(GOOD, "tiny.toml")
    assert lesson.id == "tiny" and lesson.steps[0].check == {"steps_at_least": 1}


@pytest.mark.parametrize("old, new, expected", [
    ('steps_at_least = 1', 'acuracy_at_least = 1', "tiny.toml: step 1 ('First'): check.acuracy_at_least: unknown condition; allowed: "),
    ('steps_at_least = 1', 'accuracy_at_least = 2', "tiny.toml: step 1 ('First'): check.accuracy_at_least: must be a number from 0 to 1"),
    ('keys = ["space"]', 'keys = ["x"]', "tiny.toml: step 1 ('First'): keys: unknown key 'x'; allowed: space, p"),
    ('keys = ["space"]', 'panels = ["radar"]', "tiny.toml: step 1 ('First'): panels: unknown panel 'radar'; allowed: network"),
    ('preset = "default"', 'preset = "nope"', "tiny.toml: step 1 ('First'): run.preset: unknown preset 'nope'; allowed: seed"),
    ('preset = "default"', 'preset = "default"\n[steps.run.set]\nlr = -1', "tiny.toml: step 1 ('First'): run.set.lr: must be a positive number"),
    ('preset = "default"', 'preset = "default"\n[steps.run.set]\nhiden = "relu"', "tiny.toml: step 1 ('First'): run.set.hiden: unknown field"),
    ('text = "Read this."', '', "tiny.toml: step 1 ('First'): text: is missing"),
    ('id = "tiny"', 'id = "other"', "tiny.toml: id: must match the file name ('tiny')"),
    ('title = "Tiny"', 'title = 3', "tiny.toml: title: must be a non-empty text value"),
    ('[steps.run]\npreset = "default"', '', "tiny.toml: step 1 ('First'): run: the first step must start a run"),
    ('text = "Read this."', 'text = "Read this."\nmax_step = 5', "tiny.toml: step 1 ('First'): max_step: unknown field"),
])
def test_errors_name_file_step_and_field(old, new, expected):
    assert old in GOOD
    message = _error(GOOD.replace(old, new))
    assert message.startswith(expected), message


def test_errors_in_later_steps_and_changes_name_that_step():
    text = GOOD + textwrap.dedent("""
        [[steps]]
        title = "Second"
        text = "More."
        [steps.change]
        weights = { W1 = [[1, 2], [3]] }
    """)
    assert _error(text).startswith("tiny.toml: step 2 ('Second'): change.weights.W1: must be a matrix")


def test_invalid_toml_is_reported_with_the_file_name():
    assert _error("id = [unclosed").startswith("tiny.toml: is not valid TOML")


def test_a_broken_file_is_skipped_and_the_rest_still_load(tmp_path):
    (tmp_path / "tiny.toml").write_text(GOOD)
    (tmp_path / "broken.toml").write_text(GOOD.replace('id = "tiny"', 'id = "broken"').replace("steps_at_least", "nonsense"))
    (tmp_path / "binary.toml").write_bytes(b"\xff\xfe\x00garbage")
    found, errors = load_all(tmp_path)
    assert [l.id for l in found] == ["tiny"]
    assert len(errors) == 2
    assert any("broken.toml: step 1 ('First'): check.nonsense: unknown condition" in e for e in errors)
    assert any("binary.toml" in e for e in errors)


# ----- checks read the engine -----------------------------------------------------------------

def _session(text):
    lesson = parse(textwrap.dedent(text), "t.toml")
    s = LessonSession(lesson)
    s.start(0)
    return s


def test_the_course_run_has_a_dead_unit_before_training():
    s = _session("""
        id = "t"
        title = "t"
        [[steps]]
        title = "a"
        text = "a"
        [steps.run]
        preset = "seed"
        [steps.check]
        dead_units_at_least = 1
        always_active_at_least = 1
        outputs_within = [0.49, 0.51]
    """)
    verdicts = dict(s.verdicts())
    assert all(v.ok for v in verdicts.values()), verdicts
    assert verdicts["dead_units_at_least"].detail.startswith("1 of 3 ReLU units dead")
    _, cache = s.trainer.net.forward(s.trainer.X)
    assert (cache["Z1"][:, 1] <= 0).all()   # the engine agrees: unit 2


def test_unmet_checks_block_advancing_and_say_why():
    s = _session(GOOD.replace('id = "tiny"', 'id = "t"') + '[[steps]]\ntitle = "b"\ntext = "b"\n')
    assert not s.met()
    assert not s.advance() and s.index == 0
    (name, verdict), = s.verdicts()
    assert name == "steps_at_least" and verdict.detail == "0 steps taken (needs 1)"
    s.press("space")
    assert s.met() and s.advance() and s.index == 1


def test_gradcheck_condition_uses_the_learners_own_check():
    s = _session("""
        id = "t"
        title = "t"
        [[steps]]
        title = "a"
        text = "a"
        keys = ["g"]
        [steps.run]
        preset = "seed"
        backward = "course"
        [steps.check]
        gradcheck = "failed"
    """)
    assert "press g" in s.verdicts()[0][1].detail
    s.press("g")
    assert s.met()
    worst = s.state.gradcheck.worst  # b1 sits on kinks here: its error is None (not checked)
    assert 0.7 < worst < 0.8   # the course's dZ2 = A2 - Y is 4x the MSE gradient at outputs near 0.5


def test_learning_rate_keys_and_conditions():
    s = _session("""
        id = "t"
        title = "t"
        [[steps]]
        title = "a"
        text = "a"
        keys = ["-"]
        [steps.run]
        preset = "default"
        [steps.run.set]
        lr = 8.0
        [steps.check]
        lr_at_most = 1.0
    """)
    assert not s.met()
    s.press("-")
    assert s.trainer.lr == 4.0 and not s.met()
    s.simulate()
    assert s.trainer.lr == 1.0 and s.met()


def test_every_condition_is_documented_and_parses_its_own_kind():
    samples = {"number": 1.0, "fraction": 0.5, "count": 2, "bool": True, "range": [0, 1], "gradcheck": "passed",
               "phase": "loss"}
    for name, cond in checks.CONDITIONS.items():
        assert cond.doc and cond.keys
        value = cond.parse(samples[cond.kind])
        assert cond.describe(value)
        with pytest.raises(ValueError):
            cond.parse("nonsense" if cond.kind not in ("gradcheck", "phase") else 3)


def test_jumping_to_a_step_replays_the_steps_before_it(lessons):
    s = LessonSession(lessons["dead-relu"])
    s.start(2)   # "Diagnose": needs the 5000 steps of step 2 behind it
    assert s.trainer.step_count == 5000
    assert s.met()
    again = LessonSession(lessons["dead-relu"])
    again.start(0)
    again.simulate()
    assert again.advance()
    again.simulate()
    assert (again.trainer.net.theta == s.trainer.net.theta).all()


def test_a_check_that_can_never_hold_fails_the_lesson():
    lesson = parse(textwrap.dedent(GOOD.replace("steps_at_least = 1", "accuracy_at_least = 1.0").replace(
        'keys = ["space"]', 'keys = ["p"]\nmax_steps = 3').replace('preset = "default"', 'preset = "seed"')), "tiny.toml")
    result = check_lesson(lesson)
    assert not result["ok"]
    assert result["steps"][0]["training_steps"] == 3
    assert result["steps"][0]["conditions"][0]["detail"].endswith("(needs at least 100%)")


# ----- the commands -----------------------------------------------------------------------------

def test_lessons_check_passes_for_every_shipped_lesson(capsys, lessons):
    assert cli.main(["lessons", "--check"]) == 0
    out = capsys.readouterr().out
    assert f"{len(lessons)} of {len(lessons)} lessons pass" in out   # the course's and every later one
    assert "FAIL" not in out
    # ...and every step through the real screen at both sizes (tui/lessons/verify.py)
    assert out.count("on screen at 120x40 and 80x24") == len(lessons)


def test_lessons_check_fails_when_a_lesson_file_is_broken(capsys, monkeypatch, tmp_path):
    (tmp_path / "tiny.toml").write_text(GOOD)
    (tmp_path / "broken.toml").write_text("id = 'broken'\n")
    monkeypatch.setattr(loader, "LESSON_DIR", tmp_path)
    assert cli.main(["lessons", "--check"]) == 1
    captured = capsys.readouterr()
    assert "ok    tiny" in captured.out
    assert "skipped lesson broken.toml: title: is missing" in captured.err


def test_lessons_json_is_one_document(capsys, lessons):
    assert cli.main(["lessons", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [d["id"] for d in data] == list(lessons)
    for d in data:
        assert {"id", "title", "steps"} <= set(d)
        assert d["steps"] == len(lessons[d["id"]].steps)


def test_lessons_lists_progress(capsys, lessons):
    from tui.store import ProgressStore

    with ProgressStore() as s:
        s.record("dead-relu", 3)
        s.record("xor", 3, done=True)
    assert cli.main(["lessons"]) == 0
    lines = {line.split()[0]: line for line in capsys.readouterr().out.splitlines() if line.strip()}
    assert lines["dead-relu"].endswith(f"4/{len(lessons['dead-relu'].steps)}")
    assert lines["xor"].endswith("done")
    assert lines["shapes"].endswith("not started")


def test_unknown_lesson_exits_2_listing_ids(capsys):
    assert cli.main(["lesson", "nope"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("netstep: unknown lesson 'nope'; allowed: xor, shapes")
    assert "\n" not in err


def test_config_presets_used_by_lessons_exist():
    for lesson in load_all()[0]:
        for step in lesson.steps:
            if step.run is not None:
                assert step.run.preset in engine.presets


def test_a_step_the_run_cannot_take_fails_with_a_message_not_a_traceback():
    text = GOOD + textwrap.dedent("""
        [[steps]]
        title = "Second"
        text = "More."
        [steps.change.weights]
        W1 = [[1.0, 2.0]]
    """)
    result = check_lesson(parse(text, "tiny.toml"))
    assert not result["ok"]
    assert result["error"].startswith("step 2: SessionError: change.weights.W1: W1 has shape (2, 4)")


def test_headless_lesson_commands_do_not_import_textual():
    import subprocess
    import sys

    code = ("import sys; from tui import cli; import tui.commands.lessons_cmd, tui.lessons.session, tui.store; "
            "print('textual' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


# ----- one run controller, one key table, one source of measurements ----------------------------

def test_a_lesson_check_and_the_diagnostics_panel_agree_on_dead_units(lessons):
    """The dead-relu lesson's run: the check's dead count is the diagnostics row's (the
    rows the diagnostics panel draws), not a count of its own."""
    s = LessonSession(lessons["dead-relu"])
    s.start(6)                          # "Killing units with a learning rate that is too large"
    s.simulate()
    (name, verdict), = [(n, v) for n, v in s.verdicts() if n.startswith("dead")]
    snap = s.controller.refresh()       # what the panels draw, from the same controller
    rows = [r for r in snap.diagnostics["layers"][:-1] if r.get("dead") is not None]
    dead = sum(len(r["dead_units"]) for r in rows)
    total = sum(r["units"] for r in rows)
    assert dead > 0 and verdict.detail.startswith(f"{dead} of {total} ReLU units dead")
    assert snap.diagnostics["step"] == s.trainer.step_count == snap.step


def test_saturation_and_identical_units_come_from_the_diagnostics_rows():
    import engine.diagnostics

    s = _session("""
        id = "t"
        title = "t"
        [[steps]]
        title = "a"
        text = "a"
        [steps.run]
        preset = "default"
        [steps.run.set]
        hidden = "sigmoid"
        init = "zeros"
        [steps.check]
        identical_units = true
        saturated_below = 0.5
    """)
    assert s.met(), s.verdicts()
    report = engine.diagnostics.measure(s.trainer)
    assert report.layers[0].identical_units is True
    probe = checks.Probe(s)
    assert probe.saturated_fraction() == report.layers[0].saturated


def test_lesson_keys_are_the_app_tables_keys():
    from tui import keys

    assert set(loader.KEYS) == {"space", "p", "n", "b", "g", "r", "+", "-"}
    for name, key in keys.lesson_keys().items():
        assert key in keys.KEYS and key.action in keys.LESSON_ACTIONS
        assert loader.KEYS[name] == key.help


def test_t_sets_the_play_speed_in_a_lesson(lessons):
    s = LessonSession(lessons["training"])
    s.start(0)
    assert s.controller.speed is None
    note = s.press("t")
    assert s.controller.speed == 1000 and "1000" in note
    assert s.controller.refresh().speed == 1000
