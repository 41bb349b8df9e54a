"""Property tests (hypothesis): shapes for any sizes, stability at extreme inputs,
and gradient checks on random small networks."""

import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import engine
from engine import activations, losses

FAST = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])

sizes_st = st.lists(st.integers(1, 7), min_size=2, max_size=5)
hidden_st = st.sampled_from(activations.HIDDEN)
output_st = st.sampled_from(activations.OUTPUT)
init_st = st.sampled_from(["zeros", "small", "xavier", "he"])
seed_st = st.integers(0, 2**32 - 1)


class strict_numerics:
    """Any overflow, invalid operation or division by zero raises, and so does any warning.

    Underflow is allowed: exp(-2000) rounding to 0 is the right answer, and NumPy's
    default error state ignores it too.
    """

    def __enter__(self):
        self._w = warnings.catch_warnings()
        self._w.__enter__()
        warnings.simplefilter("error")
        self._e = np.errstate(over="raise", invalid="raise", divide="raise", under="ignore")
        self._e.__enter__()

    def __exit__(self, *exc):
        self._e.__exit__(*exc)
        self._w.__exit__(*exc)


# ----- shapes -------------------------------------------------------------------------------

@FAST
@given(sizes=sizes_st, m=st.integers(1, 9), hidden=hidden_st, output=output_st, init=init_st, seed=seed_st)
def test_shapes_for_any_sizes(sizes, m, hidden, output, init, seed):
    net = engine.MLP(sizes, hidden=hidden, output=output, init=init, seed=seed)
    L = len(sizes) - 1
    assert net.L == L
    assert list(net.params) == [f"{p}{l}" for l in range(1, L + 1) for p in ("W", "b")]
    assert net.theta.size == sum((a + 1) * b for a, b in zip(sizes[:-1], sizes[1:]))
    for l, (a, b) in enumerate(zip(sizes[:-1], sizes[1:]), start=1):
        assert net.params[f"W{l}"].shape == (a, b)
        assert net.params[f"b{l}"].shape == (1, b)
        assert not net.params[f"b{l}"].any(), "biases start at zero"
        assert net.params[f"W{l}"].dtype == np.float64

    X = np.random.default_rng(seed).normal(size=(m, sizes[0]))
    Y_hat, cache = net.forward(X)
    assert Y_hat.shape == (m, sizes[-1])
    for l in range(1, L + 1):
        assert cache[f"Z{l}"].shape == cache[f"A{l}"].shape == (m, sizes[l])
    assert cache[f"A{L}"] is Y_hat

    Y = np.zeros((m, sizes[-1]))
    loss = "mse"
    grads = net.backward(cache, Y, loss)
    assert set(grads) == {"d" + k for k in net.params}
    for name, p in net.params.items():
        assert grads["d" + name].shape == p.shape
    # grad_views lays a flat gradient out like theta.
    flat = np.arange(net.theta.size, dtype=float)
    views = net.grad_views(flat)
    for layer in net.layers:
        l = layer.index
        assert views[f"dW{l}"].shape == layer.W.shape and views[f"db{l}"].shape == layer.b.shape


@FAST
@given(sizes=sizes_st, seed=seed_st)
def test_params_are_the_networks_own_arrays(sizes, seed):
    net = engine.MLP(sizes, seed=seed)
    before = net.theta.copy()
    net.params["W1"][0, 0] += 1.0       # in-place edit of the view
    net.params[f"b{net.L}"] = np.full((1, sizes[-1]), 2.0)  # assignment copies in
    changed = np.flatnonzero(net.theta != before)
    assert len(changed) == 1 + sizes[-1]
    assert net.params[f"b{net.L}"].base is not None
    with pytest.raises(ValueError, match="shape"):
        net.params["W1"] = np.zeros((sizes[0] + 1, sizes[1]))


@FAST
@given(sizes=sizes_st, hidden=hidden_st, output=output_st, seed=st.integers(0, 1000))
def test_same_seed_same_weights_and_copy_is_independent(sizes, hidden, output, seed):
    a = engine.MLP(sizes, hidden=hidden, output=output, init="he", seed=seed)
    b = engine.MLP(sizes, hidden=hidden, output=output, init="he", seed=seed)
    assert np.array_equal(a.theta, b.theta)
    c = a.copy()
    c.theta += 1.0
    assert np.array_equal(a.theta, b.theta)
    a.reinitialize(seed + 1)
    assert not np.array_equal(a.theta, b.theta)  # every layer has at least one weight


# ----- stability at extreme inputs --------------------------------------------------------------

