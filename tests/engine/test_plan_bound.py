"""The Plan's pre-bound activations and loss (engine/plan.py) give the methods' numbers
bit for bit, and fall back to the methods where they do not apply; SGD's cached step
buffer follows a new gradient array."""

import numpy as np
import pytest

from engine import activations, losses
from engine.optim import SGD
from engine.plan import bound_backward, bound_forward, bound_loss

RNG = np.random.default_rng(3)


def arrays(shape, dtype):
    Z = (RNG.standard_normal(shape) * 30).astype(dtype)  # large logits: exercises the stable sigmoid
    Z.flat[0] = 0.0
    return Z


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name", ["relu", "sigmoid"])
@pytest.mark.parametrize("shape", [(4, 3), (300, 3)])  # ReLU has a different branch past 256 entries
def test_bound_activations_match_the_methods(dtype, name, shape):
    act = activations.get(name)
    Z = arrays(shape, dtype)
    fwd = bound_forward(act, Z)
    got, want = np.empty_like(Z), np.empty_like(Z)
    fwd(Z, got)
    act.forward(Z, want)
    assert got.dtype == want.dtype and np.array_equal(got, want)
    dA = arrays(shape, dtype)
    bwd = bound_backward(act, Z)
    assert np.array_equal(bwd(Z, want, dA, np.empty_like(Z)), act.backward(Z, want, dA, np.empty_like(Z)))


def test_large_relu_and_other_activations_use_the_methods():
    for name in ("tanh", "leaky_relu", "linear", "softmax"):
        act = activations.get(name)
        assert bound_forward(act, np.zeros((4, 3))) == act.forward
    relu = activations.get("relu")
    assert bound_forward(relu, np.zeros((300, 3))) == relu.forward
    assert bound_backward(relu, np.zeros((300, 3))) == relu.backward
    assert bound_forward(relu, np.zeros((4, 3), dtype=np.float16)) == relu.forward


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_bound_mse_sigmoid_matches_value_and_dZ(dtype):
    sig, mse = activations.get("sigmoid"), losses.get("mse")
    Z = arrays((4, 1), dtype)
    A = sig.forward(Z)
    Y = RNG.integers(0, 2, (4, 1)).astype(dtype)
    f = bound_loss(mse, sig, Z)
    value, dZ = f(A, Y)
    want_value, want_dZ = mse.value_and_dZ(Z, A, Y, sig, 2)
    assert value == want_value and np.array_equal(dZ, want_dZ)


def test_bound_loss_only_for_mse_through_a_sigmoid():
    Z = np.zeros((4, 2))
    assert bound_loss(losses.get("cross_entropy"), activations.get("softmax"), Z) is None
    assert bound_loss(losses.get("mse"), activations.get("linear"), Z) is None
    assert bound_loss(losses.get("bce"), activations.get("sigmoid"), Z) is None


def test_sgd_step_buffer_follows_a_new_gradient():
    opt = SGD(0.5)
    g1 = np.arange(3.0)
    assert np.array_equal(opt.delta(g1), 0.5 * g1)
    g2 = np.arange(5.0, dtype=np.float32)  # another array, shape and dtype: a new buffer
    d2 = opt.delta(g2)
    assert d2.shape == (5,) and d2.dtype == np.float32 and np.array_equal(d2, 0.5 * g2)
    g1[:] = 7.0
    assert np.array_equal(opt.delta(g1), [3.5, 3.5, 3.5])
    opt.reset()
    assert np.array_equal(opt.delta(g2), 0.5 * g2)
