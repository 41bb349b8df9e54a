"""The trainer's guard: no inf or NaN ever reaches the weights.

A run that really diverges is stopped before the first non-finite value is written:
the weights stay exactly those of the last finite step, `trainer.halted` names the
quantity that went non-finite first, and the trainer can go on after a change.
"""

import warnings

import numpy as np
import pytest

import engine

# Runs that really diverge: deep linear/ReLU nets, linear outputs, MSE, far too high a learning rate.
DIVERGING = [
    ("sgd", 50.0, "linear", "float64"),
    ("sgd", 50.0, "relu", "float64"),
    ("sgd", 50.0, "relu", "float32"),
    ("momentum", 100.0, "linear", "float64"),
    ("momentum", 100.0, "relu", "float32"),
    ("adam", 100.0, "linear", "float32"),
    ("rmsprop", 30.0, "linear", "float32"),
]


def diverging_trainer(opt, lr, hidden, dtype, batch_size=None):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(32, 2))
    Y = rng.normal(size=(32, 1))
    net = engine.MLP([2, 8, 8, 8, 1], hidden=hidden, output="linear", init="he", seed=0, dtype=dtype)
    return engine.Trainer(net, "mse", engine.optim.make(opt, lr), X, Y, batch_size=batch_size)


def quietly(fn, *args):
    # Overflow warnings from NumPy are expected on the way to the guard.
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        return fn(*args)


def first_nonfinite(net, X, Y, loss):
    """Recompute, independently of the trainer, which quantity goes non-finite first."""
    with np.errstate(all="ignore"):
        Y_hat, cache = net.forward(X)
        for l in range(1, net.L + 1):
            for key in (f"Z{l}", f"A{l}"):
                if not np.isfinite(cache[key]).all():
                    return key
        if not np.isfinite(net.loss_value(X, Y, loss)):
            return "L"
        grads = net.backward(cache, Y, loss)
        bad = [k for k, g in grads.items() if not np.isfinite(g).all()]
        if bad:
            return bad
        flat = np.concatenate([g.ravel() for g in grads.values()])
        if not np.isfinite(float(np.vdot(flat, flat))):
            return "gradient norm"
    return None


@pytest.mark.parametrize("opt,lr,hidden,dtype", DIVERGING)
def test_a_diverging_run_stops_before_non_finite_weights(opt, lr, hidden, dtype):
    trainer = diverging_trainer(opt, lr, hidden, dtype)
    first_loss = None
    for _ in range(200):
        before = trainer.net.theta.copy()
        state = {k: v.copy() for k, v in trainer.opt.state.items()}
        t_before = trainer.opt.t
        r = quietly(trainer.step)
        if first_loss is None:
            first_loss = r.loss
        assert np.isfinite(trainer.net.theta).all()
        if not r.ok:
            break
    else:
        pytest.fail("the run was meant to diverge")

    # It really diverged: the loss exploded before the guard stepped in.
    assert trainer.history.curve().hi.max() > 1e3 * first_loss
    # Nothing was written: weights, optimizer state and counters are the last finite step's.
    assert np.array_equal(trainer.net.theta, before)
    assert trainer.opt.t == t_before
    for key, value in state.items():
        assert np.array_equal(trainer.opt.state[key], value)
    assert trainer.history.n_steps == trainer.step_count
    assert np.isfinite(trainer.history.curve().hi).all()

    halted = trainer.halted
    assert halted is not None and r.nonfinite is halted and not r.ok and np.isnan(r.loss)
    assert halted.step == trainer.step_count + 1
    assert halted.kind in ("inf", "NaN", "inf or NaN")
    assert halted.phase in ("forward", "loss", "backward")
    assert str(halted.step) in halted.message and halted.quantity in halted.message
    assert set(halted.to_dict()) == {"step", "phase", "layer", "quantity", "kind"}
    # The named quantity is the one that really goes non-finite first at the kept weights.
    expected = first_nonfinite(trainer.net, trainer.X, trainer.Y, trainer.loss)
    if isinstance(expected, list):
        assert halted.phase == "backward" and halted.quantity.startswith("d")
    else:
        assert halted.quantity == expected
        if expected.startswith(("Z", "A")):
            assert halted.phase == "forward" and halted.layer == int(expected[1:])

    # Asking again refuses again, and still writes nothing.
    r2 = quietly(trainer.step)
    assert not r2.ok and np.array_equal(trainer.net.theta, before)


