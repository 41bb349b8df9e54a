"""Input features, regression (plane, bumps, csv), L1 and dropout: the engine side of issue 16."""

import numpy as np
import pytest

import engine
from engine import features, metrics, reference
from engine.gradcheck import check_trainer, fixed_masks


def config(**fields):
    return engine.RunConfig.from_dict(fields, base=engine.presets["default"])


# ----- features -------------------------------------------------------------------------------

def test_features_are_computed_from_the_raw_columns():
    x = np.array([[0.5, -2.0], [1.0, 3.0]])
    X = features.expand(["x1", "x2", "x1^2", "x2^2", "x1*x2", "sin(x1)", "sin(x2)"], x)
    expected = np.c_[x[:, 0], x[:, 1], x[:, 0] ** 2, x[:, 1] ** 2, x[:, 0] * x[:, 1], np.sin(x[:, 0]), np.sin(x[:, 1])]
    assert np.array_equal(X, expected)


def test_feature_names_parse_with_spaces_and_refuse_unknown_or_repeated():
    assert features.parse("x1, x2 , x1 * x2") == ["x1", "x2", "x1*x2"]
    with pytest.raises(engine.ConfigError, match="allowed: x1, x2, x1\\^2"):
        features.parse("x1,x3")
    with pytest.raises(engine.ConfigError, match="twice"):
        features.parse("x1,x1")
    with pytest.raises(engine.ConfigError, match="at least one"):
        features.parse([])


def test_product_feature_solves_xor_without_a_hidden_layer():
    t = engine.build(config(features="x1,x2,x1*x2", sizes=[3, 1], epochs=2000))
    assert t.net.L == 1 and t.net.sizes == [3, 1]
    t.fit(2000)
    assert t.evaluate()["accuracy"] == 1.0
    # ... and without the product the same network cannot: XOR is not linearly separable.
    plain = engine.build(config(sizes=[2, 1]))
    plain.fit(2000)
    assert plain.evaluate()["accuracy"] <= 0.75


def test_network_with_features_takes_raw_inputs_everywhere():
    t = engine.build(config(dataset="circles", features="x1^2,x2^2", sizes=[2, 1]))
    assert t.X.shape[1] == 2 and t.net.features == ("x1^2", "x2^2")
    grid = np.array([[0.0, 0.0], [1.0, 1.0]])
    by_hand = 1 / (1 + np.exp(-(features.expand(["x1^2", "x2^2"], grid) @ t.net.params["W1"] + t.net.params["b1"])))
    assert np.allclose(t.predict(grid), by_hand)
    assert np.array_equal(t.net.copy().predict(grid), t.predict(grid))  # copies keep the features


def test_features_change_without_sizes_fills_the_first_width():
    assert config(features="x1,x2,x1*x2").sizes == [3, 4, 1]
    assert config(features="x1,x2,x1*x2").replace(features="x1,x2").sizes == [2, 4, 1]


def test_sizes_not_matching_the_features_is_refused():
    with pytest.raises(engine.ConfigError, match="features x1,x2,x1\\*x2 give 3 inputs.*must start with 3"):
        config(features="x1,x2,x1*x2", sizes=[2, 1])


def test_features_on_data_that_is_not_2d_are_refused(tmp_path):
    with pytest.raises(engine.ConfigError, match="features: .*2-D inputs.*digits has 64"):
        config(dataset="digits", features="x1,x2,x1*x2", sizes=[3, 10])
    path = tmp_path / "wide.csv"
    path.write_text("1,2,3,0\n4,5,6,1\n7,8,9,0\n1,1,1,1\n")
    c = config(dataset=f"csv:{path}", features="x1,x1*x2", sizes=[2, 1])
    with pytest.raises(engine.ConfigError, match="features: .*has 3 input columns"):
        engine.build(c)


