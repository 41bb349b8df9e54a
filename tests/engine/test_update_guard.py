"""Issue 13 item 10: NaN or inf can never reach the weights through the learning rate.

The schedule's rate is bounded (engine.optim.bound_rate: never above MAX_LR, never inf
or NaN, never an OverflowError), and the guard checks the update and the weights it
lands on, not only the forward and backward values.
"""

import math
import warnings

import numpy as np
import pytest

import engine
from engine import optim
from engine.errors import ConfigError


def run_epochs(config, epochs):
    """Train through the public API as `netstep train` does, with NumPy's overflow warnings off."""
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        trainer = engine.build(config)
        rates = []
        trainer.fit(epochs, callback=lambda t, _m: rates.append(t.result.lr))
    return trainer, rates


@pytest.mark.parametrize("fields", [
    dict(schedule="cosine", lr_min=1e308, l2=1000.0),                  # the first attack
    dict(schedule="exponential", lr_gamma=1e100),                      # its second (OverflowError before)
    dict(schedule="step", lr_gamma=1e300, lr_step_size=1),
    dict(schedule="exponential", lr_gamma=1e100, optimizer="momentum"),
    dict(schedule="cosine", lr_min=1e308, l2=1000.0, optimizer="adam"),
])
def test_a_wild_schedule_ends_with_finite_weights(fields):
    try:
        config = engine.RunConfig(dataset="xor", epochs=5, **fields)
    except ConfigError as e:  # config.py may refuse the value outright: that is fine too
        assert e.field in fields
        return
    trainer, rates = run_epochs(config, 5)
    assert np.isfinite(trainer.net.theta).all()
    assert all(0.0 <= r <= optim.MAX_LR for r in rates if not math.isnan(r))
    assert all(0.0 <= trainer.schedule(trainer.base_lr, e) <= optim.MAX_LR for e in range(10_000))
    if trainer.halted is not None:
        assert not trainer.result.ok and np.isnan(trainer.result.loss)


def test_the_cosine_attack_saves_a_run_that_loads(tmp_path):
    """Before, `train --save` wrote non-finite weights here, which `load` then refused."""
    config = engine.RunConfig(dataset="xor", epochs=5, schedule="cosine", lr_min=1e308, l2=1000.0) \
        if _allowed(lr_min=1e308) else None
    if config is None:
        pytest.skip("config.py refuses lr_min=1e308")
    trainer, _ = run_epochs(config, 5)
    path = engine.io.save(trainer, tmp_path / "d.npz")
    loaded = engine.io.load(path)
    assert np.array_equal(loaded.net.theta, trainer.net.theta)


def _allowed(**fields) -> bool:
    try:
        engine.RunConfig(**fields)
    except ConfigError:
        return False
    return True


@pytest.mark.parametrize("kind", optim.SCHEDULES)
@pytest.mark.parametrize("gamma,lr_min", [(0.5, 0.0), (1e100, 0.0), (1e308, 1e308), (1e-300, 1e300), (2.0, 5.0)])
def test_every_schedule_rate_is_bounded_and_never_raises(kind, gamma, lr_min):
    s = optim.Schedule(kind, step_size=1, gamma=gamma, lr_min=lr_min, total=50)
    for base in (1e-6, 0.5, optim.MAX_LR):
        for epoch in (0, 1, 2, 49, 50, 10**6, 10**18):
            rate = s(base, epoch)
            assert isinstance(rate, float) and 0.0 <= rate <= optim.MAX_LR, (kind, base, epoch, rate)


def test_bound_rate():
    assert optim.bound_rate(math.inf) == optim.MAX_LR
    assert optim.bound_rate(1e300) == optim.MAX_LR
    assert optim.bound_rate(math.nan) == 0.0
    assert optim.bound_rate(0.25) == 0.25


def test_a_schedule_refuses_parameters_it_cannot_use():
    with pytest.raises(ValueError, match="gamma"):
        optim.Schedule("exponential", gamma=math.inf)
    with pytest.raises(ValueError, match="lr_min"):
        optim.Schedule("cosine", lr_min=math.nan)


# ----- the guard on the update ---------------------------------------------------------------

class Overshoot(optim.SGD):
    """An optimizer whose step overflows for layer 2 (a stand-in for any rule that can)."""

    name = "overshoot"

    def delta(self, g):
        step = super().delta(g)
        step[-1] = math.inf
        return step


def small_trainer(opt):
    rng = np.random.default_rng(0)
    X, Y = rng.normal(size=(8, 2)), rng.normal(size=(8, 1))
    net = engine.MLP([2, 3, 1], hidden="tanh", output="linear", init="xavier", seed=0)
    return engine.Trainer(net, "mse", opt, X, Y)


@pytest.mark.parametrize("how", ["step", "phases"])
def test_a_non_finite_update_is_refused_before_it_is_written(how):
    trainer = small_trainer(Overshoot(0.1))
    before = trainer.net.theta.copy()
    with np.errstate(all="ignore"):
        if how == "step":
            r = trainer.step()
        else:
            names = [p.name for p in trainer.phases()]
            assert names == ["forward", "loss", "backward"]
            r = trainer.result
    assert not r.ok and trainer.halted is r.nonfinite
    h = trainer.halted
    assert (h.phase, h.layer, h.kind, h.step) == ("update", 2, "inf", 1)
    assert "W2" in h.quantity and "learning rate" in h.message
    assert np.array_equal(trainer.net.theta, before)
    assert trainer.step_count == 0 and trainer.opt.t == 0 and trainer.last is None


def test_a_refused_update_leaves_the_optimizer_state_as_it_was():
    class WildMomentum(optim.Momentum):
        name = "wild"
        fail = False

        def delta(self, g):
            step = super().delta(g)
            if self.fail:
                step[0] = math.nan
            return step

    opt = WildMomentum(0.1)
    trainer = small_trainer(opt)
    for _ in range(3):
        assert trainer.step().ok
    v, t, theta = opt.state["v"].copy(), opt.t, trainer.net.theta.copy()
    opt.fail = True
    with np.errstate(all="ignore"):
        r = trainer.step()
    assert not r.ok and trainer.halted.kind == "NaN" and trainer.halted.phase == "update"
    assert np.array_equal(opt.state["v"], v) and opt.t == t
    assert np.array_equal(trainer.net.theta, theta)
    # Once the rule behaves, the run goes on from exactly where it was.
    opt.fail = False
    plain = small_trainer(optim.Momentum(0.1))
    for _ in range(4):
        plain.step()
    assert trainer.step().ok
    assert np.array_equal(trainer.net.theta, plain.net.theta)


def test_weights_at_the_largest_float_take_a_bounded_step_without_overflow():
    """The guard's reasoning: finite weights minus a step below 2^970 stay finite."""
    trainer = small_trainer(optim.SGD(0.1))
    trainer.net.params["W2"] = [[np.finfo(float).max], [-np.finfo(float).max], [0.0]]
    trainer.net.params["b2"] = [[0.0]]
    with np.errstate(all="ignore"):
        r = trainer.step()
    assert np.isfinite(trainer.net.theta).all()
    assert r.ok or trainer.halted is not None
