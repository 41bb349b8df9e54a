"""engine.gradcheck: every activation x output x loss pairing against centred differences.

The backward pass must match the numeric derivative to 1e-7 relative error wherever
the function is smooth; a wrong backward must fail the check; probes that straddle a
ReLU kink must be reported as kinks, not counted as failures and not hidden.
"""

import itertools
import warnings

import numpy as np
import pytest

import engine
from engine import activations, losses

HIDDEN = activations.HIDDEN
OUTPUTS = activations.OUTPUT
LOSSES = tuple(losses.LOSSES)
COMBOS = [(h, o, name) for h, o, name in itertools.product(HIDDEN, OUTPUTS, LOSSES)
          if o in losses.get(name).outputs]


def test_every_pairing_the_config_allows_is_covered():
    # bce and cross_entropy need outputs in (0, 1); mse takes any output.
    assert losses.get("bce").outputs and set(losses.get("bce").outputs) <= {"sigmoid", "softmax"}
    assert set(losses.get("cross_entropy").outputs) <= {"sigmoid", "softmax"}
    assert set(losses.get("mse").outputs) == set(OUTPUTS)
    assert len(COMBOS) == 5 * (4 + len(losses.get("bce").outputs) + len(losses.get("cross_entropy").outputs))


def targets(loss_name, output, m, n_out, rng):
    """Targets a loss is defined for: real values for mse, 0/1 for bce, one-hot for cross-entropy."""
    if loss_name == "mse":
        return rng.normal(size=(m, n_out))
    if loss_name == "cross_entropy" and output == "softmax":
        return np.eye(n_out)[rng.integers(0, n_out, m)]
    return (rng.random((m, n_out)) < 0.5).astype(float)


def make_case(hidden, output, loss_name, depth, seed, n_in=3, width=4, n_out=3, m=5):
    rng = np.random.default_rng(seed)
    sizes = [n_in] + [width] * (depth - 1) + [n_out]
    net = engine.MLP(sizes, hidden=hidden, output=output, init="xavier", seed=seed)
    # Non-zero biases, so every term of the chain rule (not just W) is exercised.
    for layer in net.layers:
        layer.b[...] = rng.normal(scale=0.3, size=layer.b.shape)
    X = rng.normal(size=(m, n_in))
    Y = targets(loss_name, output, m, n_out, rng)
    return net, X, Y


def assert_real_check(report, net):
    """The report really checked every entry of every tensor, mostly away from kinks."""
    assert list(report.errors) == list(net.params)
    for name, P in net.params.items():
        checked, total = report.sampled[name]
        assert checked == total == P.size
        smooth = [e for e in report.entries if e.param == name and not e.kink]
        assert len(smooth) >= P.size // 2, f"{name}: too few kink-free entries to mean anything"


@pytest.mark.parametrize("depth", [1, 2, 3, 4])
@pytest.mark.parametrize("hidden,output,loss_name", COMBOS)
def test_backward_matches_centred_differences(hidden, output, loss_name, depth):
    for l2 in (0.0, 0.3):
        net, X, Y = make_case(hidden, output, loss_name, depth, seed=depth * 7 + 1)
        before = net.theta.copy()
        report = engine.gradcheck(net, X, Y, losses.get(loss_name), l2=l2)
        assert report.passed, (l2, report.errors)
        assert all(e < 1e-7 for e in report.errors.values()), (l2, report.errors)
        assert_real_check(report, net)
        assert np.array_equal(net.theta, before), "gradcheck must not touch the network it checks"


@pytest.mark.parametrize("output,loss_name", [("sigmoid", "mse"), ("sigmoid", "bce"), ("tanh", "mse"),
                                              ("linear", "mse"), ("sigmoid", "cross_entropy")])
def test_single_output_networks(output, loss_name):
    # The course's shape: one output unit, four examples.
    net, X, Y = make_case("tanh", output, loss_name, depth=2, seed=3, n_in=2, width=3, n_out=1, m=4)
    report = engine.gradcheck(net, X, Y, loss_name)
    assert report.passed, report.errors


def test_float32_network_is_checked_in_float64():
    net, X, Y = make_case("tanh", "softmax", "cross_entropy", depth=3, seed=5)
    net32 = net.copy(dtype=np.float32)
    report = engine.gradcheck(net32, X, Y, "cross_entropy")
    assert report.passed, report.errors
    assert net32.theta.dtype == np.float32