# ----- regression -----------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["plane", "bumps"])
def test_regression_sets_are_2d_with_targets_in_range(name):
    d = engine.datasets.load(name, seed=1)
    assert d.X_train.shape[1] == 2 and d.Y_train.shape[1] == 1 and d.is_regression
    Y = np.r_[d.Y_train, d.Y_test]
    assert Y.min() >= -1 and Y.max() <= 1 and np.unique(Y).size > 50
    assert np.array_equal(engine.datasets.load(name, seed=1).Y_train, d.Y_train)


def test_regression_dataset_sets_task_output_and_loss():
    c = config(dataset="plane")
    assert (c.task, c.output, c.loss) == ("regression", "linear", "mse")
    back = c.replace(dataset="xor")
    assert (back.task, back.output, back.loss) == ("classification", "sigmoid", "bce")
    assert c.replace(dataset="spiral").output == "softmax"


@pytest.mark.parametrize("fields, field", [
    (dict(dataset="plane", task="classification"), "task"),
    (dict(dataset="plane", loss="bce", output="sigmoid"), "loss"),
    (dict(dataset="plane", output="sigmoid"), "output"),
    (dict(task="maybe"), "task"),
])
def test_incompatible_regression_settings_name_the_field(fields, field):
    with pytest.raises(engine.ConfigError) as e:
        config(**fields)
    assert e.value.field == field


def test_r2_metric():
    Y = np.array([[1.0], [2.0], [3.0]])
    assert metrics.r2(Y, Y) == 1.0
    assert metrics.r2(np.full_like(Y, 2.0), Y) == 0.0
    assert metrics.r2(np.array([[1.0], [2.0], [4.0]]), Y) == pytest.approx(1 - 1 / 2)


def test_regression_run_reports_r2_not_accuracy():
    t = engine.build(config(dataset="plane", sizes=[2, 1], lr=0.5))
    t.fit(200)
    m = t.evaluate()
    assert "accuracy" not in m and "test_accuracy" not in m
    assert m["r2"] > 0.99 and m["test_r2"] > 0.99


def test_csv_with_real_valued_label_trains_as_regression(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, (60, 3))
    y = X @ [0.3, -0.5, 0.2] + 0.1
    path = tmp_path / "r.csv"
    np.savetxt(path, np.c_[X, y], delimiter=",")
    with pytest.raises(engine.ConfigError):  # as classes, 60 different values need 60 outputs
        engine.build(config(dataset=f"csv:{path}", sizes=[3, 1]))
    t = engine.build(config(dataset=f"csv:{path}", sizes=[3, 1], task="regression", output="linear", loss="mse",
                            lr=0.5))
    t.fit(300)
    assert t.evaluate()["r2"] > 0.99


# ----- L1 and dropout ------------------------------------------------------------------------

def test_l1_adds_its_penalty_and_sign_subgradient():
    t = engine.build(config(l1=0.2, sizes=[2, 3, 1]))
    net, m = t.net, len(t.X)
    net.params["W1"][0, 0] = 0.0  # sign(0) = 0: the L1 term leaves an exact zero alone
    plain = net.loss_value(t.X, t.Y, "bce")
    assert net.loss_value(t.X, t.Y, "bce", l1=0.2) == pytest.approx(
        plain + 0.2 / m * sum(np.abs(net.params[f"W{l}"]).sum() for l in (1, 2)), rel=1e-14)
    _, cache = net.forward(t.X)
    g0 = net.backward(cache, t.Y, "bce")
    g1 = net.backward(cache, t.Y, "bce", l1=0.2)
    for l in (1, 2):
        assert np.allclose(g1[f"dW{l}"] - g0[f"dW{l}"], 0.2 / m * np.sign(net.params[f"W{l}"]), rtol=0, atol=1e-15)
        assert np.array_equal(g1[f"db{l}"], g0[f"db{l}"])
    assert g1["dW1"][0, 0] == g0["dW1"][0, 0]


