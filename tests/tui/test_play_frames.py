"""While playing, a frame shows the status line; the other panels draw from the UI thread's CPU credit.

The UI thread's CPU is training time lost (it holds the GIL the training thread needs), so
tui/app.py draws the panels other than the status line only while the UI thread has spent
less than UI_BUDGET of a core, and each at least every MAX_WAIT seconds."""

from __future__ import annotations

import tui.app
from tests.tui.app_helpers import make_app, status, text_of, wait_for
from tui.widgets.status.status_bar import StatusBar


def _others(app):
    return [p for p in app.panels() if not isinstance(p, StatusBar) and p.display]


async def test_without_credit_only_the_status_line_moves_while_playing(monkeypatch):
    monkeypatch.setattr(tui.app, "UI_BUDGET", 0.0)     # no credit ever
    monkeypatch.setattr(tui.app, "MAX_WAIT", 1e9)
    app = make_app(epochs=10**9)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("p")
        await wait_for(pilot, lambda: app.state.latest.playing, "the first playing snapshot")
        drawn = {p: p._drawn for p in _others(app)}
        frames, seen = app.frames, set()
        while app.frames < frames + 6:
            seen.add(status(app).split("step ")[1].split()[0])
            await pilot.pause(0.02)
        assert len(seen) >= 3, "the status line's step moved frame by frame"
        assert {p: p._drawn for p in _others(app)} == drawn, "no other panel drew without credit"
        await pilot.press("p")
        await wait_for(pilot, lambda: not app.state.worker_active, "pause")
        await pilot.pause()
        final = app.state.latest
        assert not final.playing
        # Paused, every panel shows the final snapshot at once.
        assert all(p._drawn == (final.run_id, final.version) for p in _others(app))
        assert f"step {final.step:,}" in status(app)


async def test_with_credit_the_panels_move_while_playing(monkeypatch):
    monkeypatch.setattr(tui.app, "UI_BUDGET", 10.0)    # more than a core: always credit
    app = make_app(epochs=10**9)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("p")
        await wait_for(pilot, lambda: app.state.latest.playing, "the first playing snapshot")
        loss = app.screen.query_one("#loss")
        start = loss._drawn
        await wait_for(pilot, lambda: loss._drawn != start and app.state.latest.playing, "the loss panel drawn")
        await pilot.press("p")


async def test_a_panel_waits_at_most_max_wait(monkeypatch):
    monkeypatch.setattr(tui.app, "UI_BUDGET", 0.0)
    monkeypatch.setattr(tui.app, "MAX_WAIT", 0.3)
    app = make_app(epochs=10**9)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("p")
        await wait_for(pilot, lambda: app.state.latest.playing, "the first playing snapshot")
        loss = app.screen.query_one("#loss")
        start = loss._drawn
        await wait_for(pilot, lambda: loss._drawn != start, "the loss panel drawn after MAX_WAIT")
        await pilot.press("p")


async def test_while_playing_the_loss_numbers_say_the_step_they_are_of(monkeypatch):
    """Behaviour change (issue 14): playing, the full data is evaluated at most every
    EVAL_INTERVAL, so the status line says "at step N:" before the loss and the loss panel's
    title "(all data at step N)"; the numbers are the engine's at that step."""
    import engine
    import tui.run.controller as controller
    from tui.fmt import num

    monkeypatch.setattr(tui.app, "UI_BUDGET", 10.0)            # every panel draws
    monkeypatch.setattr(controller, "EVAL_INTERVAL", 1e9)      # only the trainer's own evaluations
    app = make_app(epochs=10**9)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("p")
        await wait_for(pilot, lambda: app.state.trainer.step_count > 3000, "3000 steps of play")
        loss = app.screen.query_one("#loss")
        await wait_for(pilot, lambda: app.state.latest.loss_lags and "at step" in str(loss.border_title),
                       "a frame whose loss is of an earlier step")
        line = status(app)                      # both read in one go: the event loop draws between awaits
        title = str(loss.border_title)
        key = text_of(app.screen.query_one("#loss-key")).replace("━", " ")
        await pilot.press("p")
    shown = int(line.split("step ")[1].split()[0].replace(",", ""))
    at = int(line.split("at step ")[1].split(":")[0].replace(",", ""))
    assert at < shown
    config = engine.presets["default"].replace(epochs=10**9)

    def loss_at(step):
        t = engine.build(config)
        for _ in range(step):
            t.step()
        return t.evaluate(record=False)["loss"]
    assert f"train loss {num(loss_at(at), 9, 4)}" in line
    key_at = int(title.split("at step ")[1].split(")")[0].replace(",", ""))
    assert f"loss {loss_at(key_at):.4g}" in key


async def test_with_credit_to_spare_the_status_line_still_moves(monkeypatch):
    """However much credit, a panel takes at most every other frame: the step counter moves."""
    monkeypatch.setattr(tui.app, "UI_BUDGET", 10.0)
    app = make_app(epochs=10**9)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("p")
        await wait_for(pilot, lambda: app.state.latest.playing, "the first playing snapshot")
        seen = set()
        await wait_for(pilot, lambda: seen.add(status(app).split("step ")[1].split()[0]) or len(seen) >= 4,
                       "the status line's step moving while panels draw")
        await pilot.press("p")


async def test_no_panel_shows_a_newer_snapshot_than_the_status_line(monkeypatch):
    """A panel frame draws the snapshot the status line shows: the status line's step is
    never behind a panel's (a panel one frame ahead said "at step N" past the status line's)."""
    monkeypatch.setattr(tui.app, "UI_BUDGET", 10.0)
    app = make_app(epochs=10**9)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("p")
        await wait_for(pilot, lambda: app.state.latest.playing, "the first playing snapshot")
        bar = app.screen.query_one(StatusBar)
        panel_frames = 0
        for _ in range(60):
            await pilot.pause(0.03)
            others = [p._drawn for p in _others(app) if p._drawn is not None]
            assert all(d <= bar._drawn for d in others), (bar._drawn, others)
            panel_frames += app._panel_frame
        assert panel_frames >= 3
        await pilot.press("p")
