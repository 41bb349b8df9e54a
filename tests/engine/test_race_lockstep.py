"""engine.race.Lockstep: the race stepped by hand equals race.run (and so `netstep race`)."""

import pytest

import engine
from engine import race


@pytest.mark.parametrize("preset, field, epochs, changes, target", [
    ("spiral", "optimizer", 40, {}, 0.5),                    # full batch: a step is an epoch
    ("circles", "lr", 3, {"batch_size": 32}, 0.6),           # minibatches: the target is checked at epoch ends
    ("default", "hidden", 60, {}, 1.0),
])
def test_stepping_every_variant_equals_race_run(preset, field, epochs, changes, target):
    config = engine.presets[preset].replace(epochs=epochs, **changes)
    variants = race.variants(config, field, race.default_values(config, field))
    lockstep = race.Lockstep(variants, target=target)
    while lockstep.running(epochs):
        lockstep.step(epochs)
    assert [t.epoch_count for t in lockstep.trainers] == [epochs] * len(variants)
    rows = lockstep.rows()
    assert rows == race.run(variants, target=target)
    assert any(r["steps_to_target"] is not None for r in rows)   # the comparison has a winner to show


def test_a_step_moves_every_variant_once_and_the_hit_is_not_moved_by_later_steps():
    config = engine.presets["default"]
    variants = race.variants(config, "lr", ["0.5", "1", "2"])
    lockstep = race.Lockstep(variants)
    assert lockstep.step() == 3
    assert [t.step_count for t in lockstep.trainers] == [1, 1, 1]
    for _ in range(400):
        lockstep.step()
    hits = list(lockstep.hits)
    assert any(h is not None for h in hits)
    lockstep.step()
    assert lockstep.hits == hits


def test_default_values_build_for_every_field():
    config = engine.presets["circles"]
    for field in race.FIELDS:
        assert 2 <= len(race.variants(config, field, race.default_values(config, field))) <= 4