def test_l1_drives_weights_to_zero_more_than_l2():
    base = dict(dataset="circles", sizes=[2, 16, 1], optimizer="adam", lr=0.02, epochs=300)
    w_l1 = engine.build(config(**base, l1=0.5))
    w_l2 = engine.build(config(**base, l2=0.5))
    w_l1.fit(300), w_l2.fit(300)
    small = lambda t: np.mean(np.abs(t.net.params["W1"]) < 1e-2)  # noqa: E731
    assert small(w_l1) > small(w_l2)


def test_dropout_masks_come_from_the_seed_and_only_in_training():
    c = config(dataset="moons", sizes=[2, 8, 8, 1], dropout=0.5, batch_size=32, seed=4)
    a, b = engine.build(c), engine.build(c)
    for _ in range(5):
        ra, rb = a.step(), b.step()
        assert ra.loss == rb.loss
    M = a.last.cache["M1"]
    assert set(np.unique(M)) <= {0.0, 1.0} and 0.2 < M.mean() < 0.8
    assert np.array_equal(a.net.theta, b.net.theta)
    # Evaluation drops nothing: equal to the plain network's loss at the same weights.
    assert a.evaluate()["loss"] == pytest.approx(a.net.loss_value(a.X, a.Y, "bce"), rel=1e-12)
    other = engine.build(c.replace(seed=5))
    other.net.theta[...] = engine.build(c).net.theta
    assert other.step().loss != engine.build(c).step().loss  # another seed, other masks (and data)


def test_no_dropout_no_l1_takes_the_hot_path():
    assert not engine.build(config())._general
    assert engine.build(config(dropout=0.1))._general and engine.build(config(l1=0.1))._general


@pytest.mark.parametrize("fields", [
    dict(dataset="moons", sizes=[2, 5, 4, 1], hidden="tanh", l1=0.03, dropout=0.3, lr=0.3, seed=3),
    dict(dataset="xor", features="x1,x2,x1*x2", sizes=[3, 3, 1], hidden="relu", l1=0.1, l2=0.05, dropout=0.5),
    dict(dataset="bumps", sizes=[2, 6, 1], hidden="sigmoid", dropout=0.2, l1=0.01),
    dict(dataset="spiral", sizes=[2, 6, 5, 3], hidden="leaky_relu", dropout=0.4, batch_size=50, seed=2),
])
def test_trainer_matches_reference_with_l1_dropout_features(fields):
    c = config(**fields)
    t = engine.build(c)
    for _ in range(4):
        params = {k: v.copy() for k, v in t.net.params.items()}
        rows = None
        if t.batch_size is not None:  # the reference takes the batch the trainer is about to take
            state = t.shuffling_state()
            Xa, _, _ = t._next_batch(fresh=True)
            t.restore_shuffling(state)
        r = t.step()
        X, Y = (t.X, t.Y) if t.batch_size is None else (None, r._Y)
        if X is None:
            X = t.data.X_train[_batch_rows(t, Xa)]
        masks = {f"M{l}": t.last.cache[f"M{l}"] for l in range(1, t.net.L)} if c.dropout else None
        loss, _, new = reference.step(params, X, Y, c, masks)
        assert loss == pytest.approx(r.loss, rel=1e-12)
        for k in new:
            assert np.allclose(new[k], t.net.params[k], rtol=1e-12, atol=1e-14)


def _batch_rows(t, Xa):
    """The rows of the training data a gathered batch [X, 1] came from."""
    Xin = t._Xa
    return [int(np.flatnonzero((Xin == row).all(axis=1))[0]) for row in Xa]


def test_reference_draws_the_first_full_batch_masks_like_the_trainer():
    c = config(dataset="moons", sizes=[2, 6, 1], dropout=0.5)
    t = engine.build(c)
    params = {k: v.copy() for k, v in t.net.params.items()}
    r = t.step()
    assert reference.step(params, t.X, t.Y, c)[0] == pytest.approx(r.loss, rel=1e-13)


