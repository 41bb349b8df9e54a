"""The lesson screens, driven by the keyboard through Textual's Pilot."""

import pytest

from tui.lessons import checks, load_all, loader
from tui.lessons.app import LessonApp
from tui.screens.lesson import LessonScreen
from tui.screens.lesson_list import LessonListScreen
from tui.store import ProgressStore

SIZE = (120, 40)


@pytest.fixture
def store(tmp_path):
    s = ProgressStore(tmp_path / "progress.sqlite3", user="pilot")
    yield s
    s.close()


@pytest.fixture(scope="module")
def lessons():
    found, errors = load_all()
    assert not errors
    return found


async def settle(pilot):
    """Let every worker (entering a step, playing) finish and its results reach the screen."""
    app = pilot.app
    for _ in range(200):
        await app.workers.wait_for_complete()
        await pilot.pause()
        screen = app.screen
        if not isinstance(screen, LessonScreen) or (not screen.busy and not screen.playing
                                                     and not any(not w.is_finished for w in app.workers)):
            return screen
    raise AssertionError("the lesson screen never settled")


def lesson_app(lessons, store, lesson_id=None):
    return LessonApp(lesson_id, lessons=lessons, errors=[], store=store)


def text_of(widget) -> str:
    """What a Static shows, as plain text (whatever renderable it holds)."""
    from rich.console import Console

    console = Console(width=200, record=True, file=open("/dev/null", "w"))
    console.print(widget.content)
    return console.export_text()


def check_text(screen) -> str:
    return text_of(screen.query_one("#check-body"))


async def test_dead_relu_first_step_to_last_with_the_keyboard(lessons, store):
    app = lesson_app(lessons, store, "dead-relu")
    async with app.run_test(size=SIZE) as pilot:
        screen = await settle(pilot)
        s = screen.session
        assert s.index == 0 and s.met()
        assert "✓ 1 of 3 ReLU units dead" in check_text(screen)
        await pilot.press("right")                       # 2: train it as the course does
        screen = await settle(pilot)
        assert s.index == 1 and not s.met()
        await pilot.press("p")
        screen = await settle(pilot)
        assert s.trainer.step_count == 5000              # paused by itself exactly there
        assert s.metrics["accuracy"] == 0.5
        assert screen.latest_snapshot().step == 5000             # the panels saw it
        for expected in range(2, 9):
            await pilot.press("right")
            screen = await settle(pilot)
            assert s.index == expected
            if s.step.keys:
                for _ in range(40):
                    if s.met():
                        break
                    await pilot.press(s.step.keys[0])
                    screen = await settle(pilot)
            assert s.met(), s.verdicts()
        assert s.is_last
        assert "Lesson complete" in check_text(screen)
        p = store.get("dead-relu")
        assert p.done and p.step == 8 and p.checks == frozenset(range(9))
        await pilot.press("q")
    assert app.return_code == 0


async def test_right_arrow_waits_for_the_check_and_says_why(lessons, store):
    app = lesson_app(lessons, store, "training")
    async with app.run_test(size=SIZE) as pilot:
        screen = await settle(pilot)
        await pilot.press("right")
        screen = await settle(pilot)
        assert screen.session.index == 0
        messages = [n.message for n in app._notifications]
        assert any(m.startswith("Not yet: 0 steps taken (needs 5)") for m in messages)
        assert "Hint: Press space" in check_text(screen)
        for _ in range(5):
            await pilot.press("space")
        screen = await settle(pilot)
        assert screen.session.trainer.step_count == 5
        await pilot.press("right")
        screen = await settle(pilot)
        assert screen.session.index == 1


