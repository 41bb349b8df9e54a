"""engine.scenarios: each demo's claims, asserted on its fixed seeds."""

import json

import numpy as np
import pytest

import engine
from engine import diagnostics, scenarios

_cache = {}


def result(name):
    if name not in _cache:
        _cache[name] = scenarios.run(name)
    return _cache[name]


def runs(name):
    return {r.label: r for r in result(name).runs}


@pytest.mark.parametrize("name", scenarios.NAMES)
def test_contract_shape_and_json(name):
    d = result(name).to_dict()
    assert set(d) == {"name", "broken", "fixed", "explanation"} and d["name"] == name
    for side in ("broken", "fixed"):
        assert set(d[side]) == {"config", "metrics"}
        assert {"loss", "accuracy"} <= set(d[side]["metrics"])
        assert 0.0 <= d[side]["metrics"]["accuracy"] <= 1.0
        engine.RunConfig.from_dict(d[side]["config"])  # a real, valid run description
    assert len(d["explanation"]) > 200
    json.dumps(d, allow_nan=False)


def test_the_registry_lists_the_contract_names():
    assert scenarios.NAMES == ("dead-relu", "exploding", "vanishing", "symmetry", "saturation", "gradcheck-bug")
    with pytest.raises(KeyError, match="allowed: dead-relu"):
        scenarios.run("nope")


def test_runs_are_reproducible():
    assert scenarios.run("symmetry").to_dict() == result("symmetry").to_dict()


# ----- dead-relu ----------------------------------------------------------------------------

def test_dead_relu_course_run_unit_2_is_dead_on_all_four_inputs_from_step_0():
    t = engine.build(engine.presets["seed"])
    assert diagnostics.measure(t).layer(1).dead_units == [2]
    for _ in range(t.config.epochs):
        t.step()
        Z1 = t.last.cache["Z1"]
        assert np.all(Z1[:, 1] <= 0)          # unit h2: never positive, so output 0, slope 0
    _, cache = t.net.forward(t.X)
    assert np.all(cache["Z1"][:, [0, 2]] > 0)  # the other two: active on every input (linear)
    assert np.abs(cache["A2"] - 0.5).max() < 1e-4
    assert t.evaluate()["accuracy"] == 0.5


def test_dead_relu_claims():
    r = runs("dead-relu")
    course, high = r["course run"].metrics, r["wide, lr 5"].metrics
    assert r["course run"].role == "broken" and result("dead-relu").broken is r["course run"]
    assert course["dead_units"] == [2] and course["dead_fraction_start"] == pytest.approx(1 / 3)
    assert course["always_active_units"] == 2 and course["output_distance_from_half"] < 1e-4
    assert course["accuracy"] == 0.5
    assert high["dead_fraction"] >= 0.4 and high["dead_fraction"] > high["dead_fraction_start"]
    assert high["accuracy"] < 1.0 and high["all_dead_at_step"] <= 10
    for fix in ("He init", "wide, lr 1", "wide, leaky"):
        assert r[fix].role == "fixed" and r[fix].metrics["accuracy"] == 1.0
    assert r["wide, lr 1"].metrics["dead_fraction"] < high["dead_fraction"]
    assert r["wide, leaky"].metrics["dead_fraction"] == 0.0
    # The JSON carries the wide runs' numbers too, under their prefixes.
    d = result("dead-relu").to_dict()
    assert d["broken"]["metrics"]["high_lr_dead_fraction"] == high["dead_fraction"]
    assert d["fixed"]["metrics"]["leaky_accuracy"] == 1.0


# ----- exploding ------------------------------------------------------------------------------

def test_exploding_grows_1000x_within_a_few_dozen_steps_and_the_guard_keeps_the_weights():
    cfg = scenarios.EXPLODING
    assert len(cfg.sizes) - 1 >= 8
    t = engine.build(cfg)
    norms, prev = [], None
    with np.errstate(all="ignore"):
        for _ in range(100):
            prev = t.net.theta.copy()
            r = t.step()
            if not r.ok:
                break
            norms.append(r.grad_norm)
    assert t.halted is not None and r.nonfinite is t.halted
    first_1000x = next(i for i, g in enumerate(norms, 1) if g >= 1000 * norms[0])
    assert first_1000x <= 36
    assert np.isfinite(t.net.theta).all() and np.array_equal(t.net.theta, prev)
    assert t.halted.step == len(norms) + 1 and t.step_count == len(norms)
    m = runs("exploding")["lr 1"].metrics
    assert m["weights_kept"] and m["weights_finite"] and m["growth"] >= 1000 and m["step_of_1000x"] == first_1000x


def test_exploding_fixes_stay_finite_and_converge():
    for label in ("lr 1, clip 1", "lr 0.1"):
        m = runs("exploding")[label].metrics
        assert m["weights_finite"] and "halted_at_step" not in m
        assert m["accuracy"] == 1.0 and m["loss"] < 0.01 and m["steps"] == scenarios.EXPLODING.epochs
    assert runs("exploding")["lr 1, clip 1"].metrics["clipped_steps"] > 0


