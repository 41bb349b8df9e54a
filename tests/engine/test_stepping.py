"""Stepping: Trainer.step(), Trainer.phases() and Trainer.ops() run the same cycle.

They must leave bit-identical parameters (np.array_equal, not allclose) over many
steps for every kind of run, and the phases and operations must hold the arrays
they claim, with truthful equations and shapes.
"""

import re

import numpy as np
import pytest

import engine

CONFIGS = {
    "xor-default": {},
    "seed-preset": dict(engine.presets["seed"].to_dict(), epochs=5000),
    "minibatch-shuffled-momentum-l2": dict(dataset="moons", sizes=[2, 8, 8, 1], hidden="relu", init="he",
                                           batch_size=16, optimizer="momentum", lr=0.1, l2=0.01),
    "softmax-ce-adam-clipnorm-cosine": dict(dataset="spiral", sizes=[2, 16, 3], hidden="leaky_relu",
                                            output="softmax", loss="cross_entropy", optimizer="adam", lr=0.01,
                                            batch_size=32, clip=0.5, schedule="cosine", epochs=20),
    "float32-rmsprop-clipvalue-step": dict(dataset="circles", sizes=[2, 8, 1], optimizer="rmsprop", lr=0.01,
                                           clip=0.05, clip_mode="value", batch_size=50, schedule="step",
                                           lr_step_size=2, dtype="float32"),
    "mixed-hidden-tanh-out-mse-exponential": dict(dataset="gaussians", sizes=[2, 5, 5, 1],
                                                  hidden=["sigmoid", "linear"], output="tanh", loss="mse",
                                                  schedule="exponential", lr_gamma=0.9, batch_size=7, lr=0.2),
    "softmax-bce-sgd-l2": dict(dataset="gaussians", dataset_options={"n_classes": 3}, sizes=[2, 6, 3],
                               output="softmax", loss="bce", l2=0.05, lr=0.5, batch_size=40),
    "float32-adam-ragged-last-batch": dict(dataset="moons", sizes=[2, 6, 1], optimizer="adam", lr=0.02,
                                           batch_size=64, dtype="float32", clip=1.0),
}

STEPS = 50


def build(changes):
    return engine.build(engine.RunConfig.from_dict(changes))


def by_phases(trainer):
    names = [phase.name for phase in trainer.phases()]
    assert names == ["forward", "loss", "backward", "update"]
    return trainer.result


def by_ops(trainer):
    ops = list(trainer.ops())
    assert [op.index for op in ops] == list(range(len(ops)))
    return trainer.result


def assert_same_state(a, b):
    assert np.array_equal(a.net.theta, b.net.theta)
    assert a.net.theta.dtype == b.net.theta.dtype
    assert (a.step_count, a.epoch_count) == (b.step_count, b.epoch_count)
    assert a.history.to_dict() == b.history.to_dict()
    assert set(a.opt.state) == set(b.opt.state)
    for key in a.opt.state:
        assert np.array_equal(a.opt.state[key], b.opt.state[key])
    assert a.opt.t == b.opt.t


@pytest.mark.parametrize("name", list(CONFIGS))
def test_step_phases_and_ops_are_bit_identical(name):
    plain, phased, opped = build(CONFIGS[name]), build(CONFIGS[name]), build(CONFIGS[name])
    assert np.array_equal(plain.net.theta, phased.net.theta)
    for k in range(STEPS):
        r = plain.step()
        rp = by_phases(phased)
        ro = by_ops(opped)
        assert r.ok and rp.ok and ro.ok
        assert r.loss == rp.loss == ro.loss
        assert r.lr == rp.lr == ro.lr
        assert r.grad_norm == rp.grad_norm == ro.grad_norm
        assert r.clipped == rp.clipped == ro.clipped
        assert np.array_equal(plain.net.theta, phased.net.theta), f"phases drifted at step {k + 1}"
        assert np.array_equal(plain.net.theta, opped.net.theta), f"ops drifted at step {k + 1}"
    assert_same_state(plain, phased)
    assert_same_state(plain, opped)
    assert plain.step_count == STEPS
    assert np.isfinite(plain.net.theta).all()


def test_configs_exercise_what_they_claim():
    # Guard against a config silently not doing what its name says.
    t = build(CONFIGS["softmax-ce-adam-clipnorm-cosine"])
    results = [t.step() for _ in range(STEPS)]
    assert any(r.clipped for r in results)
    assert len({r.lr for r in results}) > 1
    assert t.steps_per_epoch > 1
    t = build(CONFIGS["float32-rmsprop-clipvalue-step"])
    results = [t.step() for _ in range(STEPS)]
    assert any(r.clipped for r in results) and t.net.theta.dtype == np.float32
    t = build(CONFIGS["float32-adam-ragged-last-batch"])
    sizes = [t.step().batch_size for _ in range(t.steps_per_epoch)]
    assert sizes[-1] < sizes[0]  # 150 rows in batches of 64: 64, 64, 22


