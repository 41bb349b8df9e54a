"""The config form: every RunConfig field, validated inline; applying rebuilds the run."""

from __future__ import annotations

import engine
from tests.tui.app_helpers import make_app, text_of, wait_for
from tui.screens.config_form import ConfigForm, parse_options, validate

SIZE = (120, 40)


async def open_form(pilot):
    await pilot.press("c")
    await pilot.pause()
    assert isinstance(pilot.app.screen, ConfigForm)
    return pilot.app.screen


def test_the_form_has_every_runconfig_field():
    base = engine.presets["default"]
    values = {name: "" for name in engine.RunConfig.fields()}
    assert set(values) == set(engine.RunConfig.fields())
    # and unchanged text validates to the same config
    from tui.screens.config_form import to_text
    errors, config = validate({n: to_text(n, getattr(base, n)) for n in engine.RunConfig.fields()}, base)
    assert errors == {}
    assert config.to_dict() == base.to_dict()


def test_validate_reports_every_bad_field_at_once():
    base = engine.presets["default"]
    errors, config = validate({"lr": "fast", "epochs": "-3", "init": "xavier", "sizes": "2,x,1"}, base)
    assert config is None
    assert set(errors) == {"lr", "epochs", "sizes"}
    assert "lr" in errors["lr"] and "positive" in errors["lr"]


def test_dataset_options_text():
    assert parse_options("noise=0.2, n_samples=200") == {"noise": 0.2, "n_samples": 200}
    assert parse_options("") == {}


async def test_form_shows_inline_errors_and_refuses_to_apply():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        form = await open_form(pilot)
        for name in engine.RunConfig.fields():
            assert form.query_one(f"#field-{name}")  # one control per field
        form.query_one("#field-lr").value = "abc"
        await pilot.pause()
        hint = text_of(form.query_one("#err-lr"))
        assert "lr" in hint and "positive number" in hint
        assert form.query_one("#row-lr").has_class("-error")
        assert form.query_one("#form-apply").disabled
        await form.action_apply()  # enter / ctrl+enter: refused with a message, the form stays
        await pilot.pause()
        assert isinstance(app.screen, ConfigForm)
        assert any("1 field needs fixing" in n.message for n in app._notifications)  # was "1 field need fixing"
        assert app.state.trainer.lr == 1.0


async def test_form_applies_a_valid_config_and_rebuilds_the_run():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("space")
        form = await open_form(pilot)
        form.query_one("#field-sizes").value = "2,8,1"
        form.query_one("#field-lr").value = "0.5"
        form.query_one("#field-seed").value = "7"
        form.query_one("#field-batch_size").value = ""
        await pilot.pause()
        assert not form.query_one("#form-apply").disabled
        await pilot.click("#form-apply")
        await wait_for(pilot, lambda: not isinstance(app.screen, ConfigForm), "the form closing")
        trainer = app.state.trainer
        assert trainer.net.sizes == [2, 8, 1]
        assert trainer.lr == 0.5 and trainer.config.seed == 7
        assert trainer.step_count == 0
        expected = engine.build(engine.presets["default"].replace(sizes=[2, 8, 1], lr=0.5, seed=7))
        assert (trainer.net.theta == expected.net.theta).all()
        assert "2-8-1" in app.screen.query_one("#network").border_title


async def test_cross_field_errors_land_on_their_fields():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        form = await open_form(pilot)
        form.query_one("#field-output").value = "linear"  # bce needs outputs in 0..1
        await pilot.pause()
        assert "between 0 and 1" in text_of(form.query_one("#err-loss"))
        form.query_one("#field-output").value = "sigmoid"
        form.query_one("#field-hidden").value = "relu,tanh"  # two names, one hidden layer
        await pilot.pause()
        assert "hidden" in form.errors and "hidden layers" in text_of(form.query_one("#err-hidden"))
        assert "loss" not in form.errors
        form.query_one("#field-sizes").value = "2,4,4,1"
        await pilot.pause()
        assert form.errors == {}
        await form.action_apply()
        await pilot.pause()
        assert app.state.trainer.net.hidden == ["relu", "tanh"]


async def test_a_run_that_cannot_be_built_keeps_the_form_open(tmp_path):
    app = make_app()
    missing = tmp_path / "nope.csv"
    async with app.run_test(size=SIZE) as pilot:
        form = await open_form(pilot)
        form.query_one("#field-dataset").value = f"csv:{missing}"
        await pilot.pause()
        await form.action_apply()
        await pilot.pause()
        assert isinstance(app.screen, ConfigForm)
        assert "nope.csv" in text_of(form.query_one("#err-dataset"))
        assert app.state.trainer.data.name == "xor"
        await pilot.press("escape")
        assert not isinstance(app.screen, ConfigForm)


async def test_escape_cancels_without_changes():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        form = await open_form(pilot)
        form.query_one("#field-lr").value = "0.1"
        await pilot.press("escape")
        await pilot.pause()
        assert app.state.trainer.lr == 1.0
