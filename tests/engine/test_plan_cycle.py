"""The hot path's written-out cycle (engine/plan.py Plan.cycle), the 1/m folded into
plain SGD's step (Trainer._finish) with the gradient scaled only when read, and the
tuple-backed StepResult."""

import copy
import pickle

import numpy as np
import pytest

import engine
from engine.records import StepResult


def build(**changes):
    return engine.build(engine.RunConfig.from_dict(changes))


# Batches of 7 and 50 rows: 1/m is not a power of two, so folding it into lr changes the
# rounding: step() and the recorded path must still agree bit for bit.
RUNS = {
    "sgd-full-batch-odd-m": dict(dataset="moons", sizes=[2, 5, 1], lr=0.3),
    "sgd-minibatch-7": dict(dataset="moons", sizes=[2, 4, 4, 1], batch_size=7, lr=0.2),
    "sgd-softmax-ce-50": dict(dataset="spiral", sizes=[2, 8, 3], output="softmax", loss="cross_entropy",
                              batch_size=50, lr=0.2),
    "adam-7": dict(dataset="moons", sizes=[2, 4, 1], optimizer="adam", lr=0.01, batch_size=7),
    "sgd-clip-7": dict(dataset="moons", sizes=[2, 4, 1], batch_size=7, lr=0.5, clip=0.1),
    "momentum-7": dict(dataset="moons", sizes=[2, 4, 1], optimizer="momentum", lr=0.1, batch_size=7),
    "rmsprop-float32-50": dict(dataset="circles", sizes=[2, 8, 1], optimizer="rmsprop", lr=0.01, batch_size=50,
                               dtype="float32"),
    "adam-float32-full-batch": dict(dataset="moons", sizes=[2, 6, 1], optimizer="adam", lr=0.02, dtype="float32"),
}


@pytest.mark.parametrize("name", list(RUNS))
def test_step_and_ops_leave_the_same_gradient_and_weights(name):
    plain, opped = build(**RUNS[name]), build(**RUNS[name])
    for k in range(30):
        r = plain.step()
        list(opped.ops())
        ro = opped.result
        assert r.grad_norm == ro.grad_norm, k
        assert np.array_equal(plain.net.theta, opped.net.theta), k
        # The hot path may leave g as the batch's sum until read: reading it gives the gradient.
        assert np.array_equal(plain.last.g, opped.last.g), k
        assert np.array_equal(plain.last.delta, opped.last.delta), k


def test_folded_gradient_is_the_gradient_when_read():
    """SGD on the hot path folds 1/m into its step; last.g, read after the step, is
    (1/m) [X, 1]^T dZ all the same (the reference cycle's gradient)."""
    tr = build(dataset="moons", sizes=[2, 5, 1], lr=0.3)
    ref = build(dataset="moons", sizes=[2, 5, 1], lr=0.3)
    tr.step()
    assert tr.last.g_scale == 1.0 / len(tr.X)  # not scaled yet: nobody has read it
    grads = ref.net.backward(ref.net.forward(ref.X)[1], ref.Y, ref.loss)
    got = tr.net.grad_views(tr.last.g)
    assert tr.last.g_scale == 1.0
    for name, want in grads.items():
        np.testing.assert_allclose(got[name], want, rtol=1e-12, atol=1e-15)
    again = tr.last.g  # a second read does not scale again
    assert np.array_equal(again, tr.last.g) and tr.last.g_scale == 1.0


def test_plan_writes_out_the_small_relu_sigmoid_cycle():
    """XOR's cycle is written out call by call (no per-layer function frames)."""
    tr = engine.build(engine.presets["seed"])
    tr.step()
    src = tr.last.source
    assert "maximum(Z1, zero, out=A1_out)" in src and "logaddexp(zero, A2, A2)" in src
    assert "forward" not in src and "backward" not in src and "value_and_dZ" not in src
    other = build(dataset="spiral", sizes=[2, 8, 3], hidden="tanh", output="softmax", loss="cross_entropy")
    other.step()
    assert "forward1(Z1, A1_out)" in other.last.source and "value_and_dZ(" in other.last.source


@pytest.mark.parametrize("hidden", ["relu", "sigmoid", "tanh", "leaky_relu", "linear"])
def test_cycle_matches_the_network_forward_and_backward(hidden):
    """One step's Z, A and gradient from Plan.cycle equal engine/network.py's."""
    cfg = dict(dataset="gaussians", sizes=[2, 6, 5, 1], hidden=hidden, lr=0.1)
    tr, ref = build(**cfg), build(**cfg)
    cache_ref = ref.net.forward(ref.X)[1]
    grads = ref.net.backward(cache_ref, ref.Y, ref.loss)
    tr.step()
    for key, Z in tr.last.cache.items():
        if key.startswith("Z"):
            assert np.array_equal(Z, cache_ref[key]), key
    for name, g in tr.net.grad_views(tr.last.g).items():
        np.testing.assert_allclose(g, grads[name], rtol=1e-12, atol=1e-15)


def test_step_result_reads_like_the_object_it_was():
    tr = engine.build(engine.presets["seed"])
    r = tr.step()
    assert isinstance(r, StepResult) and r.ok and r.step == 1 and r.epoch == 1
    assert r.batch_size == 4 and r.clipped is False and r.nonfinite is None
    assert 0.0 <= r.accuracy <= 1.0 and r.accuracy == r.accuracy  # cached on first use
    assert r == r and r != tr.step()  # identity, never an array comparison
    assert len({r}) == 1
    for twin in (copy.copy(r), pickle.loads(pickle.dumps(r))):
        assert (twin.step, twin.loss, twin.grad_norm) == (r.step, r.loss, r.grad_norm)
        assert np.array_equal(twin._Y, r._Y)
    made = StepResult(3, 1, 0.5, 0.1, 2.0, True, None, None, np.zeros((2, 1)))
    assert made.loss == 0.5 and made.clipped and made.batch_size == 2 and np.isnan(made.accuracy)
    assert "step=3" in repr(made)