def test_interleaving_the_three_ways_matches_plain_steps():
    changes = CONFIGS["minibatch-shuffled-momentum-l2"]
    plain, mixed = build(changes), build(changes)
    ways = [lambda t: t.step(), by_phases, by_ops]
    for k in range(3 * 17):
        plain.step()
        ways[k % 3](mixed)
        assert np.array_equal(plain.net.theta, mixed.net.theta), k
    assert_same_state(plain, mixed)


def test_epoch_and_fit_match_steps():
    changes = CONFIGS["minibatch-shuffled-momentum-l2"]
    a, b = build(changes), build(changes)
    metrics = a.fit(3)
    for _ in range(3 * b.steps_per_epoch):
        b.step()
    assert np.array_equal(a.net.theta, b.net.theta)
    assert a.epoch_count == b.epoch_count == 3
    assert metrics == {k: v for k, v in b.evaluate().items()}


def test_shuffling_is_seeded_and_visits_every_example_once_per_epoch():
    changes = dict(CONFIGS["minibatch-shuffled-momentum-l2"], seed=3)
    a, b = build(changes), build(changes)
    seen = []
    for _ in range(a.steps_per_epoch):
        r = a.step()
        b.step()
        seen.append(a.last.Y.copy())
    assert np.array_equal(a.net.theta, b.net.theta)
    # One epoch's batches are a permutation of the training labels.
    assert sorted(np.concatenate(seen).ravel()) == sorted(a.Y.ravel())
    assert r.epoch == 1
    other = build(dict(changes, seed=4))
    other.net.theta[...] = build(changes).net.theta  # same start, different shuffle
    other.step()
    fresh = build(changes)
    fresh.step()
    assert not np.array_equal(other.net.theta, fresh.net.theta)


# ----- what the phases hold ------------------------------------------------------------------

