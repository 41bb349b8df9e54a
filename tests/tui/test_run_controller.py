"""The run controller (tui/run) driven on a thread, without the app: the same object
the dashboard, the operation view and the lessons drive."""

from __future__ import annotations

import dataclasses
import threading
import time

import numpy as np
import pytest

import engine
from tui.run import RunController, Snapshot
from tui.run.controller import SPEEDS

HANG_GUARD = 60.0  # seconds: only so that a broken build fails instead of hanging; never a speed check


def _controller(**changes):
    config = engine.presets["default"].replace(epochs=10**9, **changes)
    return RunController(engine.build(config))


def _wait(condition, what):
    deadline = time.monotonic() + HANG_GUARD
    while not condition():
        assert time.monotonic() < deadline, f"{what} never held"
        time.sleep(0.005)


class Player:
    """The controller's play loop on a thread of its own, as the app's worker runs it."""

    def __init__(self, c):
        self.c = c
        self.reason = None
        c.playing = True
        self.thread = threading.Thread(target=self._run)
        self.thread.start()
        _wait(lambda: c.worker_active or self.reason is not None, "the worker starting")

    def _run(self):
        self.reason = self.c.play_loop()

    def pause(self):
        self.c.playing = False
        self.thread.join(HANG_GUARD)
        assert not self.thread.is_alive()
        return self.reason


def test_a_step_submitted_while_paused_runs_at_once_and_is_exactly_the_engines():
    c = _controller()
    reference = engine.build(c.config)
    fut = c.submit(c.step)
    assert fut.done() and fut.result().ok
    expected = reference.step()
    np.testing.assert_array_equal(c.trainer.net.theta, reference.net.theta)
    snap = c.refresh()
    assert snap.step == 1 and snap.grad_norm == expected.grad_norm
    # The headline loss: full data, at the weights after the step (as `train --json` reports it).
    assert snap.loss == reference.evaluate(record=False)["loss"] != expected.loss
    assert snap.diagnostics["step"] == snap.step


def test_play_pause_and_a_snapshot_requested_while_playing():
    c = _controller()
    player = Player(c)
    _wait(lambda: c.trainer.step_count > 200, "200 steps of play")
    old = c.latest
    c.request_snapshot()
    _wait(lambda: c.latest is not old, "a snapshot taken by the worker")
    snap = c.latest
    assert isinstance(snap, Snapshot) and snap.playing and snap.step > 0
    # Behaviour change (issue 14): while playing, the loss (evaluated at most EVAL_INTERVAL
    # apart) and the diagnostics (DIAG_INTERVAL) name the step they describe, never a later one
    assert snap.loss_step == snap.metrics["step"] <= snap.step and snap.diagnostics["step"] <= snap.step
    assert snap.loss_lags == (snap.loss_step != snap.step)
    with pytest.raises(dataclasses.FrozenInstanceError):
        snap.step = 0
    assert "trainer" not in {f.name for f in dataclasses.fields(snap)}
    assert player.pause() == "paused"
    assert not c.worker_active and not c.latest.playing
    step = c.trainer.step_count
    time.sleep(0.02)
    assert c.trainer.step_count == step   # paused means paused


def test_lr_changed_while_playing_is_applied_between_chunks():
    c = _controller()
    player = Player(c)
    _wait(lambda: c.trainer.step_count > 100, "play")
    fut = c.submit(lambda: c.set_lr(0.25))
    fut.result(timeout=HANG_GUARD)          # ran on the worker, between two chunks
    assert c.trainer.lr == 0.25 and c.config.lr == 0.25
    n = c.trainer.step_count
    _wait(lambda: c.trainer.step_count > n + 50, "play at the new rate")
    player.pause()
    c.request_snapshot()
    assert c.refresh().lr == 0.25 and c.refresh().config.lr == 0.25
    with pytest.raises(ValueError):
        c.submit(lambda: c.set_lr(1e9)).result()   # past the cap: refused, the rate kept
    assert c.trainer.lr == 0.25


def test_rewind_after_a_blow_up_while_playing():
    c = _controller(sizes=[2, 8, 1], hidden="relu", output="linear", loss="mse", lr=20.0)
    player = Player(c)
    player.thread.join(HANG_GUARD)
    assert player.reason == "halted" and c.trainer.halted is not None
    assert c.latest.halted is not None
    # The headline loss is the kept weights' loss (enormous or inf), never an older number.
    kept = c.trainer.evaluate(record=False)["loss"]
    assert c.latest.loss == kept or (np.isinf(kept) and np.isinf(c.latest.loss))
    assert c.latest.loss > 1e6
    halted_at = c.trainer.step_count
    step = c.submit(c.rewind).result()
    assert step < halted_at and c.trainer.halted is None and c.trainer.step_count == step
    assert c.refresh().step == step


