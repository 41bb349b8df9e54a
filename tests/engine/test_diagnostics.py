"""engine.diagnostics: every per-layer number checked against an independent computation,
each warning raised where its pathology is and silent on healthy runs."""

import json
import math

import numpy as np
import pytest

import engine
from engine import diagnostics as D


def xor_net(hidden="relu", sizes=(2, 3, 1), init="small", seed=42, loss="mse", lr=0.5, **kw):
    cfg = engine.presets["seed"].replace(sizes=list(sizes), hidden=hidden, init=init, seed=seed, loss=loss, lr=lr, **kw)
    return engine.build(cfg)


def codes(report, severities=("error", "warning")):
    return {w.code for w in report.warnings if w.severity in severities}


# ----- the numbers ---------------------------------------------------------------------------

def test_seed_preset_at_step_0_shows_the_dead_unit_and_the_weak_signal():
    t = engine.build(engine.presets["seed"])
    r = D.measure(t)
    assert r.step == 0 and r.activations == "train" and r.examples == 4
    h = r.layer(1)
    assert h.dead_units == [2] and h.dead == pytest.approx(1 / 3)
    assert h.saturated is None and r.layer(2).dead is None
    assert "weak_signal" in codes(r)
    dead = [w for w in r.warnings if w.code == "dead"]
    assert len(dead) == 1 and dead[0].severity == "info" and "unit 2" in dead[0].message


def test_gradient_update_and_activation_numbers_match_an_independent_computation():
    t = xor_net(hidden="tanh", sizes=(2, 5, 4, 1), init="xavier", seed=3, loss="bce", lr=0.7)
    for _ in range(3):
        t.step()
    before = t.net.copy()
    _, cache = before.forward(t.X)
    grads = before.backward(cache, t.Y, t.loss)
    t.step()
    r = D.measure(t)
    assert r.step == 4 and r.activations == "batch" and not r.clipped
    assert r.grad_norm == pytest.approx(math.sqrt(sum(np.sum(g * g) for g in grads.values())), rel=1e-12)
    for l in (1, 2, 3):
        row = r.layer(l)
        W_new, W_old = t.net.params[f"W{l}"], before.params[f"W{l}"]
        assert row.grad_norm_W == pytest.approx(np.linalg.norm(grads[f"dW{l}"]), rel=1e-12)
        assert row.grad_norm_b == pytest.approx(np.linalg.norm(grads[f"db{l}"]), rel=1e-12)
        assert row.weight_norm == pytest.approx(np.linalg.norm(W_new), rel=1e-12)
        assert row.update_ratio == pytest.approx(np.linalg.norm(W_new - W_old) / np.linalg.norm(W_new), rel=1e-9)
        # Activations of the step's own forward pass (the weights before its update).
        assert row.act_mean == pytest.approx(cache[f"A{l}"].mean(), rel=1e-12, abs=1e-15)
        assert row.act_std == pytest.approx(cache[f"A{l}"].std(), rel=1e-9)
        assert row.grad_ratio == pytest.approx(np.linalg.norm(grads[f"dW{l}"]) / np.linalg.norm(grads["dW3"]), rel=1e-12)


def test_before_the_first_step_the_gradient_is_the_full_data_gradient():
    t = xor_net(hidden="tanh", sizes=(2, 4, 1), init="xavier", seed=1)
    _, cache = t.net.forward(t.X)
    grads = t.net.backward(cache, t.Y, t.loss)
    r = D.measure(t)
    assert r.layer(1).grad_norm_W == pytest.approx(np.linalg.norm(grads["dW1"]), rel=1e-12)
    assert r.layer(1).update_ratio is None  # no update yet


