"""PyTorch float64 parity: forward values, loss, every gradient, optimizer steps, L2, clipping.

Each engine network is mirrored by a hand-built PyTorch computation with the same
weights; shapes are drawn at random from seeded generators.
"""

import itertools

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="PyTorch is not installed; the parity tests need it (pip install torch)")
F = torch.nn.functional

import engine  # noqa: E402
from engine import activations, losses  # noqa: E402

pytestmark = pytest.mark.torch
torch.set_num_threads(1)  # tiny matrices: threads only add overhead on a shared machine

COMBOS = [(h, o, name) for h, o, name in itertools.product(activations.HIDDEN, activations.OUTPUT, losses.LOSSES)
          if o in losses.get(name).outputs]

TORCH_ACT = {
    "relu": torch.relu,
    "leaky_relu": lambda z: F.leaky_relu(z, 0.01),
    "tanh": torch.tanh,
    "sigmoid": torch.sigmoid,
    "linear": lambda z: z,
    "softmax": lambda z: torch.softmax(z, dim=1),
}


def t64(a):
    return torch.tensor(np.asarray(a), dtype=torch.float64)


def torch_params(net):
    """Leaf tensors holding copies of the engine's W1, b1, ... (same order)."""
    return {name: t64(p).requires_grad_(True) for name, p in net.params.items()}


def torch_forward(net, P, X):
    A = t64(X)
    cache = {}
    for layer in net.layers:
        l = layer.index
        Z = A @ P[f"W{l}"] + P[f"b{l}"]
        A = TORCH_ACT[layer.act.name](Z)
        cache[f"Z{l}"], cache[f"A{l}"] = Z, A
    return cache


def torch_loss(net, cache, Y, loss_name, P=None, l2=0.0):
    """The contract's loss conventions, written independently in PyTorch."""
    L = net.L
    Z, A, Y = cache[f"Z{L}"], cache[f"A{L}"], t64(Y)
    m = Y.shape[0]
    out = net.output
    if loss_name == "mse":
        value = 0.5 * ((A - Y) ** 2).sum() / m
    elif loss_name == "bce":
        if out == "sigmoid":
            value = F.binary_cross_entropy_with_logits(Z, Y, reduction="sum") / m
        else:
            value = -(Y * torch.log(A) + (1 - Y) * torch.log1p(-A)).sum() / m
    else:
        logA = F.log_softmax(Z, dim=1) if out == "softmax" else F.logsigmoid(Z)
        value = -(Y * logA).sum() / m
    if l2:
        value = value + 0.5 * l2 / m * sum((P[f"W{layer.index}"] ** 2).sum() for layer in net.layers)
    return value


def random_case(hidden, output, loss_name, seed):
    rng = np.random.default_rng(seed)
    depth = int(rng.integers(1, 5))
    n_out = int(rng.integers(2, 5)) if output == "softmax" else int(rng.integers(1, 5))
    sizes = [int(rng.integers(1, 6))] + [int(rng.integers(1, 7)) for _ in range(depth - 1)] + [n_out]
    m = int(rng.integers(1, 9))
    net = engine.MLP(sizes, hidden=hidden, output=output, init="xavier", seed=seed)
    for layer in net.layers:
        layer.b[...] = rng.normal(scale=0.5, size=layer.b.shape)
    X = rng.normal(size=(m, sizes[0]))
    if loss_name == "mse":
        Y = rng.normal(size=(m, n_out))
    elif loss_name == "cross_entropy" and output == "softmax":
        Y = np.eye(n_out)[rng.integers(0, n_out, m)]
    else:
        Y = (rng.random((m, n_out)) < 0.5).astype(float)
    return net, X, Y


def close(a, b, rtol=1e-10, atol=1e-12):
    np.testing.assert_allclose(np.asarray(a), b.detach().numpy() if torch.is_tensor(b) else b, rtol=rtol, atol=atol)


@pytest.mark.parametrize("l2", [0.0, 0.25])
@pytest.mark.parametrize("hidden,output,loss_name", COMBOS)
def test_forward_loss_and_gradients_match_torch(hidden, output, loss_name, l2):
    for seed in range(3):
        net, X, Y = random_case(hidden, output, loss_name, seed=seed * 101 + len(hidden))
        Y_hat, cache = net.forward(X)
        P = torch_params(net)
        tcache = torch_forward(net, P, X)
        for key in tcache:
            close(cache[key], tcache[key])
        assert Y_hat is cache[f"A{net.L}"]

        value = net.loss_value(X, Y, loss_name, l2=l2)
        tvalue = torch_loss(net, tcache, Y, loss_name, P, l2)
        assert value == pytest.approx(tvalue.item(), rel=1e-12, abs=1e-14)
        if not l2:
            # The public call form: loss(Y_hat, Y).
            assert losses.get(loss_name)(Y_hat, Y) == pytest.approx(tvalue.item(), rel=1e-9, abs=1e-12)

        tvalue.backward()
        grads = net.backward(cache, Y, loss_name, l2=l2)
        assert set(grads) == {"d" + name for name in net.params}
        for name, p in P.items():
            assert grads["d" + name].shape == net.params[name].shape
            close(grads["d" + name], p.grad, rtol=1e-9, atol=1e-12)