@pytest.mark.parametrize("fields", [
    dict(dataset="moons", sizes=[2, 8, 8, 1], hidden="tanh", dropout=0.3, l1=0.05, l2=0.01),
    dict(dataset="circles", features="x1,x2,x1*x2,sin(x1)", sizes=[4, 6, 1], hidden="sigmoid", dropout=0.5),
    dict(dataset="bumps", sizes=[2, 5, 1], hidden="tanh", l1=0.02),
])
def test_gradcheck_passes_with_fixed_masks(fields):
    t = engine.build(config(**fields))
    for _ in range(5):
        t.step()
    report = check_trainer(t, t.X[:64], t.Y[:64])
    assert report.passed and report.worst < 1e-7


def test_gradcheck_fails_when_masks_are_not_fixed():
    """The reason to fix them: a fresh mask per probe makes the loss a different function each time."""
    t = engine.build(config(dataset="moons", sizes=[2, 8, 1], dropout=0.5))
    net, X, Y = t.net, t.X[:64], t.Y[:64]
    p, masks = fixed_masks(net, len(X), 0.5, seed=0)
    _, other = fixed_masks(net, len(X), 0.5, seed=1)
    from engine.gradcheck import _forward
    cache = _forward(net, X, (p, masks))
    grads = net.backward(cache, Y, "bce", dropout=(p, masks))
    report = engine.gradcheck(net, X, Y, "bce", dropout=(p, other),
                              backward=lambda n, c, y, loss: grads)
    assert not report.passed


def test_new_fields_validate():
    for field, value in [("l1", -1), ("dropout", 1.0), ("dropout", -0.1), ("l1", "x")]:
        with pytest.raises(engine.ConfigError) as e:
            config(**{field: value})
        assert e.value.field == field


def test_diagnostics_measure_a_run_with_features_before_and_after_steps():
    t = engine.build(config(dataset="moons", features="x1,x2,x1*x2", sizes=[3, 6, 1], dropout=0.3, l1=0.01))
    before = engine.diagnostics.measure(t)  # no step yet: the gradient at the current weights
    assert len(before.layers) == 2 and before.grad_norm > 0
    t.step()
    assert engine.diagnostics.measure(t, at="current").layers[0].units == 6


def test_reference_features_are_the_engines():
    x = np.random.default_rng(0).normal(size=(5, 2))
    for name in features.NAMES:
        assert np.array_equal(reference.features([name], x)[:, 0], features.expand([name], x)[:, 0])


def test_a_saved_dropout_run_continues_with_the_same_masks(tmp_path):
    c = engine.presets["moons"].replace(features="x1,x2,x1*x2", sizes=[3, 8, 1], dropout=0.3, l1=0.01,
                                        batch_size=32, epochs=5)
    a = engine.build(c)
    for _ in range(7):
        a.step()
    b = engine.io.load(engine.io.save(a, tmp_path / "run.npz"))
    assert b.net.features == ("x1", "x2", "x1*x2") and (b.dropout, b.l1) == (0.3, 0.01)
    assert [a.step().loss for _ in range(5)] == [b.step().loss for _ in range(5)]


def test_stepping_the_ops_leaves_exactly_the_weights_of_step():
    c = config(dataset="moons", features="x1,x2,x1*x2", sizes=[3, 5, 4, 1], dropout=0.4, l1=0.02, batch_size=25)
    a, b = engine.build(c), engine.build(c)
    for _ in range(3):
        ops = list(a.ops())
        b.step()
        assert np.array_equal(a.net.theta, b.net.theta)
    names = [(op.phase, op.name) for op in ops]
    assert names[0] == ("forward", "X") and ops[0].operands["x"].shape == (25, 2) and ops[0].result.shape == (25, 3)
    masks = [op for op in ops if op.equation.startswith("A1 <- A1 * M1")]
    assert len(masks) == 1 and np.allclose(masks[0].result, masks[0].operands["A1"] * masks[0].operands["M1"] / 0.6, rtol=1e-15, atol=0)
    assert any(op.equation.startswith("dA2 <- dA2 * M2") for op in ops)
    assert any("sign(W1)" in op.equation for op in ops)