extreme = arrays(np.float64, st.tuples(st.integers(1, 6), st.integers(1, 5)),
                 elements=st.one_of(st.sampled_from([-1000.0, 1000.0, 0.0, -745.0, 745.0, 710.0]),
                                    st.floats(-1000, 1000)))


@FAST
@given(Z=extreme, name=st.sampled_from(list(activations.ACTIVATIONS)))
def test_activations_are_finite_and_quiet_at_extremes(Z, name):
    act = activations.get(name)
    with strict_numerics():
        A = act.forward(Z)
        dZ = act.backward(Z, A, np.ones_like(Z))
    assert A.shape == dZ.shape == Z.shape
    assert np.isfinite(A).all() and np.isfinite(dZ).all()
    if name == "sigmoid":
        assert ((A >= 0) & (A <= 1)).all()
    if name == "tanh":
        assert ((A >= -1) & (A <= 1)).all()
    if name == "softmax":
        np.testing.assert_allclose(A.sum(axis=1), 1.0, rtol=1e-12)
        assert (A >= 0).all()
    # out= writes into the given buffer and returns it.
    buf = np.empty_like(Z)
    assert act.forward(Z, out=buf) is buf
    np.testing.assert_array_equal(buf, A)


@FAST
@given(Z=extreme, data=st.data())
def test_losses_are_finite_and_quiet_at_extremes(Z, data):
    name = data.draw(st.sampled_from(list(losses.LOSSES)))
    loss = losses.get(name)
    output = data.draw(st.sampled_from(loss.outputs))
    act = activations.get(output)
    m, k = Z.shape
    if name == "cross_entropy" and output == "softmax":
        Y = np.eye(k)[data.draw(arrays(np.int64, m, elements=st.integers(0, k - 1)))]
    elif name == "mse":
        Y = data.draw(arrays(np.float64, (m, k), elements=st.floats(-1000, 1000)))
    else:
        Y = data.draw(arrays(np.float64, (m, k), elements=st.sampled_from([0.0, 1.0])))
    with strict_numerics():
        A = act.forward(Z)
        value = loss.value(Z, A, Y, act)
        steps = loss.output_grad(Z, A, Y, act, 1)
        public = loss(A, Y)
    assert np.isfinite(value) and value >= 0
    assert np.isfinite(public) and public >= 0
    for _, _, arr in steps:
        assert np.isfinite(arr).all()
    assert steps[-1][2].shape == Z.shape


@FAST
@given(sizes=st.lists(st.integers(1, 5), min_size=2, max_size=4), hidden=hidden_st, data=st.data(),
       seed=st.integers(0, 1000))
def test_a_whole_step_is_quiet_with_extreme_inputs(sizes, hidden, data, seed):
    loss_name = data.draw(st.sampled_from(list(losses.LOSSES)))
    output = data.draw(st.sampled_from(losses.get(loss_name).outputs))
    if output == "softmax" and sizes[-1] == 1:
        sizes = sizes[:-1] + [2]
    rng = np.random.default_rng(seed)
    X = rng.choice([-1000.0, 1000.0], size=(4, sizes[0]))
    Y = np.eye(sizes[-1])[rng.integers(0, sizes[-1], 4)] if output == "softmax" else (rng.random((4, sizes[-1])) < 0.5) * 1.0
    net = engine.MLP(sizes, hidden=hidden, output=output, init="small", seed=seed)
    trainer = engine.Trainer(net, loss_name, engine.optim.SGD(0.01), X, Y)
    with strict_numerics():
        r = trainer.step()
    assert r.ok and np.isfinite(r.loss)
    assert np.isfinite(net.theta).all()


@pytest.mark.parametrize("name", ["sigmoid", "softmax"])
def test_tiny_probabilities_keep_relative_precision(name):
    # exp(-softplus(-Z)) keeps sigmoid(-700) ~ 1e-304 instead of rounding it away.
    act = activations.get(name)
    Z = np.array([[-700.0, 0.0]])
    A = act.forward(Z)
    expected = np.exp(-700.0) if name == "sigmoid" else np.exp(-700.0) / (1 + np.exp(-700.0))
    assert A[0, 0] == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("output,loss_name", [("sigmoid", "bce"), ("softmax", "cross_entropy"),
                                              ("sigmoid", "cross_entropy")])
def test_loss_from_logits_is_exact_when_saturated(output, loss_name):
    # A confidently wrong prediction costs about |Z|, not a clipped log(1e-300) ~ 690.
    act = activations.get(output)
    loss = losses.get(loss_name)
    Z = np.array([[-1000.0, 1000.0]]) if output == "softmax" else np.array([[-1000.0]])
    Y = np.array([[1.0, 0.0]]) if output == "softmax" else np.array([[1.0]])
    value = loss.value(Z, act.forward(Z), Y, act)
    assert value == pytest.approx(2000.0 if output == "softmax" else 1000.0, rel=1e-12)