def test_speed_is_one_setting_for_every_driver():
    c = _controller()
    assert c.speed is None
    assert c.cycle_speed() == SPEEDS[1] and c.refresh().speed == SPEEDS[1]


def test_a_lesson_drives_the_same_controller_and_its_play_loop():
    from tui.lessons import load_all
    from tui.lessons.session import LessonSession

    lessons = {l.id: l for l in load_all()[0]}
    s = LessonSession(lessons["dead-relu"])
    s.start(1)                              # "train it as the course does": 5000 steps, then stuck
    assert isinstance(s.controller, RunController) and s.controller.watcher is s
    s.headless = False                      # as the lesson screen plays: until the check holds
    reason = s.play()
    assert reason == "met" and s.trainer.step_count == 5000 and s.met()


def _count_evaluations(trainer):
    calls = []
    evaluate = trainer.evaluate

    def counted(*a, **k):
        calls.append(trainer.step_count)
        return evaluate(*a, **k)
    trainer.evaluate = counted
    return calls


def test_a_step_evaluates_the_full_data_once():
    """Up to step 64 the trainer evaluates every step by its schedule: the key's step reuses
    that evaluation (the same numbers) instead of running the forward pass over all the data twice."""
    c = _controller()
    reference = engine.build(c.config)
    calls = _count_evaluations(c.trainer)
    for _ in range(3):
        c.step()
        reference.step()
        assert c.metrics == reference.evaluate(record=False) | {"step": reference.step_count}
    assert calls == [1, 2, 3]
    snap = c.refresh()   # the snapshot finds the metrics current: no evaluation either
    assert calls == [1, 2, 3] and snap.loss == reference.evaluate(record=False)["loss"]


def test_a_step_off_the_schedule_still_shows_the_loss_at_the_new_weights():
    c = _controller()
    for _ in range(70):
        c.step()
    calls = _count_evaluations(c.trainer)
    c.step()                            # step 71: not a scheduled evaluation step
    assert calls == [71] and c.metrics["step"] == 71
    theta = c.trainer.net.theta.copy()
    reference = engine.build(c.config)
    reference.net.theta[...] = theta
    assert c.metrics["loss"] == reference.evaluate(record=False)["loss"]


def test_playing_evaluates_only_for_the_snapshots():
    """While playing, the full data is evaluated for each snapshot the UI asks for (at most
    TICK_HZ a second) and when play stops: not on a timer of its own."""
    c = _controller()
    for _ in range(70):
        c.step()          # past the every-step part of the schedule
    calls = _count_evaluations(c.trainer)
    player = Player(c)
    _wait(lambda: c.trainer.step_count > 3000, "3000 steps of play")
    old = c.latest
    c.request_snapshot()
    _wait(lambda: c.latest is not old, "a snapshot taken by the worker")
    player.pause()
    from engine.history import is_eval_step
    unscheduled = [s for s in calls if not is_eval_step(s)]
    assert len(unscheduled) <= 3    # the requested snapshot, the stop, the final snapshot


def test_diagnostics_while_playing_are_measured_at_most_every_diag_interval_and_name_their_step(monkeypatch):
    """Behaviour change (issue 14): playing, a snapshot within DIAG_INTERVAL of the last
    measurement carries it (its "step" says which step it describes) instead of measuring
    again on the training thread; paused, every snapshot measures its own step."""
    import engine.diagnostics
    import tui.run.controller as controller

    clock = [1000.0]
    monkeypatch.setattr(controller.time, "perf_counter", lambda: clock[0])
    c = _controller()
    reference = engine.build(c.config)
    c.playing = True                         # as the worker's snapshots are taken
    clock[0] += controller.DIAG_INTERVAL     # the step-0 measurement (at start) is old by now
    c.step()
    reference.step()
    first = c.refresh()
    assert first.step == 1 and first.diagnostics["step"] == 1
    assert first.diagnostics == engine.diagnostics.measure(reference).to_dict()
    c.step()
    carried = c.refresh()                    # no time has passed: the step-1 measurement stands
    assert carried.step == 2 and carried.diagnostics["step"] == 1
    assert carried.diagnostics == first.diagnostics
    assert carried.metrics["step"] == 2      # the headline loss is still the snapshot's own
    clock[0] += controller.DIAG_INTERVAL
    c.step()
    fresh = c.refresh()
    assert fresh.step == 3 and fresh.diagnostics["step"] == 3
    c.step()
    c.playing = False                        # paused: measured at once, whatever the clock
    paused = c.refresh()
    assert paused.step == 4 and paused.diagnostics["step"] == 4


