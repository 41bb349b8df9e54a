"""The facts lessons and demos read from engine.diagnostics (one source, one set of thresholds),
and the Monitor's time limit."""

import numpy as np
import pytest

import engine
from engine import diagnostics as D


def relu_net(W1, b1=None, X=((1.0, 2.0), (2.0, 1.0), (-1.0, 3.0))):
    """A 2-3-1 ReLU net on three points, with the given first layer."""
    X = np.array(X)
    net = engine.MLP([2, 3, 1], hidden="relu", output="sigmoid", init="xavier", seed=0)
    net.params["W1"] = W1
    if b1 is not None:
        net.params["b1"] = b1
    return engine.Trainer(net, "bce", engine.optim.SGD(0.1), X, np.array([[0.0], [1.0], [1.0]]))


def test_dead_and_always_active_units():
    # Unit 1: Z <= 0 everywhere (dead). Unit 2: Z > 0 everywhere (always active). Unit 3: both signs.
    t = relu_net([[-1.0, 1.0, 1.0], [-1.0, 1.0, 0.0]], b1=[[-5.0, 10.0, 0.0]])
    r = D.measure(t)
    assert D.dead_units(r) == {1: [1]}
    assert D.dead_count(r) == (1, 3)
    assert D.always_active_units(r) == {1: [2]}
    assert D.saturated_fraction(r) is None  # no sigmoid or tanh hidden layer
    # The same facts as the rows the panel draws, and as an independent computation.
    Z1 = t.X @ t.net.params["W1"] + t.net.params["b1"]
    assert [j + 1 for j in range(3) if np.all(Z1[:, j] <= 0)] == r.layer(1).dead_units == [1]
    assert [j + 1 for j in range(3) if np.all(Z1[:, j] > 0)] == r.layer(1).always_active_units


def test_at_current_uses_the_weights_now_and_latest_the_step_s_own_pass():
    t = relu_net([[1.0, 1.0, 1.0], [1.0, 1.0, 1.0]])
    t.step()
    t.net.params["b1"] = [[-100.0, 0.0, 0.0]]  # kill unit 1 after the step
    assert D.dead_count(D.measure(t)) == (0, 3)                 # the latest step's forward pass
    assert D.dead_count(D.measure(t, at="current")) == (1, 3)   # the weights as they are now
    with pytest.raises(ValueError, match="latest"):
        D.measure(t, at="tomorrow")


def test_saturated_fraction_over_every_squashing_hidden_layer():
    net = engine.MLP([2, 4, 2, 3, 1], hidden=["tanh", "relu", "sigmoid"], output="sigmoid", seed=1)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(16, 2))
    net.params["W1"] = 50 * rng.normal(size=(2, 4))
    t = engine.Trainer(net, "bce", engine.optim.SGD(0.1), X, rng.integers(0, 2, (16, 1)))
    r = D.measure(t)
    _, cache = net.forward(X)
    A1, A3 = cache["A1"], cache["A3"]
    expected = (np.count_nonzero(np.abs(A1) > 0.99) + np.count_nonzero((A3 < 0.01) | (A3 > 0.99))) / (A1.size + A3.size)
    assert D.saturated_fraction(r) == pytest.approx(expected, rel=1e-12)
    assert D.saturated_count("tanh", A1) == np.count_nonzero(np.abs(A1) > D.THRESHOLDS["tanh_tail"])
    assert D.saturated_count("relu", A1) == 0


def test_identical_units_and_their_spread():
    t = engine.build(engine.presets["default"].replace(init="zeros"))
    r = D.measure(t)
    assert D.all_identical(r) and D.hidden_unit_spread(r) == 0.0
    t.net.params["W1"] = [[0.0, 0.5, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0]]
    r = D.measure(t)
    assert not D.all_identical(r) and D.hidden_unit_spread(r) == 0.5
    t.net.params["W2"] = [[0.0], [3.0], [0.0], [0.0]]
    assert D.unit_spread(t.net) == 0.5 and D.unit_spread(t.net, outgoing=True) == 3.0


def test_gradient_ratio_and_the_gradient_warnings():
    t = engine.build(engine.scenarios.VANISHING)
    t.step()
    r = D.measure(t)
    assert D.gradient_ratio(r, 1) == pytest.approx(r.layer(1).grad_norm_W / r.layer(9).grad_norm_W, rel=1e-12)
    assert 1 in D.vanishing_layers(r) and not D.exploding(r)


def test_monitor_recomputes_at_most_every_interval_seconds():
    now = [100.0]
    t = engine.build(engine.presets["default"])
    m = D.Monitor(every=1, interval=0.5, clock=lambda: now[0])
    assert m.update(t).step == 0
    t.step()
    now[0] += 0.2
    assert m.update(t).step == 0          # a step, but too soon
    now[0] += 0.3
    assert m.update(t).step == 1          # half a second later
    t.step()
    t.step()
    now[0] += 10
    assert m.update(t).step == 3
    t.reset_state()
    assert m.update(t).step == 0          # the run went back: at once, whatever the clock says


def test_monitor_with_both_limits_needs_both():
    now = [0.0]
    t = engine.build(engine.presets["default"])
    m = D.Monitor(every=3, interval=1.0, clock=lambda: now[0])
    m.update(t)
    now[0] += 5
    t.step()
    assert m.update(t).step == 0          # time has passed, steps have not
    t.step()
    t.step()
    assert m.update(t).step == 3
