"""What a lesson's text states about the run comes from the run (issue 12, lesson texts)."""

from __future__ import annotations

import pytest

from tui.lessons import checks, facts
from tui.lessons.loader import LessonError, load_all, panels_named, parse
from tui.lessons.session import LessonSession, check_lesson

LESSON = '''
id = "probe"
title = "t"
[[steps]]
title = "one"
text = """TEXT"""
keys = ["p"]
panels = PANELS
max_steps = 300
[steps.run]
preset = "seed"
[steps.check]
steps_at_least = 300
CLAIMS
'''


def _lesson(text="Loss {{loss}}.", panels='["loss"]', claims=""):
    return parse(LESSON.replace("TEXT", text).replace("PANELS", panels).replace("CLAIMS", claims))


def _by_id():
    lessons, errors = load_all()
    assert not errors
    return {lesson.id: lesson for lesson in lessons}


def test_placeholders_are_filled_from_the_live_run():
    # The course's run: stuck at loss 0.125 (every output 0.5) with accuracy 50%.
    session = LessonSession(_by_id()["dead-relu"])
    session.start(1)
    session.simulate()
    text = facts.render(session.step.text, checks.Probe(session))
    assert "{{" not in text
    metrics = session.trainer.evaluate(record=False)
    assert f"{metrics['loss']:.4g}" in text and "0.125" in text
    assert "50%" in text
    assert f"step {session.trainer.step_count}" in text


def test_a_fact_follows_the_run_not_the_text():
    session = LessonSession(_lesson("Now {{accuracy}} at step {{step}}."))
    session.start(0)
    before = facts.render(session.step.text, checks.Probe(session))
    session.train(300)
    after = facts.render(session.step.text, checks.Probe(session))
    assert "step 0" in before and "step 300" in after


def test_the_xor_region_is_described_from_the_networks_predictions():
    session = LessonSession(_by_id()["xor"])
    session.start(2)
    session.simulate()
    text = facts.render("{{xor_region}}", checks.Probe(session))
    assert "(0, 1)" in text and "keep playing" not in text
    assert facts.render("{{xor_region}}", checks.Probe(_untrained(session))) != text


def _untrained(session):
    session.start(2)
    return session


def test_an_unknown_placeholder_is_refused_at_load():
    with pytest.raises(LessonError, match=r"step 1.*text.*unknown placeholder \{\{lossy\}\}"):
        _lesson("Loss {{lossy}}.")


def test_a_panel_the_text_points_at_must_be_shown():
    assert panels_named("Watch the **boundary panel** and the status line.") == ["boundary", "status"]
    with pytest.raises(LessonError, match="boundary panel, which the step does not show"):
        _lesson("Watch the boundary panel.", panels='["loss"]')


def test_a_claim_the_run_contradicts_fails_the_check():
    ok = check_lesson(_lesson(claims="[steps.claims]\noutputs_within = [0.49, 0.51]"))
    assert ok["ok"], ok
    bad = check_lesson(_lesson(claims="[steps.claims]\nloss_below = 0.1"))
    assert not bad["ok"]
    assert bad["steps"][-1]["claims"][0]["ok"] is False



async def test_the_screen_shows_the_numbers_of_the_run_it_shows(tmp_path):
    """The dead-relu lesson's second step states the run's loss and accuracy: on screen,
    after playing, the text holds the numbers the status line shows, not typed ones."""
    from tests.tui.test_lesson_screen import lesson_app, settle
    from textual.widgets import Markdown

    from tui.store import ProgressStore

    lessons, _ = load_all()
    store = ProgressStore(tmp_path / "p.sqlite3", user="t")
    store.record("dead-relu", 1)
    try:
        app = lesson_app(lessons, store, "dead-relu")
        async with app.run_test(size=(120, 40)) as pilot:
            screen = await settle(pilot)
            assert screen.session.index == 1
            await pilot.press("p")
            screen = await settle(pilot)
            trainer = screen.session.trainer
            assert trainer.step_count == 5000
            text = screen.query_one("#lesson-text", Markdown).source
            assert "{{" not in text and "step 5000" in text
            loss = trainer.evaluate(record=False)["loss"]
            from tui.fmt import num
            assert f"loss is {num(loss, None, 4)}" in text and "accuracy 50%" in text
    finally:
        store.close()


DEEP = '''
id = "probe"
title = "t"
[[steps]]
title = "one"
text = """Press space and watch the non-finite row in the diagnostics panel, the boundary panel and the loss panel."""
keys = ["space"]
panels = ["loss", "boundary", "diagnostics"]
max_steps = 1
[steps.run]
preset = "moons"
[steps.run.set]
sizes = [2, 32, 32, 32, 32, 32, 32, 32, 32, 1]
hidden = "tanh"
[steps.check]
steps_at_least = 1
'''


def test_lessons_check_sees_a_row_the_text_names_below_a_panels_border(monkeypatch):
    """The screen check drives the real lesson screen: a diagnostics row the text points
    at that sits below the panel's border at 80x24 is reported; one in sight is not."""
    import asyncio

    from tui.lessons import verify

    lesson = parse(DEEP)
    monkeypatch.setattr(verify, "ROWS", (("diagnostics", ("non-finite",), "inf/NaN"),))
    problems = asyncio.run(verify.check_screens(lesson, (80, 24)))
    assert any("'inf/NaN' row of the diagnostics panel is out of sight" in p for p in problems), problems
    monkeypatch.setattr(verify, "ROWS", (("diagnostics", ("non-finite",), "|grad|"),))
    assert asyncio.run(verify.check_screens(lesson, (80, 24))) == []