async def test_keys_drive_the_engine(lessons, store):
    app = lesson_app(lessons, store, "gradcheck")
    async with app.run_test(size=SIZE) as pilot:
        screen = await settle(pilot)
        s = screen.session
        lr = s.trainer.lr
        await pilot.press("plus")
        await settle(pilot)
        assert s.trainer.lr == 2 * lr
        await pilot.press("minus", "minus")
        await settle(pilot)
        assert s.trainer.lr == lr / 2
        await pilot.press("g")
        screen = await settle(pilot)
        assert s.state.gradcheck is not None and s.state.gradcheck.passed
        assert "PASSED" in text_of(screen.query_one("#gradcheck-body"))
        await pilot.press("right")                     # the course's backward pass
        screen = await settle(pilot)
        await pilot.press("g")
        screen = await settle(pilot)
        body = text_of(screen.query_one("#gradcheck-body"))
        assert "FAILED" in body and "course's backward pass" in body
        assert s.met()


async def test_operation_keys_walk_the_cycle(lessons, store):
    app = lesson_app(lessons, store, "forward")
    async with app.run_test(size=SIZE) as pilot:
        screen = await settle(pilot)
        s = screen.session
        await pilot.press("n")
        screen = await settle(pilot)
        op = s.stepper.current
        assert op.name == "Z1"
        trace = text_of(screen.query_one("#trace-body"))
        assert "Z1 = X W1 + b1" in trace and "(4, 2) x (2, 3) + (1, 3) -> (4, 3)" in trace
        assert "0.0152" in trace                         # the course's W1 row for input (0, 1)
        await pilot.press("n", "b")
        await settle(pilot)
        assert s.stepper.current is op                   # back one shows the very same record
        await pilot.press("n", "right", "n", "n", "n")
        screen = await settle(pilot)
        assert s.index == 1 and s.stepper.current.phase == "loss" and s.met()


async def test_left_arrow_and_restart_rebuild_the_step(lessons, store):
    app = lesson_app(lessons, store, "dead-relu")
    async with app.run_test(size=SIZE) as pilot:
        screen = await settle(pilot)
        s = screen.session
        await pilot.press("right", "space", "space")
        await settle(pilot)
        assert s.index == 1 and s.trainer.step_count == 2
        await pilot.press("r")
        await settle(pilot)
        assert s.index == 1 and s.trainer.step_count == 0
        await pilot.press("left")
        await settle(pilot)
        assert s.index == 0
        await pilot.press("right")                       # reached before: allowed again
        await settle(pilot)
        assert s.index == 1


async def test_coming_back_resumes_where_you_left_off(lessons, store):
    store.record("dead-relu", 2, met=[0, 1])
    app = lesson_app(lessons, store, "dead-relu")
    async with app.run_test(size=SIZE) as pilot:
        screen = await settle(pilot)
        s = screen.session
        assert s.index == 2
        assert s.trainer.step_count == 5000              # step 2's training replayed
        assert s.met()
        header = text_of(screen.query_one("#step-header"))
        assert "step 3 of 9" in header and "Diagnose" in header


async def test_lesson_list_shows_progress_and_opens_the_chosen_lesson(lessons, store):
    store.record("xor", 3, done=True)
    app = lesson_app(lessons, store)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, LessonListScreen)
        table = app.screen.query_one("#lesson-table")
        assert table.get_row("xor")[3] == "✓ done"
        assert table.get_row("shapes")[3] == "not started"
        await pilot.press("down", "down", "enter")
        screen = await settle(pilot)
        assert isinstance(screen, LessonScreen) and screen.lesson.id == lessons[2].id
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, LessonListScreen)
        assert app.screen.query_one("#lesson-table").get_row(lessons[2].id)[3] == f"1/{len(lessons[2].steps)}"


async def test_a_broken_lesson_file_is_skipped_with_a_message(monkeypatch, tmp_path, store):
    good = (loader.LESSON_DIR / "shapes.toml").read_text()
    (tmp_path / "shapes.toml").write_text(good)
    (tmp_path / "broken.toml").write_text(good.replace('id = "shapes"', 'id = "broken"').replace(
        'keys = ["space"]', 'keys = ["warp"]', 1))
    monkeypatch.setattr(loader, "LESSON_DIR", tmp_path)
    app = LessonApp(None, store=store)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert [l.id for l in app.lessons] == ["shapes"]
        messages = [n.message for n in app._notifications]
        assert any("broken.toml: step 1 (\"The shapes of the course's network\"): keys: unknown key 'warp'" in m
                   for m in messages), messages
        await pilot.press("enter")
        screen = await settle(pilot)
        assert screen.lesson.id == "shapes"