def test_guard_refusal_with_an_overflowing_gradient_norm_resumes_after_clipping():
    # Seed 6 diverges more slowly: every gradient entry stays finite, only ||g||^2 overflows.
    t = engine.build(scenarios.EXPLODING.replace(seed=6))
    with np.errstate(all="ignore"):
        while t.step().ok:
            pass
        assert t.halted.quantity == "gradient norm" and t.halted.phase == "backward"
        assert "clipping" in t.halted.message
        kept = t.net.theta.copy()
        assert not t.step().ok and np.array_equal(t.net.theta, kept)  # nothing changes without a change
        t.clip = 1.0
        for _ in range(20):
            r = t.step()
            assert r.ok and r.clipped
    assert t.halted is None and np.isfinite(t.net.theta).all()


def test_guard_message_for_weights_too_large_to_continue_says_to_reset():
    t = engine.build(scenarios.EXPLODING)
    with np.errstate(all="ignore"):
        while t.step().ok:
            pass
    assert t.halted.phase == "forward" and t.halted.quantity.startswith("Z")
    assert "rewind" in t.halted.message


# ----- vanishing -----------------------------------------------------------------------------

def test_vanishing_claims():
    assert len(scenarios.VANISHING.sizes) - 1 >= 8 and scenarios.VANISHING.hidden == "sigmoid"
    r = runs("vanishing")
    b = r["sigmoid+Xavier"].metrics
    assert b["grad_ratio_first_last"] < 1e-3
    assert b["first_layer_change"] < 1e-3 and b["accuracy"] < 0.6
    for fix in ("relu+He", "tanh+Xavier"):
        m = r[fix].metrics
        assert 0.1 <= m["grad_ratio_first_last"] <= 10
        assert m["accuracy"] >= 0.95
    assert "vanishing" in b["warnings"] and r["relu+He"].metrics["warnings"] == ""


# ----- symmetry -------------------------------------------------------------------------------

def test_symmetry_claims():
    r = runs("symmetry")
    assert r["zeros"].config.init == "zeros"
    for label in ("zeros", "all 0.5"):
        m = r[label].metrics
        assert m["max_unit_difference"] < 1e-12 and m["accuracy"] < 1.0
    assert r["all 0.5"].metrics["weights_moved"] > 1.0  # they learn, yet stay identical
    fixed = r["Xavier"].metrics
    assert fixed["accuracy"] == 1.0 and fixed["max_unit_difference"] > 1e-3


def test_zero_init_units_identical_after_training_directly():
    t = engine.build(engine.presets["default"].replace(init="zeros"))
    t.fit(t.config.epochs)
    W1, b1, W2 = t.net.params["W1"], t.net.params["b1"], t.net.params["W2"]
    for j in range(1, W1.shape[1]):
        assert np.abs(W1[:, j] - W1[:, 0]).max() < 1e-12
        assert abs(b1[0, j] - b1[0, 0]) < 1e-12 and abs(W2[j, 0] - W2[0, 0]) < 1e-12
    assert t.evaluate()["accuracy"] < 1.0


# ----- saturation ------------------------------------------------------------------------------

def test_saturation_claims():
    r = runs("saturation")
    broken = result("saturation").broken
    assert broken.config.init == "xavier" and broken.metrics["init_multiplier"] > 1 and broken.setup
    b = broken.metrics
    assert b["saturated_start"] >= 0.9 and b["saturated"] >= 0.9
    assert b["loss_drop"] < 0.05 and b["accuracy"] <= 0.6
    f = r["Xavier"].metrics
    assert f["saturated_start"] < 0.1 and f["loss_drop"] > 0.5 and f["accuracy"] >= 0.95
    assert "saturated" in b["warnings"] and "saturated" not in f["warnings"]


# ----- gradcheck-bug ---------------------------------------------------------------------------

def test_gradcheck_bug_claims():
    b = result("gradcheck-bug").broken.metrics
    f = result("gradcheck-bug").fixed.metrics
    assert not b["passed"] and 0.5 < b["max_error"] < 0.9
    assert b["norm_error"] == pytest.approx(0.6, abs=0.02)
    assert {"W2", "b2"} <= set(b["failing"].split(", "))
    assert b["analytic_over_numeric"] == pytest.approx(4.0, rel=0.01)
    assert f["passed"] and f["max_error"] < 1e-7


def test_course_backward_fails_the_check_and_the_engine_backward_passes():
    t = engine.build(engine.presets["seed"])
    bad = engine.gradcheck(t.net, t.X, t.Y, t.loss, backward=scenarios.course_backward)
    good = engine.gradcheck(t.net, t.X, t.Y, t.loss)
    assert not bad.passed and bad.errors["b2"] > 0.5 and good.passed
    # The engine's own backward is not the course's: they differ exactly by the sigmoid's slope.
    _, cache = t.net.forward(t.X)
    ours = t.net.backward(cache, t.Y, t.loss)
    theirs = scenarios.course_backward(t.net, cache, t.Y)
    A2 = cache["A2"]
    assert np.allclose(ours["db2"], np.mean((A2 - t.Y) * A2 * (1 - A2), keepdims=True), rtol=1e-12)
    assert not np.allclose(ours["db2"], theirs["db2"])