def test_dead_units_are_those_with_zero_output_on_every_example():
    t = xor_net(sizes=(2, 4, 1), init="he", seed=0)
    W1, b1 = t.net.params["W1"], t.net.params["b1"]
    W1[:, 0] = [-1.0, -2.0]   # negative on every XOR input (and 0 at (0, 0))
    W1[:, 1] = [1.0, 1.0]
    W1[:, 2] = [-1.0, 1.0]    # positive on (0, 1) only
    W1[:, 3] = [0.5, -0.5]
    b1[0, 3] = -1.0           # at most -0.5: dead
    r = D.measure(t)
    assert r.layer(1).dead_units == [1, 4] and r.layer(1).dead == 0.5
    assert [w.severity for w in r.warnings if w.code == "dead"] == ["warning"]
    # The same weights with LeakyReLU: outputs are 0.01 Z, not zero, so nothing is dead.
    leaky = xor_net(hidden="leaky_relu", sizes=(2, 4, 1), init="he", seed=0)
    leaky.net.theta[...] = t.net.theta
    assert D.measure(leaky).layer(1).dead == 0.0


def test_every_unit_dead_is_an_error():
    t = xor_net(sizes=(2, 3, 1), init="he", seed=0)
    t.net.params["W1"][...] = -1.0
    r = D.measure(t)
    assert r.layer(1).dead == 1.0
    assert [w.severity for w in r.warnings if w.code == "dead"] == ["error"] and not r.ok


@pytest.mark.parametrize("act, weights, expected", [
    # sigmoid(10) > 0.99, sigmoid(-10) < 0.01, sigmoid(0.1) is not, sigmoid(5) = 0.9933 > 0.99
    ("sigmoid", [10.0, -10.0, 0.1, 5.0], 0.75),
    # tanh(3) = 0.995 and tanh(-3) are beyond 0.99; tanh(2) = 0.964 and tanh(0) are not
    ("tanh", [3.0, -3.0, 2.0, 0.0], 0.5),
])
def test_saturated_fraction_uses_the_documented_tails(act, weights, expected):
    net = engine.MLP([1, 4, 1], hidden=act, output="sigmoid", init="zeros")
    net.params["W1"][...] = [weights]
    trainer = engine.Trainer(net, "mse", engine.optim.SGD(0.1), [[1.0]], [[1.0]])
    assert D.measure(trainer).layer(1).saturated == expected


def test_large_init_saturates_and_warns_xavier_does_not():
    cfg = engine.RunConfig(dataset="circles", sizes=[2, 32, 32, 1], hidden="tanh", loss="mse", init="xavier", seed=0)
    t = engine.build(cfg)
    for layer in t.net.layers:
        layer.W[...] *= 100
    r = D.measure(t)
    assert min(r.layer(1).saturated, r.layer(2).saturated) >= 0.9 and "saturated" in codes(r)
    assert "saturated" not in codes(D.measure(engine.build(cfg)))


def test_vanishing_gradients_warn_on_a_deep_sigmoid_net_only():
    cfg = engine.RunConfig(dataset="moons", sizes=[2] + [16] * 8 + [1], hidden="sigmoid", init="xavier", seed=0)
    r = D.measure(engine.build(cfg))
    assert r.layer(1).grad_ratio < 1e-3 and "vanishing" in codes(r)
    assert r.layer(9).grad_ratio == 1.0
    healthy = D.measure(engine.build(cfg.replace(hidden="relu", init="he")))
    assert "vanishing" not in codes(healthy)


def test_zero_init_is_flagged_as_identical_units():
    cfg = engine.presets["default"]
    t = engine.build(cfg.replace(init="zeros"))
    t.fit(5)
    r = D.measure(t)
    assert r.layer(1).identical_units is True and "identical" in codes(r)
    assert D.measure(engine.build(cfg)).layer(1).identical_units is False


def test_exploding_gradient_warns_before_the_guard_stops_the_run():
    t = engine.build(engine.scenarios.EXPLODING)
    warned = None
    with np.errstate(all="ignore"):
        while t.step().ok:
            if warned is None and "exploding" in codes(D.measure(t)):
                warned = t.step_count
        assert warned is not None and warned < t.halted.step
        r = D.measure(t)
    assert r.halted == t.halted.to_dict() and r.activations == "refused"
    assert r.warnings[0].severity == "error" and r.warnings[0].code == "halted"
    assert r.warnings[0].message == t.halted.message
    json.dumps(r.to_dict(), allow_nan=False)  # inf and NaN became null