# ----- optimizer steps through a Trainer ---------------------------------------------------

def make_trainer(opt, seed=0, l2=0.0, clip=None, clip_mode="norm", hidden="tanh", output="softmax",
                 loss_name="cross_entropy"):
    rng = np.random.default_rng(seed)
    sizes = [3, 5, 4, 3]
    net = engine.MLP(sizes, hidden=hidden, output=output, init="xavier", seed=seed)
    X = rng.normal(size=(7, 3))
    Y = np.eye(3)[rng.integers(0, 3, 7)]
    trainer = engine.Trainer(net, loss_name, opt, X, Y, l2=l2, clip=clip, clip_mode=clip_mode)
    return trainer


def torch_run(trainer, P, steps, update, l2=0.0, clip=None, clip_mode="norm", loss_name="cross_entropy"):
    """Run `steps` full-batch steps in PyTorch; `update(P)` applies the optimizer. Returns losses."""
    net = trainer.net
    values = []
    for _ in range(steps):
        for p in P.values():
            p.grad = None
        tcache = torch_forward(net, P, trainer.X)
        value = torch_loss(net, tcache, trainer.Y, loss_name, P, l2)
        value.backward()
        values.append(value.item())
        if clip is not None:
            if clip_mode == "norm":
                with torch.no_grad():
                    norm = torch.sqrt(sum((p.grad ** 2).sum() for p in P.values()))
                    if norm > clip:
                        for p in P.values():
                            p.grad *= clip / norm
            else:
                torch.nn.utils.clip_grad_value_(list(P.values()), clip)
        update(P)
    return values


def assert_same_run(trainer, P, losses_torch, steps, rtol=1e-9):
    engine_losses = [trainer.step().loss for _ in range(steps)]
    np.testing.assert_allclose(engine_losses, losses_torch, rtol=1e-10, atol=1e-13)
    for name, p in P.items():
        close(trainer.net.params[name], p, rtol=rtol, atol=1e-12)


def torch_optimizer_update(opt):
    def update(P):
        opt.step()
    return update


STEPS = 12


@pytest.mark.parametrize("seed", [0, 1])
def test_sgd_matches_torch(seed):
    trainer = make_trainer(engine.optim.SGD(lr=0.3), seed=seed)
    P = torch_params(trainer.net)
    values = torch_run(trainer, P, STEPS, torch_optimizer_update(torch.optim.SGD(list(P.values()), lr=0.3)))
    assert_same_run(trainer, P, values, STEPS)


@pytest.mark.parametrize("seed", [0, 1])
def test_momentum_matches_the_course_form(seed):
    # v <- beta v + (1 - beta) g; W <- W - lr v. torch.optim.SGD(momentum, dampening=1 - beta)
    # skips the dampening on its first step, so the update is written out by hand.
    lr, beta = 0.3, 0.8
    trainer = make_trainer(engine.optim.Momentum(lr=lr, beta=beta), seed=seed)
    P = torch_params(trainer.net)
    v = {name: torch.zeros_like(p) for name, p in P.items()}

    def update(P):
        with torch.no_grad():
            for name, p in P.items():
                v[name] = beta * v[name] + (1 - beta) * p.grad
                p -= lr * v[name]

    values = torch_run(trainer, P, STEPS, update)
    assert_same_run(trainer, P, values, STEPS)
    # The state is kept per parameter and readable by name.
    views = trainer.opt.state_views(trainer.net)
    for name in P:
        close(views[name]["v"], v[name])


@pytest.mark.parametrize("beta1,beta2,eps", [(0.9, 0.999, 1e-8), (0.5, 0.9, 1e-4)])
def test_adam_matches_torch(beta1, beta2, eps):
    trainer = make_trainer(engine.optim.Adam(lr=0.05, beta1=beta1, beta2=beta2, eps=eps))
    P = torch_params(trainer.net)
    opt = torch.optim.Adam(list(P.values()), lr=0.05, betas=(beta1, beta2), eps=eps)
    values = torch_run(trainer, P, STEPS, torch_optimizer_update(opt))
    assert_same_run(trainer, P, values, STEPS)