def _off_schedule(trainer):
    """Step the trainer until its next step is not one it evaluates by itself."""
    from engine.history import is_eval_step
    while is_eval_step(trainer.step_count + 1):
        trainer.step()


def test_playing_evaluates_for_snapshots_at_most_every_eval_interval(monkeypatch):
    """Behaviour change (issue 14): playing, a snapshot within EVAL_INTERVAL of the last
    evaluation for a snapshot carries its metrics (loss_step says which step) or the trainer's
    own newer scheduled evaluation, instead of evaluating the full data on every frame;
    paused, every snapshot's loss is at its own step."""
    import tui.run.controller as controller
    from engine.history import is_eval_step

    clock = [1000.0]
    monkeypatch.setattr(controller.time, "perf_counter", lambda: clock[0])
    c = _controller()
    t = c.trainer
    for _ in range(2000):
        t.step()
    _off_schedule(t)
    c.refresh()
    c.playing = True                          # as the worker's snapshots are taken
    calls = _count_evaluations(t)
    clock[0] += controller.EVAL_INTERVAL      # the paused evaluation is old by now
    t.step()
    first = c.refresh()
    assert calls == [first.step] and first.loss_step == first.step and not first.loss_lags
    _off_schedule(t)
    t.step()
    carried = c.refresh()                     # no time has passed: the last evaluation stands
    assert carried.step > first.step and carried.loss_step == first.step and carried.loss_lags
    assert carried.loss == first.loss and calls == [first.step]
    while not is_eval_step(t.step_count + 1):
        t.step()
    t.step()                                  # the trainer evaluates this step by its schedule
    scheduled = t.step_count
    assert calls[-1] == scheduled
    t.step()
    adopted = c.refresh()                     # its numbers are newer: taken, at no cost
    assert adopted.loss_step == scheduled == adopted.step - 1 and calls[-1] == scheduled
    assert adopted.metrics == t.evaluated
    reference = engine.build(c.config)
    for _ in range(scheduled):
        reference.step()
    assert adopted.loss == reference.evaluate(record=False)["loss"]
    clock[0] += controller.EVAL_INTERVAL
    _off_schedule(t)
    t.step()
    fresh = c.refresh()
    assert fresh.loss_step == fresh.step and calls[-1] == fresh.step
    _off_schedule(t)
    t.step()
    c.playing = False                          # paused: evaluated at once, whatever the clock
    paused = c.refresh()
    assert paused.loss_step == paused.step and not paused.loss_lags and calls[-1] == paused.step


class _Watcher:
    """A lesson's watcher: a stop every 25 steps; records the metrics' step at each stop."""

    def __init__(self, c):
        self.c, self.seen = c, []

    def next_stop(self, step_count):
        return (step_count // 25 + 1) * 25

    def at_stop(self):
        self.seen.append((self.c.trainer.step_count, self.c.metrics["step"]))
        return "met" if len(self.seen) >= 40 else None


def test_at_a_watchers_stop_the_metrics_are_of_that_step():
    """A lesson's check at a stop reads the controller's metrics: they are of the step it
    stops at, although snapshots while playing evaluate only every EVAL_INTERVAL."""
    c = _controller()
    w = c.watcher = _Watcher(c)
    player = Player(c)
    _wait(lambda: player.reason is not None, "the watcher's stop")
    assert player.pause() == "met"
    assert len(w.seen) == 40 and all(step == at for step, at in w.seen)


def test_playing_the_curve_is_taken_at_most_every_curve_interval(monkeypatch):
    """Behaviour change (issue 14): playing, a snapshot within CURVE_INTERVAL of the last
    curve carries it (curve.n_steps names its last step); paused, or after a rewind, it is
    the history's curve as it stands."""
    import tui.run.controller as controller

    clock = [1000.0]
    monkeypatch.setattr(controller.time, "perf_counter", lambda: clock[0])
    c = _controller()
    t = c.trainer
    c.playing = True
    clock[0] += controller.CURVE_INTERVAL
    t.step()
    first = c.refresh()
    assert first.curve.n_steps == first.step == 1
    t.step()
    carried = c.refresh()
    assert carried.step == 2 and carried.curve is first.curve and carried.curve.n_steps == 1
    clock[0] += controller.CURVE_INTERVAL
    fresh = c.refresh()
    assert fresh.curve.n_steps == fresh.step == 2
    t.step()
    c.playing = False
    paused = c.refresh()
    assert paused.curve.n_steps == paused.step == 3 and paused.curve is t.history.curve()
    c.playing = True
    c.refresh()
    step = c.rewind()                           # as a queued command does between chunks
    rewound = c.refresh()                       # no time has passed, but the history was cut back
    assert rewound.curve.n_steps == rewound.step == step and rewound.curve is t.history.curve()
