"""PyTorch float64 parity for L1, dropout (with a fixed mask), features and regression.

PyTorch's autograd differentiates |W| with sign(W) (0 at 0) and a masked, rescaled
activation exactly as inverted dropout does, so loss and every gradient must agree.
"""

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="PyTorch is not installed; the parity tests need it (pip install torch)")

import engine  # noqa: E402
from engine.gradcheck import _forward, fixed_masks  # noqa: E402
from tests.engine.test_parity_torch import TORCH_ACT, close, t64, torch_loss, torch_params  # noqa: E402

pytestmark = pytest.mark.torch
torch.set_num_threads(1)

CASES = [
    # hidden, output, loss, sizes, l1, l2, dropout, features
    ("relu", "sigmoid", "bce", [2, 6, 5, 1], 0.3, 0.0, 0.5, None),
    ("tanh", "softmax", "cross_entropy", [2, 4, 3], 0.0, 0.1, 0.25, None),
    ("sigmoid", "linear", "mse", [3, 5, 1], 0.7, 0.2, 0.0, ["x1", "x2", "x1*x2"]),
    ("leaky_relu", "tanh", "mse", [4, 7, 6, 2], 0.05, 0.0, 0.4, ["x1^2", "x2^2", "sin(x1)", "sin(x2)"]),
]


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("hidden,output,loss_name,sizes,l1,l2,p,feats", CASES)
def test_l1_dropout_features_match_torch(hidden, output, loss_name, sizes, l1, l2, p, feats, seed):
    rng = np.random.default_rng(seed)
    net = engine.MLP(sizes, hidden=hidden, output=output, init="xavier", seed=seed, features=feats)
    for layer in net.layers:
        layer.b[...] = rng.normal(scale=0.5, size=layer.b.shape)
    m = 9
    x = rng.normal(size=(m, 2 if feats else sizes[0]))
    n_out = sizes[-1]
    if loss_name == "mse":
        Y = rng.uniform(-1, 1, (m, n_out))
    elif loss_name == "cross_entropy":
        Y = np.eye(n_out)[rng.integers(0, n_out, m)]
    else:
        Y = (rng.random((m, n_out)) < 0.5).astype(float)
    dropout = fixed_masks(net, m, p, seed=seed)

    cache = _forward(net, x, dropout)
    grads = net.backward(cache, Y, loss_name, l2=l2, l1=l1, dropout=dropout)
    value = engine.losses.get(loss_name).value(cache[f"Z{net.L}"], cache[f"A{net.L}"], Y, net.layers[-1].act)
    value += engine.network.l2_penalty(net, l2, m) + engine.network.l1_penalty(net, l1, m)

    # PyTorch, written independently: features by hand, dropout as A * M / (1 - p).
    P = torch_params(net)
    tx = t64(x)
    if feats:
        cols = {"x1": tx[:, 0], "x2": tx[:, 1], "x1^2": tx[:, 0] ** 2, "x2^2": tx[:, 1] ** 2,
                "x1*x2": tx[:, 0] * tx[:, 1], "sin(x1)": torch.sin(tx[:, 0]), "sin(x2)": torch.sin(tx[:, 1])}
        A = torch.stack([cols[f] for f in feats], dim=1)
    else:
        A = tx
    tcache = {}
    for layer in net.layers:
        l = layer.index
        Z = A @ P[f"W{l}"] + P[f"b{l}"]
        A = TORCH_ACT[layer.act.name](Z)
        if dropout is not None and l < net.L:
            A = A * t64(dropout[1][l]) / (1 - p)
        tcache[f"Z{l}"], tcache[f"A{l}"] = Z, A
    tvalue = torch_loss(net, tcache, Y, loss_name, P, l2)
    if l1:
        tvalue = tvalue + l1 / m * sum(P[f"W{layer.index}"].abs().sum() for layer in net.layers)
    assert value == pytest.approx(tvalue.item(), rel=1e-12, abs=1e-14)
    tvalue.backward()
    for name, tp in P.items():
        close(grads["d" + name], tp.grad, rtol=1e-9, atol=1e-12)