@pytest.mark.parametrize("rho,eps", [(0.9, 1e-8), (0.5, 1e-3)])
def test_rmsprop_matches_torch(rho, eps):
    trainer = make_trainer(engine.optim.RMSProp(lr=0.01, rho=rho, eps=eps))
    P = torch_params(trainer.net)
    opt = torch.optim.RMSprop(list(P.values()), lr=0.01, alpha=rho, eps=eps)
    values = torch_run(trainer, P, STEPS, torch_optimizer_update(opt))
    assert_same_run(trainer, P, values, STEPS)


@pytest.mark.parametrize("name", ["sgd", "adam"])
def test_l2_matches_torch(name):
    l2 = 0.4
    opt = engine.optim.SGD(lr=0.3) if name == "sgd" else engine.optim.Adam(lr=0.05)
    trainer = make_trainer(opt, l2=l2)
    P = torch_params(trainer.net)
    topt = (torch.optim.SGD(list(P.values()), lr=0.3) if name == "sgd"
            else torch.optim.Adam(list(P.values()), lr=0.05))
    values = torch_run(trainer, P, STEPS, torch_optimizer_update(topt), l2=l2)
    assert_same_run(trainer, P, values, STEPS)


@pytest.mark.parametrize("clip_mode,clip", [("norm", 0.05), ("value", 0.02)])
def test_clipping_matches_torch(clip_mode, clip):
    trainer = make_trainer(engine.optim.SGD(lr=0.5), clip=clip, clip_mode=clip_mode, l2=0.1)
    P = torch_params(trainer.net)
    values = torch_run(trainer, P, STEPS, torch_optimizer_update(torch.optim.SGD(list(P.values()), lr=0.5)),
                       l2=0.1, clip=clip, clip_mode=clip_mode)
    probe = make_trainer(engine.optim.SGD(lr=0.5), clip=clip, clip_mode=clip_mode, l2=0.1)
    first = probe.step()
    assert first.clipped, "the threshold is meant to bite on the first step"
    assert_same_run(trainer, P, values, STEPS)


def test_clip_norm_agrees_with_torch_clip_grad_norm():
    # torch divides by (norm + 1e-6); the engine by the norm itself. Same direction, and
    # the same length to within that 1e-6.
    trainer = make_trainer(engine.optim.SGD(lr=1.0), clip=0.05)
    P = torch_params(trainer.net)
    before = trainer.net.theta.copy()
    r = trainer.step()
    tvalue = torch_loss(trainer.net, torch_forward(trainer.net, P, trainer.X), trainer.Y, "cross_entropy")
    tvalue.backward()
    total = torch.nn.utils.clip_grad_norm_(list(P.values()), 0.05)
    assert r.grad_norm == pytest.approx(total.item(), rel=1e-12)
    change = before - trainer.net.theta
    tchange = np.concatenate([np.vstack([P[f"W{l}"].grad.numpy(), P[f"b{l}"].grad.numpy()]).ravel()
                              for l in range(1, trainer.net.L + 1)])
    np.testing.assert_allclose(change, tchange, rtol=1e-5)
    assert np.linalg.norm(change) == pytest.approx(0.05, rel=1e-12)


def test_default_preset_run_matches_torch():
    # The XOR default preset for a few hundred steps: errors do not drift apart.
    trainer = engine.build(engine.presets["default"])
    P = torch_params(trainer.net)
    values = torch_run(trainer, P, 300, torch_optimizer_update(torch.optim.SGD(list(P.values()), lr=1.0)),
                       loss_name="bce")
    engine_losses = [trainer.step().loss for _ in range(300)]
    np.testing.assert_allclose(engine_losses, values, rtol=1e-8)
    for name, p in P.items():
        close(trainer.net.params[name], p, rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize("kind,torch_sched", [
    ("step", lambda o: torch.optim.lr_scheduler.StepLR(o, step_size=3, gamma=0.5)),
    ("exponential", lambda o: torch.optim.lr_scheduler.ExponentialLR(o, gamma=0.8)),
    ("cosine", lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=10, eta_min=0.01)),
])
def test_schedules_match_torch(kind, torch_sched):
    config = engine.presets["default"].replace(schedule=kind, lr_step_size=3, lr_gamma=0.5 if kind == "step" else 0.8,
                                               lr_min=0.01, epochs=10, lr=0.4)
    trainer = engine.build(config)
    p = torch.zeros(1, requires_grad=True)
    opt = torch.optim.SGD([p], lr=0.4)
    sched = torch_sched(opt)
    for _ in range(10):
        r = trainer.step()  # full batch: one step per epoch
        assert r.lr == pytest.approx(opt.param_groups[0]["lr"], rel=1e-12)
        opt.step()
        sched.step()