def test_net_backward_is_the_exact_derivative_of_loss_value():
    # The public pair the contract names: net.backward against net.loss_value.
    net, X, Y = make_case("sigmoid", "softmax", "bce", depth=3, seed=11)
    _, cache = net.forward(X)
    grads = net.backward(cache, Y, "bce", l2=0.2)
    h = 1e-6
    for name, P in net.params.items():
        idx = tuple(np.argwhere(np.ones(P.shape, bool))[P.size // 2])
        old = P[idx]
        P[idx] = old + h
        up = net.loss_value(X, Y, "bce", l2=0.2)
        P[idx] = old - h
        down = net.loss_value(X, Y, "bce", l2=0.2)
        P[idx] = old
        numeric = (up - down) / (2 * h)
        assert grads["d" + name][idx] == pytest.approx(numeric, rel=1e-6, abs=1e-10)


# ----- a wrong backward must fail ---------------------------------------------------

def course_backward(net, cache, Y, loss):
    """The course's backward for its 2-layer ReLU/sigmoid net: dZ2 = A2 - Y.

    That shortcut is the gradient of BCE after a sigmoid, not of the MSE the course
    trains with: with MSE the sigmoid's slope A2 (1 - A2) is missing.
    """
    X = cache["X"]
    m = len(X)
    dZ2 = cache["A2"] - Y
    dW2 = cache["A1"].T @ dZ2 / m
    db2 = dZ2.sum(axis=0, keepdims=True) / m
    dA1 = dZ2 @ net.params["W2"].T
    dZ1 = dA1 * (cache["Z1"] > 0)
    return {"dW1": X.T @ dZ1 / m, "db1": dZ1.sum(axis=0, keepdims=True) / m, "dW2": dW2, "db2": db2}


def test_course_backward_with_mse_fails_the_check():
    trainer = engine.build(engine.presets["seed"])
    report = engine.gradcheck(trainer.net, trainer.X, trainer.Y, "mse", backward=course_backward)
    assert not report.passed
    # Outputs sit at 0.5, where the missing slope is 1/4: the error is about 3/4.
    for name in ("W1", "W2", "b2"):
        assert report.errors[name] == pytest.approx(0.75, abs=0.01)
        assert name in report.failing
    # The same network with the engine's own backward passes.
    good = engine.gradcheck(trainer.net, trainer.X, trainer.Y, "mse")
    assert good.passed, good.errors


def test_course_backward_is_right_for_bce():
    # The very same code is correct once the loss is BCE: the check is not just noisy.
    trainer = engine.build(engine.presets["seed"])
    report = engine.gradcheck(trainer.net, trainer.X, trainer.Y, "bce", backward=course_backward)
    assert report.passed, report.errors


@pytest.mark.parametrize("rel", [1e-3, 1e-5])
def test_a_slightly_wrong_gradient_fails(rel):
    net, X, Y = make_case("tanh", "sigmoid", "bce", depth=3, seed=2)

    def off(net, cache, Y, loss):
        grads = net.backward(cache, Y, loss)
        grads["dW2"][0, 1] *= 1 + rel
        return grads

    report = engine.gradcheck(net, X, Y, "bce", backward=off)
    assert not report.passed
    assert report.failing == ["W2"]
    assert report.errors["W2"] == pytest.approx(rel, rel=0.05)
    bad = [e for e in report.entries if e.param == "W2" and e.error > 1e-7]
    assert [e.index for e in bad] == [(0, 1)]


def test_missing_l2_term_fails():
    net, X, Y = make_case("relu", "linear", "mse", depth=2, seed=4)
    report = engine.gradcheck(net, X, Y, "mse", l2=0.5,
                              backward=lambda n, c, y, loss: n.backward(c, y, loss))  # forgets l2
    assert not report.passed
    assert set(report.failing) == {"W1", "W2"}  # biases carry no L2 term


# ----- kinks --------------------------------------------------------------------------

def test_relu_kinks_are_reported_not_counted():
    # The course's XOR net: input (0, 0) puts every Z1 exactly at 0 (b1 = 0), so every
    # probe of b1 straddles the kink, where the one-sided slopes differ.
    trainer = engine.build(engine.presets["seed"])
    report = engine.gradcheck(trainer.net, trainer.X, trainer.Y, "mse")
    assert report.kinks["b1"] == [(0, 0), (0, 1), (0, 2)]
    b1 = [e for e in report.entries if e.param == "b1"]
    assert all(e.kink for e in b1)
    # Counted, at least one of these would fail: the kink is real.
    assert max(e.error for e in b1) > 1e-3
    assert report.passed
    assert "b1" not in report.failing
    assert report.to_dict()["kinks"]["b1"] == [[0, 0], [0, 1], [0, 2]]
    # Entries away from the kink are still checked, not hidden with it.
    assert not any(e.kink for e in report.entries if e.param in ("W1", "W2", "b2"))


def test_leaky_relu_kink_is_reported():
    net = engine.MLP([2, 2, 1], hidden="leaky_relu", output="linear", init="xavier", seed=0)
    X = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    Y = np.array([[1.0], [-1.0], [0.5]])
    net.params["W1"] = [[0.5, 1.0], [-0.3, 2.0]]
    net.params["b1"] = [[-0.5, 0.0]]  # unit 1 sits exactly on its kink for the first input
    net.params["W2"] = [[1.0], [1.0]]
    report = engine.gradcheck(net, X, Y, "mse")
    assert (0, 0) in report.kinks["b1"]
    assert report.passed, report.errors


def test_smooth_activations_report_no_kinks():
    net, X, Y = make_case("tanh", "softmax", "cross_entropy", depth=4, seed=9)
    report = engine.gradcheck(net, X, Y, "cross_entropy")
    assert all(v == [] for v in report.kinks.values())
    assert not any(e.kink for e in report.entries)


# ----- sampling ---------------------------------------------------------------------------

def test_large_tensors_are_sampled_but_never_skipped():
    rng = np.random.default_rng(0)
    net = engine.MLP([30, 40, 3], hidden="tanh", output="softmax", init="xavier", seed=0)
    X = rng.normal(size=(6, 30))
    Y = np.eye(3)[rng.integers(0, 3, 6)]
    report = engine.gradcheck(net, X, Y, "cross_entropy", max_entries=50)
    assert report.sampled == {"W1": (50, 1200), "b1": (40, 40), "W2": (50, 120), "b2": (3, 3)}
    assert list(report.errors) == ["W1", "b1", "W2", "b2"]
    assert report.passed, report.errors
    # A seeded sample: the same entries every time.
    again = engine.gradcheck(net, X, Y, "cross_entropy", max_entries=50)
    assert [e.index for e in again.entries] == [e.index for e in report.entries]


def test_report_to_dict_is_plain_data():
    import json

    net, X, Y = make_case("relu", "sigmoid", "bce", depth=2, seed=1)
    d = engine.gradcheck(net, X, Y, "bce").to_dict()
    assert set(d) >= {"errors", "passed"}
    json.dumps(d)


def test_a_diverged_network_fails_instead_of_passing_on_nan():
    # Weights so large the loss overflows: no entry can be compared, and NaN comparisons
    # must not read as "error 0, passed". No NumPy warnings either: the report says it.
    net, X, Y = make_case("relu", "linear", "mse", depth=4, seed=1)
    net.theta *= 1e80
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        report = engine.gradcheck(net, X, Y, "mse")
    assert not report.passed
    assert all(e == np.inf for e in report.errors.values())
    assert all(v == [] for v in report.kinks.values())
    assert set(report.failing) == set(net.params)


# ----- a parameter whose every entry sits on a kink is not checked (issue 12 item 4) ------------

def test_a_parameter_with_only_kink_entries_is_not_checked_not_ok():
    import engine

    trainer = engine.build(engine.presets["seed"])
    report = engine.gradcheck(trainer.net, trainer.X, trainer.Y, trainer.loss)
    # The XOR row (0, 0) has Z1 = b1 = 0 exactly: every probe of b1 crosses the ReLU kink.
    assert report.errors["b1"] is None
    assert report.skipped["b1"] == 3 and report.compared["b1"] == 0
    assert report.unchecked == ["b1"]
    assert all(isinstance(report.errors[n], float) for n in ("W1", "W2", "b2"))
    assert report.passed  # the compared entries pass; b1 neither passes nor fails
    assert "b1" not in report.failing
    assert report.worst == max(report.errors[n] for n in ("W1", "W2", "b2"))
    d = report.to_dict()
    assert d["errors"]["b1"] is None and d["skipped"]["b1"] == 3 and d["unchecked"] == ["b1"]


def test_passed_covers_only_compared_entries():
    from engine.gradcheck import GradcheckReport

    report = GradcheckReport({"W1": None, "b1": 2e-7}, [], {"W1": [(0, 0)], "b1": []}, 1e-7,
                             {"W1": (1, 1), "b1": (1, 1)}, 1e-3)
    assert not report.passed and report.failing == ["b1"]
    report.errors["b1"] = 1e-9
    assert report.passed and report.worst == 1e-9


def test_the_threshold_is_documented_against_the_courses():
    from engine.gradcheck import COURSE_THRESHOLD, THRESHOLD, THRESHOLD_NOTE

    assert THRESHOLD == 1e-7 and COURSE_THRESHOLD == 1e-5
    assert "1e-5" in THRESHOLD_NOTE and "1e-7" in THRESHOLD_NOTE