@pytest.mark.parametrize("name", ["seed-preset", "softmax-ce-adam-clipnorm-cosine", "mixed-hidden-tanh-out-mse-exponential"])
def test_phases_hold_the_arrays_they_produced(name):
    changes = dict(CONFIGS[name])
    changes.pop("batch_size", None)  # full batch: the phase arrays can be recomputed from X, Y
    changes["l2"] = 0.02
    trainer = build(changes)
    net = trainer.net
    before = net.copy()
    Y_hat, cache = before.forward(trainer.X)
    grads = before.backward(cache, trainer.Y, trainer.loss, l2=0.02)
    L = net.L

    phases = {p.name: p for p in trainer.phases()}
    fwd = phases["forward"].arrays
    assert list(fwd) == [f"{k}{l}" for l in range(1, L + 1) for k in ("Z", "A")]
    for key in fwd:
        np.testing.assert_array_equal(fwd[key], cache[key])

    loss_arrays = phases["loss"].arrays
    assert float(loss_arrays["L"]) == trainer.result.loss == pytest.approx(
        before.loss_value(trainer.X, trainer.Y, trainer.loss, l2=0.02), rel=1e-14)

    bwd = phases["backward"].arrays
    for l in range(1, L + 1):
        np.testing.assert_allclose(bwd[f"dW{l}"], grads[f"dW{l}"], rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(bwd[f"db{l}"], grads[f"db{l}"], rtol=1e-12, atol=1e-15)
        assert f"dZ{l}" in bwd
        if l < L:
            assert bwd[f"dA{l}"].shape == cache[f"A{l}"].shape
    # dZ_L is m times the loss gradient at the output (the course's convention).
    m = len(trainer.X)
    assert bwd[f"dZ{L}"].shape == (m, net.sizes[-1])

    upd = phases["update"]
    assert list(upd.arrays) == list(net.params)
    for op in upd.ops:
        new = net.params[op.name]
        np.testing.assert_array_equal(upd.arrays[op.name], new)
        np.testing.assert_array_equal(op.operands[f"{op.name} (old)"], before.params[op.name])
        np.testing.assert_allclose(op.operands["change"], new - before.params[op.name], rtol=1e-12, atol=1e-18)


def test_a_refused_cycle_stops_after_the_phase_that_went_non_finite():
    net = engine.MLP([2, 1], hidden=[], output="linear", init="small", seed=0)
    X = np.array([[1e200, 1.0], [1.0, 2.0]])
    Y = np.array([[1.0], [2.0]])
    trainer = engine.Trainer(net, "mse", engine.optim.SGD(0.1), X, Y)
    net.params["W1"] = [[1.0], [0.0]]  # Z is finite (1e200), its square is not
    before = net.theta.copy()
    with np.errstate(all="ignore"):
        names = [p.name for p in trainer.phases()]
    assert names == ["forward", "loss"]
    assert trainer.halted is not None and trainer.halted.quantity == "L"
    assert np.array_equal(net.theta, before)
    assert trainer.step_count == 0


# ----- operations ----------------------------------------------------------------------------

SHAPE = re.compile(r"\((\d+), (\d+)\)")


@pytest.mark.parametrize("name", ["seed-preset", "softmax-ce-adam-clipnorm-cosine", "softmax-bce-sgd-l2"])
def test_ops_have_equations_shapes_and_truthful_results(name):
    trainer = build(CONFIGS[name])
    net = trainer.net
    Ws = {k: v.copy() for k, v in net.params.items()}
    ops = list(trainer.ops())
    assert [op.phase for op in ops] == sorted((op.phase for op in ops), key=["forward", "loss", "backward", "update"].index)
    m = trainer.result.batch_size
    for op in ops:
        assert "=" in op.equation or "<-" in op.equation, op.equation
        assert op.shapes and isinstance(op.shapes, str)
        assert isinstance(op.result, np.ndarray)
        assert all(isinstance(v, np.ndarray) for v in op.operands.values())
        if "->" in op.shapes:
            out = SHAPE.findall(op.shapes.split("->")[-1])
            if out:
                assert tuple(map(int, out[0])) == op.result.shape, (op.equation, op.shapes)
    by_name = {}
    for op in ops:
        by_name.setdefault((op.phase, op.name), op)
    for layer in net.layers:
        l = layer.index
        z = by_name[("forward", f"Z{l}")]
        prev = "X" if l == 1 else f"A{l - 1}"
        # The equation is what was computed: Z = A_prev W + b, with the operands shown.
        np.testing.assert_allclose(z.result, z.operands[prev] @ z.operands[f"W{l}"] + z.operands[f"b{l}"], rtol=1e-12)
        np.testing.assert_array_equal(z.operands[f"W{l}"], Ws[f"W{l}"])
        assert z.shapes.startswith(f"({m}, {layer.n_in}) x ({layer.n_in}, {layer.n_out})")
        a = by_name[("forward", f"A{l}")]
        np.testing.assert_array_equal(a.result, layer.act.forward(z.result))
        dW = by_name[("backward", f"dW{l}")]
        np.testing.assert_allclose(dW.result, dW.operands[f"{prev}^T"] @ dW.operands[f"dZ{l}"] / m, rtol=1e-12, atol=1e-15)
        db = by_name[("backward", f"db{l}")]
        np.testing.assert_allclose(db.result, db.operands[f"dZ{l}"].sum(axis=0, keepdims=True) / m, rtol=1e-12, atol=1e-15)
        if l > 1:
            dA = by_name[("backward", f"dA{l - 1}")]
            np.testing.assert_allclose(dA.result, dA.operands[f"dZ{l}"] @ dA.operands[f"W{l}^T"], rtol=1e-12, atol=1e-15)
    # Recorded arrays are snapshots: the next cycle does not rewrite them.
    saved = [op.result.copy() for op in ops]
    trainer.step()
    for op, keep in zip(ops, saved):
        np.testing.assert_array_equal(op.result, keep)


# ----- schedules ---------------------------------------------------------------------------------

@pytest.mark.parametrize("kind,expected", [
    ("constant", lambda e: 0.4),
    ("step", lambda e: 0.4 * 0.5 ** (e // 3)),
    ("exponential", lambda e: 0.4 * 0.5 ** e),
    ("cosine", lambda e: 0.01 + (0.4 - 0.01) * 0.5 * (1 + np.cos(np.pi * min(e, 8) / 8))),
])
def test_schedules_set_the_lr_per_epoch(kind, expected):
    trainer = build(dict(dataset="moons", sizes=[2, 4, 1], lr=0.4, schedule=kind, lr_step_size=3, lr_gamma=0.5,
                         lr_min=0.01, epochs=8, batch_size=50))
    for epoch in range(10):
        for _ in range(trainer.steps_per_epoch):
            r = trainer.step()
            assert r.lr == pytest.approx(expected(epoch), rel=1e-12), (kind, epoch)
    assert trainer.lr == 0.4  # the base lr is untouched by the schedule


def test_setting_lr_changes_later_steps_and_is_validated():
    a, b = build({}), build({})
    a.lr = 0.1
    assert a.step().lr == 0.1 and b.step().lr == 1.0
    for bad in (0, -1, float("nan"), float("inf"), 1e7):
        with pytest.raises(ValueError, match="learning rate"):
            a.lr = bad


def test_reset_state_starts_over():
    changes = CONFIGS["softmax-ce-adam-clipnorm-cosine"]
    a = build(changes)
    start = a.net.theta.copy()
    for _ in range(5):
        a.step()
    a.net.theta[...] = start
    a.reset_state()
    assert a.step_count == 0 and a.epoch_count == 0 and len(a.history) == 0 and a.last is None
    b = build(changes)
    for _ in range(5):
        a.step()
        b.step()
    assert np.array_equal(a.net.theta, b.net.theta)