def test_lesson_screen_snapshot(snap_compare, tmp_path, monkeypatch):
    """The forward-pass lesson after two operations: text, check, the trace of A1 = relu(Z1)
    with the course's numbers, and the outputs table (panels of the lesson's own, so the
    picture changes only when the lesson screen does, or the status line above it)."""
    monkeypatch.setenv("NETSTEP_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("NETSTEP_USER", "snapshot")

    async def ready(pilot):
        await settle(pilot)
        await pilot.press("n", "n")
        await settle(pilot)
        pilot.app.clear_notifications()   # toasts time out: keep the picture independent of timing
        await pilot.pause()

    assert snap_compare(LessonApp("forward"), terminal_size=SIZE, run_before=ready)


async def test_play_pauses_when_the_check_starts_to_hold_then_trains_on(lessons, store):
    store.record("dead-relu", 3, met=[0, 1, 2])
    app = lesson_app(lessons, store, "dead-relu")
    async with app.run_test(size=SIZE) as pilot:
        screen = await settle(pilot)
        s = screen.session
        assert s.index == 3 and not s.met()            # "Fix 1: He initialization"
        await pilot.press("p")
        await settle(pilot)
        first = s.trainer.step_count
        assert s.met() and 0 < first < s.step.max_steps   # paused by itself once 100% was reached
        await pilot.press("p")                          # the check already holds: play runs on...
        await settle(pilot)
        assert s.trainer.step_count == s.step.max_steps  # ...until the step's training budget
        assert any("training steps are used up" in n.message for n in app._notifications)


@pytest.mark.slow
@pytest.mark.parametrize("lesson_id", [l.id for l in load_all()[0]])
async def test_every_lesson_can_be_finished_through_the_screen(lesson_id, lessons, store):
    """What --check does headless, through the screen's own keys and play worker: each
    step's listed keys, pressed until its check holds, then the right arrow."""
    lesson = next(l for l in lessons if l.id == lesson_id)
    app = lesson_app(lessons, store, lesson_id)
    async with app.run_test(size=SIZE) as pilot:
        screen = await settle(pilot)
        s = screen.session
        for index, step in enumerate(lesson.steps):
            assert s.index == index
            for key in step.keys:
                # Press it, and again while a condition it moves is unmet (as a learner would).
                for _ in range(60):
                    await pilot.press({"+": "plus", "-": "minus"}.get(key, key))
                    screen = await settle(pilot)
                    unmet = [n for n, v in s.verdicts() if not v.ok]
                    if not any(key in checks.CONDITIONS[n].keys for n in unmet) or key in ("g", "r"):
                        break
                    if key == "p" and (s.trainer.halted is not None or s.budget_left == 0):
                        break
            assert s.met(), (lesson_id, index + 1, s.verdicts())
            await pilot.press("right")
            screen = await settle(pilot)
        assert store.get(lesson_id).done


async def test_t_sets_the_play_speed_in_a_lesson(lessons, store):
    """Issue 12 item 10: t did nothing in lessons; it is the dashboard's play speed now.
    Lesson keys come from the app's key table, by action."""
    from tui import keys

    app = lesson_app(lessons, store, "training")
    async with app.run_test(size=SIZE) as pilot:
        screen = await settle(pilot)
        actions = {b.action for b in screen.BINDINGS}
        table = {k.action for k in keys.KEYS}
        assert actions - table == {"next_step", "prev_step", "leave"}   # the rest is the table's
        await pilot.press("t")
        screen = await settle(pilot)
        c = screen.session.controller
        assert c.speed == 1000
        await pilot.pause()
        assert "≤1000/s" in screen.query_one("#status-line").render_line(0).text
        await pilot.press("t", "t", "t")
        await settle(pilot)
        assert c.speed is None
        messages = [n.message for n in app._notifications if "play speed" in n.message]
        assert len(messages) == 1 and messages[0] == "play speed: full"