def test_nonfinite_weights_are_detected_per_layer():
    t = xor_net(hidden="tanh", sizes=(2, 4, 4, 1), init="xavier", seed=0)
    t.net.params["W2"][0, 0] = np.nan
    with np.errstate(all="ignore"):
        r = D.measure(t)
    # NaN in W2 spreads forward into Z2, Z3 and backward into every gradient, dW1 included.
    assert [row.nonfinite for row in r.layers] == [True, True, True]
    assert {w.layer for w in r.warnings if w.code == "nonfinite" and w.severity == "error"} == {1, 2, 3}
    assert r.to_dict()["layers"][1]["weight_norm"] is None and r.layer(1).weight_norm > 0


def test_huge_but_finite_numbers_are_not_called_nonfinite():
    t = xor_net(hidden="linear", sizes=(2, 2, 1), init="xavier", seed=0)
    t.net.params["W1"][...] = 1e200  # ||W1|| overflows a plain sum of squares, every entry is finite
    with np.errstate(all="ignore"):
        r = D.measure(t)
    assert not r.layer(1).nonfinite and r.layer(1).weight_norm == pytest.approx(2e200)


def test_minibatch_activations_cover_the_whole_training_set():
    t = engine.build(engine.presets["moons"].replace(batch_size=16))
    t.step()
    r = D.measure(t)
    assert r.activations == "train" and r.examples == len(t.X)
    _, cache = t.net.forward(t.X)
    assert r.layer(1).act_mean == pytest.approx(cache["A1"].mean(), rel=1e-12)


@pytest.mark.parametrize("batch_size", [None, 16])
def test_measuring_does_not_change_training(batch_size):
    cfg = engine.presets["moons"].replace(batch_size=batch_size)
    a, b = engine.build(cfg), engine.build(cfg)
    for _ in range(20):
        a.step()
        D.measure(a)
        a.evaluate()
        b.step()
        b.evaluate()
    assert np.array_equal(a.net.theta, b.net.theta)


def test_monitor_recomputes_every_k_steps_and_says_which_step():
    t = engine.build(engine.presets["default"])
    m = D.Monitor(every=5)
    seen = []
    for _ in range(17):
        t.step()
        rec = m.update(t)
        assert rec.every == 5 and 0 <= t.step_count - rec.step < 5
        seen.append(rec.step)
    assert sorted(set(seen)) == [1, 6, 11, 16]
    t.reset_state()
    t.net.reinitialize(0)
    assert m.update(t).step == 0  # a reset is noticed at once


def test_healthy_presets_end_without_warnings():
    for name in ("default", "moons", "circles"):
        t = engine.build(engine.presets[name])
        t.fit(t.config.epochs)
        r = D.measure(t)
        assert r.ok, (name, [w.message for w in r.warnings])


def test_every_warning_has_a_threshold_and_one_sentence():
    t = engine.build(engine.presets["seed"].replace(init="zeros", sizes=[2, 4, 1], hidden="sigmoid"))
    reports = [D.measure(t), D.measure(engine.build(engine.presets["seed"]))]
    for r in reports:
        for w in r.warnings:
            assert w.severity in D.SEVERITIES
            assert w.message.endswith(".") and w.message.count(". ") == 0, w.message
            assert w.code in ("halted",) or w.threshold is not None


def test_compute_is_json_ready_and_keeps_the_original_keys():
    t = engine.build(engine.presets["seed"])
    t.step()
    d = D.compute(t)
    text = json.dumps(d, allow_nan=False)
    assert json.loads(text)["step"] == 1
    assert [row["layer"] for row in d["layers"]] == [1, 2]
    assert {"grad_norm_W", "grad_norm_b", "dead", "saturated", "update_ratio", "act_mean", "act_std",
            "nonfinite"} <= set(d["layers"][0])
    assert all({"severity", "layer", "message"} <= set(w) for w in d["warnings"])
