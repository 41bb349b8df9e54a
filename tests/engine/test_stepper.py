"""OpStepper: one operation at a time, back and forth, exact against Trainer.step()."""

import numpy as np
import pytest

import engine
from engine.stepper import OpStepper


def _pair(name="seed", **changes):
    config = engine.presets[name].replace(**changes)
    return engine.build(config), engine.build(config)


def _ops_per_cycle(trainer):
    probe = engine.build(trainer.config)
    return len(list(probe.ops()))


@pytest.mark.parametrize("changes", [{}, {"optimizer": "adam", "lr": 0.01}, {"l2": 0.1, "clip": 0.5}])
def test_stepping_ops_matches_step(changes):
    plain, stepped = _pair(**changes)
    stepper = OpStepper(stepped)
    n = _ops_per_cycle(stepped)
    for _ in range(5):
        plain.step()
        for _ in range(n):
            assert stepper.next() is not None
    assert np.array_equal(plain.net.theta, stepped.net.theta)
    assert stepped.step_count == plain.step_count == 5


def test_back_and_forward_shows_the_same_numbers():
    _, trainer = _pair()
    stepper = OpStepper(trainer)
    seen = [stepper.next() for _ in range(10)]
    values = [op.result.copy() for op in seen]
    for _ in range(6):
        stepper.back()
    assert stepper.current is seen[3]
    for k in range(4, 10):
        op = stepper.next()
        assert op is seen[k]
        assert np.array_equal(op.result, values[k])
    # Walking back over the cycle does not change the weights.
    assert trainer.step_count == 0


def test_phase_follows_the_cycle_order():
    _, trainer = _pair()
    stepper = OpStepper(trainer)
    phases = []
    for _ in range(_ops_per_cycle(trainer)):
        phases.append(stepper.next().phase)
    order = [p for i, p in enumerate(phases) if i == 0 or phases[i - 1] != p]
    assert order == ["forward", "loss", "backward", "update"]
    assert not stepper.in_cycle


def test_keeps_at_least_the_last_full_cycle():
    _, trainer = _pair()
    stepper = OpStepper(trainer, keep_cycles=2)
    n = _ops_per_cycle(trainer)
    for _ in range(3 * n):
        stepper.next()
    # Back through one whole cycle and into the one before.
    for _ in range(n + 2):
        stepper.back()
    assert stepper.current is not None
    assert len(stepper.ops) == 2 * n


def test_abandon_before_update_writes_nothing():
    plain, trainer = _pair()
    stepper = OpStepper(trainer)
    for _ in range(6):  # into the backward phase
        stepper.next()
    assert stepper.in_cycle
    stepper.abandon()
    assert not stepper.in_cycle
    assert trainer.step_count == 0
    assert np.array_equal(trainer.net.theta, plain.net.theta)


def test_finish_cycle_mid_cycle_equals_one_step():
    plain, trainer = _pair()
    stepper = OpStepper(trainer)
    for _ in range(3):
        stepper.next()
    rest = stepper.finish_cycle()
    plain.step()
    assert rest[-1].phase == "update"
    assert np.array_equal(trainer.net.theta, plain.net.theta)


def test_goto_shows_a_retained_op_without_computing():
    _, trainer = _pair()
    stepper = OpStepper(trainer)
    seen = [stepper.next() for _ in range(7)]
    assert stepper.goto(2) is seen[2]
    assert stepper.goto(seen[5]) is seen[5]
    assert stepper.next() is seen[6]          # forward again over retained ops: nothing new computed
    assert len(stepper.ops) == 7 and trainer.step_count == 0
    with pytest.raises(IndexError):
        stepper.goto(7)


def test_reads_writes_and_norm_name_the_arrays_of_each_op():
    from engine.stepper import reads, result_norm, writes

    _, trainer = _pair()
    ops = {op.name if op.phase != "update" else "<-" + op.name: op for op in trainer.ops()}
    assert reads(ops["Z1"]) == ["X", "W1", "b1"] and writes(ops["Z1"]) == ["Z1"]
    assert reads(ops["A1"]) == ["Z1"]
    assert reads(ops["L"]) == ["A2", "Y"] and writes(ops["L"]) == ["L"]
    assert reads(ops["dW2"]) == ["A1", "dZ2"]
    assert reads(ops["dA1"]) == ["dZ2", "W2"]
    assert reads(ops["<-W1"]) == ["W1", "dW1"] and writes(ops["<-W1"]) == ["W1"]
    assert result_norm(ops["Z1"]) == float(np.linalg.norm(ops["Z1"].result))
    assert result_norm(ops["L"]) == abs(float(ops["L"].result))