@pytest.mark.parametrize("opt,lr,hidden,dtype", DIVERGING[:3])
def test_phases_and_step_refuse_the_same_step(opt, lr, hidden, dtype):
    plain = diverging_trainer(opt, lr, hidden, dtype)
    phased = diverging_trainer(opt, lr, hidden, dtype)
    for _ in range(200):
        r = quietly(plain.step)
        names = quietly(lambda: [p.name for p in phased.phases()])
        assert np.array_equal(plain.net.theta, phased.net.theta)
        if not r.ok:
            break
    assert names[-1] != "update"
    assert phased.halted is not None
    assert phased.halted.to_dict() == plain.halted.to_dict()


def test_fit_stops_at_the_halt():
    trainer = diverging_trainer("sgd", 50.0, "relu", "float64", batch_size=8)
    metrics = quietly(trainer.fit, 1000)
    assert trainer.halted is not None
    assert trainer.epoch_count < 1000
    assert np.isfinite(trainer.net.theta).all()
    assert metrics["step"] == trainer.step_count


# ----- which quantity, exactly ------------------------------------------------------------

def two_layer(X, W1, W2, Y, hidden="linear", clip=None):
    net = engine.MLP([len(W1), len(W2), 1], hidden=hidden, output="linear", init="zeros", seed=0)
    net.params["W1"] = W1
    net.params["W2"] = W2
    return engine.Trainer(net, "mse", engine.optim.SGD(0.1), X, Y, clip=clip)


def test_names_a_forward_overflow():
    trainer = two_layer([[1e300]], [[1e10]], [[1.0]], [[0.0]])
    quietly(trainer.step)
    h = trainer.halted
    assert (h.quantity, h.phase, h.layer, h.kind) == ("Z1", "forward", 1, "inf")


def test_names_a_nan():
    # A NaN in the data: the guard keeps it out of the weights and says where it showed up.
    trainer = two_layer([[1.0], [np.nan]], [[0.5]], [[0.5]], [[0.0], [1.0]])
    before = trainer.net.theta.copy()
    quietly(trainer.step)
    assert (trainer.halted.quantity, trainer.halted.layer, trainer.halted.kind) == ("Z1", 1, "NaN")
    assert np.array_equal(trainer.net.theta, before)


def test_names_a_loss_overflow():
    # Every activation is finite (1e200) but its square is not.
    trainer = two_layer([[1e200]], [[1.0]], [[1.0]], [[0.0]])
    quietly(trainer.step)
    h = trainer.halted
    assert (h.quantity, h.phase) == ("L", "loss")
    assert "the loss" in h.message


def test_names_a_backward_overflow():
    # Forward and loss are finite (Z2 = 1e10), but dW2 = A1^T dZ2 = 1e300 * 1e10 is not.
    trainer = two_layer([[1e300]], [[1.0]], [[1e-290]], [[0.0]])
    quietly(trainer.step)
    h = trainer.halted
    assert (h.quantity, h.phase, h.layer, h.kind) == ("dW2", "backward", 2, "inf")


def test_gradient_norm_overflow_resumes_once_clipping_is_on():
    # Every gradient entry is finite (dW2 = 1e200, dW1 = 1), only sum g^2 overflows.
    trainer = two_layer([[1e200]], [[1.0]], [[1e-200]], [[0.0]])
    before = trainer.net.theta.copy()
    quietly(trainer.step)
    h = trainer.halted
    assert (h.quantity, h.phase, h.layer, h.kind) == ("gradient norm", "backward", 2, "inf")
    assert "clipping" in h.message
    assert np.array_equal(trainer.net.theta, before)
    # The change the message asks for: clipping rescales the gradient and training goes on.
    trainer.clip = 1.0
    r = quietly(trainer.step)
    assert r.ok and r.clipped and trainer.halted is None
    assert np.isfinite(trainer.net.theta).all()
    assert np.linalg.norm(trainer.net.theta - before) == pytest.approx(0.1, rel=1e-9)  # lr x clip