# ----- loss formulas ------------------------------------------------------------------------

@FAST
@given(m=st.integers(1, 8), k=st.integers(1, 4), seed=st.integers(0, 10_000))
def test_loss_values_follow_the_contract_formulas(m, k, seed):
    rng = np.random.default_rng(seed)
    Y_hat = rng.uniform(0.01, 0.99, size=(m, k))
    Y = (rng.random((m, k)) < 0.5) * 1.0
    assert losses.get("mse")(Y_hat, Y) == pytest.approx(np.sum((Y_hat - Y) ** 2) / (2 * m), rel=1e-12)
    bce = -np.sum(Y * np.log(Y_hat) + (1 - Y) * np.log(1 - Y_hat)) / m
    assert losses.get("bce")(Y_hat, Y) == pytest.approx(bce, rel=1e-12)
    assert losses.get("cross_entropy")(Y_hat, Y) == pytest.approx(-np.sum(Y * np.log(Y_hat)) / m, rel=1e-12, abs=1e-15)
    with pytest.raises(ValueError, match="shape"):
        losses.get("mse")(Y_hat, Y[:, :0])


# ----- gradient checks on random small nets ----------------------------------------------------

@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sizes=st.lists(st.integers(1, 4), min_size=2, max_size=4), data=st.data(), seed=st.integers(0, 10_000),
       m=st.integers(1, 6), l2=st.sampled_from([0.0, 0.05, 1.0]))
def test_gradcheck_passes_on_random_small_nets(sizes, data, seed, m, l2):
    n_hidden = len(sizes) - 2
    hidden = data.draw(st.lists(hidden_st, min_size=n_hidden, max_size=n_hidden))
    loss_name = data.draw(st.sampled_from(list(losses.LOSSES)))
    output = data.draw(st.sampled_from(losses.get(loss_name).outputs))
    rng = np.random.default_rng(seed)
    net = engine.MLP(sizes, hidden=hidden, output=output, init=data.draw(st.sampled_from(["xavier", "he"])), seed=seed)
    for layer in net.layers:
        layer.b[...] = rng.normal(scale=0.5, size=layer.b.shape)
    X = rng.normal(size=(m, sizes[0]))
    if loss_name == "mse":
        Y = rng.normal(size=(m, sizes[-1]))
    elif loss_name == "cross_entropy" and output == "softmax":
        Y = np.eye(sizes[-1])[rng.integers(0, sizes[-1], m)]
    else:
        Y = (rng.random((m, sizes[-1])) < 0.5) * 1.0
    report = engine.gradcheck(net, X, Y, loss_name, l2=l2)
    assert report.passed, (hidden, output, loss_name, report.errors)


@pytest.mark.parametrize("d", [-1000.0, -100.0, -30.0, 0.5, 30.0, 100.0, 1000.0])
@pytest.mark.parametrize("Y", [[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [0.0, 0.0]])
def test_bce_after_softmax_is_exact_when_saturated(d, Y):
    # Two softmax outputs are sigmoid(-d), sigmoid(d) with d = Z2 - Z1, so BCE has a closed form:
    # L = (Y1 + 1 - Y2) softplus(d) + (Y2 + 1 - Y1) softplus(-d), dL/dZ2 = -dL/dZ1 = dL/dd.
    Z = np.array([[0.25, 0.25 + d]])
    Yr = np.array([Y])
    act = activations.get("softmax")
    loss = losses.get("bce")
    y1, y2 = Y
    sp = lambda x: np.logaddexp(0.0, x)  # noqa: E731
    sig = lambda x: np.exp(-sp(-x))  # noqa: E731
    expected = (y1 + 1 - y2) * sp(d) + (y2 + 1 - y1) * sp(-d)
    dd = (y1 + 1 - y2) * sig(d) - (y2 + 1 - y1) * sig(-d)
    with strict_numerics():
        A = act.forward(Z)
        value = loss.value(Z, A, Yr, act)
        dZ = loss.output_grad(Z, A, Yr, act, 1)[-1][2]
    assert value == pytest.approx(expected, rel=1e-12)
    # Exact to rounding on the scale of the row (A - Y has the same 1e-16 absolute floor).
    np.testing.assert_allclose(dZ, [[-dd, dd]], rtol=1e-9, atol=1e-15)
