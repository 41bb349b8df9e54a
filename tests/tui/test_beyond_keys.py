"""The app keys of issue 17: C (compare variants), x (the space a layer makes), S (share), E (export as code)."""

from __future__ import annotations

import base64
import subprocess
import sys

import pytest

import engine
from engine import race, share
from tests.tui.app_helpers import make_app, text_of, wait_for
from tui.screens.compare import CompareScreen
from tui.screens.layer_space import LayerSpaceScreen
from tui.screens.main import MainScreen
from tui.screens.share import ShareScreen


async def _open_compare(pilot, app):
    await pilot.press("C")
    await wait_for(pilot, lambda: isinstance(app.screen, CompareScreen), "the compare screen")
    return app.screen


async def test_space_steps_every_variant_and_the_table_equals_netstep_race():
    app = make_app("spiral", epochs=6)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("space")                     # the dashboard's run moves on its own ...
        screen = await _open_compare(pilot, app)
        assert screen.field == "optimizer" and screen.values == ["sgd", "momentum", "adam", "rmsprop"]
        for _ in range(6):
            await pilot.press("space")
        await pilot.pause()
        assert [t.step_count for t in screen.lockstep.trainers] == [6, 6, 6, 6]
        config = app.state.config
        expected = race.run(race.variants(config, "optimizer", screen.values), target=1.0)
        assert list(screen.view.rows) == expected
        table = text_of(screen.query_one("#cmp-table"))
        for row in expected:
            assert f"{row['loss']:.4g}" in table and f"{row['accuracy'] * 100:.1f}%" in table
        assert "step 6" in text_of(screen.query_one("#cmp-head"))
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, MainScreen), "the dashboard")
        assert app.state.trainer.step_count == 1            # ... and is left as it was


async def test_p_plays_every_variant_to_the_runs_epochs_with_race_numbers():
    app = make_app("default", epochs=120)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await _open_compare(pilot, app)
        await pilot.press("f")                               # optimizer -> lr: lr/4, lr, 4 lr
        assert screen.field == "lr"
        await pilot.press("p")
        await wait_for(pilot, lambda: screen._worker is not None and screen._worker.is_finished
                       and not screen.playing, "play to stop at the run's epochs")
        await pilot.pause()
        assert [t.step_count for t in screen.lockstep.trainers] == [120, 120, 120]
        expected = race.run(race.variants(app.state.config, "lr", screen.values), target=1.0)
        assert list(screen.view.rows) == expected
        assert any(r["steps_to_target"] for r in expected)
        assert app.state.trainer.step_count == 0


async def test_typed_values_make_the_race_and_a_bad_list_is_one_line():
    app = make_app("circles")
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await _open_compare(pilot, app)
        await pilot.press("e")
        box = screen.query_one("#cmp-values")
        box.value = "0.01"
        await pilot.press("enter")
        error = text_of(screen.query_one("#cmp-error"))
        assert "2 to 4 values" in error and screen.values[0] == "sgd"   # the race is unchanged
        box.value = "0.01,0.2"
        await pilot.press("enter")
        await pilot.pause()
        assert screen.field == "optimizer"
        await pilot.press("escape")
        await pilot.press("f", "e")
        box.value = "0.01,0.2"
        await pilot.press("enter")
        await pilot.pause()
        assert screen.field == "lr" and screen.values == ["0.01", "0.2"]
        assert len(screen.view.rows) == 2 and not screen.query_one("#cmp-error").display
        await pilot.press("space")
        assert [t.step_count for t in screen.lockstep.trainers] == [1, 1]


async def test_layer_space_follows_the_layer_keys_and_the_run():
    app = make_app("circles", sizes=[2, 8, 2, 1])
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("x")
        await wait_for(pilot, lambda: isinstance(app.screen, LayerSpaceScreen) and app.screen.space is not None,
                       "the first projection")
        screen = app.screen
        assert screen.space.layer == 1 and screen.space.mode == "pca"
        assert "PC1" in text_of(screen.query_one("#ls-head"))
        await pilot.press("m")
        await wait_for(pilot, lambda: screen.space.mode == "units", "units as axes")
        assert screen.space.axes == ("A1[0]", "A1[1]")
        await pilot.press("full_stop")
        await wait_for(pilot, lambda: screen.space.axes == ("A1[0]", "A1[2]"), "the next pair")
        await pilot.press("right_square_bracket")
        await wait_for(pilot, lambda: screen.space.layer == 2, "layer 2")
        before = screen.space.separable
        await pilot.press("p")                     # the dashboard's run trains under the view, to its 300 epochs
        await wait_for(pilot, lambda: app.state.latest.step >= 300 and not app.state.worker_active, "training")
        step = app.state.trainer.step_count
        await wait_for(pilot, lambda: screen._key is not None and screen._key[1] == app.state.latest.version,
                       "the projection of the paused run")
        assert screen.space.separable == 1.0 and before < 1.0
        assert "one straight line separates" in text_of(screen.query_one("#ls-head"))
        assert f"step {step}" in text_of(screen.query_one("#ls-head"))
        await pilot.press("left_square_bracket", "left_square_bracket", "left_square_bracket")
        await wait_for(pilot, lambda: screen.space.layer == 0, "the input plane")
        assert screen.space.separable < 1.0


async def test_x_on_data_that_is_not_2d_says_so():
    pytest.importorskip("sklearn")   # the digits data set (8x8 images: 64 inputs)
    app = make_app("digits")
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("x")
        await pilot.pause()
        assert isinstance(app.screen, MainScreen)
        assert any("2-D data" in str(n.message) for n in app._notifications)


async def test_s_shows_the_share_string_and_writes_osc_52():
    app = make_app("circles", lr=0.03)
    async with app.run_test(size=(120, 40)) as pilot:
        written = []
        driver_write = app._driver.write
        app._driver.write = lambda data: (written.append(data), driver_write(data))[1]
        await pilot.press("space", "space")
        await pilot.press("S")
        await wait_for(pilot, lambda: isinstance(app.screen, ShareScreen), "the share dialog")
        text = share.encode(app.state.config, steps=2)
        assert f"\x1b]52;c;{base64.b64encode(text.encode()).decode()}\a" in written
        shown = text_of(app.screen.query_one("#share-string")).replace("\n", "")
        assert shown == text
        config, steps = share.decode(shown)
        assert config == app.state.config and steps == 2
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, MainScreen), "the dashboard")


async def test_e_writes_the_run_as_a_script_that_runs(tmp_path):
    app = make_app("default", epochs=40)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("space", "space", "space")
        await pilot.press("E")
        await pilot.pause()
        target = tmp_path / "net.py"
        app.screen.query_one("#prompt-input").value = str(target)
        await pilot.press("enter")
        await wait_for(pilot, target.exists, "the script")
        assert any(f"wrote {target}" in str(n.message) for n in app._notifications)
        assert not [p for p in tmp_path.iterdir() if p.name != "net.py"]   # no temp file left behind
        # Again to the same name: refused in one line, the file kept.
        mtime = target.stat().st_mtime_ns
        await pilot.press("E")
        await pilot.pause()
        app.screen.query_one("#prompt-input").value = str(target)
        await pilot.press("enter")
        await wait_for(pilot, lambda: any("already exists" in str(n.message) for n in app._notifications),
                       "the refusal")
        assert target.stat().st_mtime_ns == mtime
    out = subprocess.run([sys.executable, "-I", str(target)], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    trainer = engine.build(engine.presets["default"].replace(epochs=40))
    trainer.fit(40)
    assert abs(float(out.stdout.strip().splitlines()[-1]) - trainer.evaluate()["loss"]) < 1e-9