def test_a_refused_batch_does_not_stop_the_other_batches():
    # One poisoned example: only the minibatch holding it is refused.
    rng = np.random.default_rng(1)
    X = rng.normal(size=(8, 2))
    X[5] = [1e200, 1e200]
    Y = rng.normal(size=(8, 1))
    net = engine.MLP([2, 3, 1], hidden="linear", output="linear", init="xavier", seed=0)
    trainer = engine.Trainer(net, "mse", engine.optim.SGD(0.1), X, Y, batch_size=2)
    results = [quietly(trainer.step) for _ in range(12)]
    refused = [r for r in results if not r.ok]
    assert 1 <= len(refused) <= 3  # once per epoch (three epochs of four batches)
    assert any(r.ok for r in results[results.index(refused[0]):])
    assert trainer.halted is None or not results[-1].ok  # a good step clears the flag
    assert np.isfinite(net.theta).all()


def test_after_real_divergence_a_lower_lr_needs_a_reset():
    """What resuming looks like after a genuine blow-up.

    By the time float64 overflows, the last finite weights are themselves huge (the loss
    had grown by 1e150), so lowering the learning rate alone is refused again, as the
    halt message says; lowering it and resetting the run trains normally.
    """
    trainer = diverging_trainer("sgd", 50.0, "linear", "float64")
    while quietly(trainer.step).ok:
        pass
    assert "rewind" in trainer.halted.message
    kept = trainer.net.theta.copy()
    assert np.abs(kept).max() > 1e50
    trainer.lr = 1e-3
    assert not quietly(trainer.step).ok
    assert np.array_equal(trainer.net.theta, kept)

    trainer.net.reinitialize()
    trainer.reset_state()
    assert trainer.halted is None
    losses = [trainer.step().loss for _ in range(200)]
    assert all(np.isfinite(losses)) and losses[-1] < losses[0]
    assert trainer.halted is None and np.isfinite(trainer.net.theta).all()


def test_rewind_after_divergence_then_resume_with_a_lower_lr():
    """The guard keeps finite weights, but those are huge by then: rewind() goes back to a
    checkpoint from before the blow-up, and a lower learning rate then trains on."""
    from engine.scenarios import EXPLODING

    trainer = engine.build(EXPLODING)
    with np.errstate(over="ignore", invalid="ignore"):  # the overflow is the point; the guard reports it
        for _ in range(500):
            if not trainer.step().ok:
                break
        assert trainer.halted is not None
        halted_at = trainer.step_count
        assert np.isfinite(trainer.net.theta).all()
        # Continuing from the kept weights fails again even with a much lower lr.
        trainer.lr = 1e-3
        assert not trainer.step().ok

    step = trainer.rewind()
    assert step < halted_at
    assert trainer.halted is None
    assert trainer.step_count == step and trainer.history.n_steps == step
    for _ in range(300):
        assert trainer.step().ok
    assert np.isfinite(trainer.net.theta).all()
    assert trainer.evaluate()["loss"] < 0.7


def test_rewind_restores_the_checkpointed_weights_and_optimizer_state():
    config = engine.presets["default"].replace(optimizer="adam", lr=0.01)
    trainer = engine.build(config)
    for _ in range(64):
        trainer.step()
    saved_theta = trainer.net.theta.copy()
    saved_m = trainer.opt.state["m"].copy()
    for _ in range(7):
        trainer.step()
    assert trainer.rewind() == 64
    assert np.array_equal(trainer.net.theta, saved_theta)
    assert np.array_equal(trainer.opt.state["m"], saved_m)
    assert trainer.opt.t == 64


@pytest.mark.parametrize("batch_size", [None, 16])
def test_steps_after_a_rewind_replay_the_original_ones_exactly(batch_size):
    config = engine.presets["default"].replace(dataset="moons", optimizer="adam", lr=0.01, batch_size=batch_size)
    trainer = engine.build(config)
    n = 64
    for _ in range(n):
        trainer.step()
    original = [trainer.step().loss for _ in range(23)]
    theta = trainer.net.theta.copy()
    assert trainer.rewind() == n
    assert [trainer.step().loss for _ in range(23)] == original
    assert np.array_equal(trainer.net.theta, theta)


@pytest.mark.parametrize("how", ["step", "ops"])
def test_a_refused_step_leaves_no_latest_cycle(how):
    from engine.scenarios import EXPLODING

    trainer = engine.build(EXPLODING)
    with np.errstate(over="ignore", invalid="ignore"):
        while trainer.halted is None:
            assert trainer.last is None or np.isfinite(trainer.last.g).all()
            if how == "step":
                trainer.step()
            else:
                list(trainer.ops())
    assert trainer.last is None
    report = engine.diagnostics.measure(trainer)
    assert report.halted is not None and any(row.nonfinite for row in report.layers)
