"""The demos about units: dead ReLUs, the symmetry problem, saturated tanh/sigmoid."""

from __future__ import annotations

import numpy as np

from .. import diagnostics
from ..config import RunConfig, build, presets
from .report import Run, ScenarioResult, _final, _forward, _train, _units, _warnings

# ----- dead-relu --------------------------------------------------------------------------------

def dead_relu() -> ScenarioResult:
    """The course's own run (preset `seed`) and a wide ReLU net killed by a high learning rate."""
    seed_cfg = presets["seed"]
    steps = seed_cfg.epochs

    def course_like(config, label, role, key=""):
        t = build(config)
        start = _units(t).layers[0]
        _train(t, steps)
        end = _units(t).layers[0]
        out = t.net.predict(t.X)
        metrics = {**_final(t), "dead_fraction_start": start.dead, "dead_fraction": end.dead,
                   "dead_units": end.dead_units, "always_active_units": len(end.always_active_units),
                   "output_distance_from_half": float(np.abs(out - 0.5).max()),
                   "warnings": _warnings(t)}
        return Run(label, role, t.config, metrics, key=key), start.dead_units

    course, units0 = course_like(seed_cfg, "course run", "broken")
    he, _ = course_like(seed_cfg.replace(init="he"), "He init", "fixed")

    wide = seed_cfg.replace(sizes=[2, 16, 1], init="he", loss="bce", lr=5.0, seed=6, epochs=2000)

    def wide_run(config, label, role, key):
        t = build(config)
        dead0 = _units(t).layers[0].dead
        all_dead_at = []

        def watch(tr, _r):
            if not all_dead_at and _units(tr).layers[0].dead == 1.0:
                all_dead_at.append(tr.step_count)

        _train(t, config.epochs, watch=watch)
        metrics = {**_final(t), "dead_fraction_start": dead0, "dead_fraction": _units(t).layers[0].dead}
        if all_dead_at:
            metrics["all_dead_at_step"] = all_dead_at[0]
        if config.hidden == "leaky_relu":
            # Not dead (a leaky unit still passes 1% back), but on its flat side for every input.
            metrics["negative_side_fraction"] = float(np.all(_forward(t)["Z1"] <= 0, axis=0).mean())
        metrics["warnings"] = _warnings(t)
        return Run(label, role, t.config, metrics, key=key)

    high = wide_run(wide, "wide, lr 5", "broken", "high_lr")
    sane = wide_run(wide.replace(lr=1.0), "wide, lr 1", "fixed", "sane_lr")
    leaky = wide_run(wide.replace(hidden="leaky_relu"), "wide, leaky", "fixed", "leaky")

    c, h, hi, sa, lk = course.metrics, he.metrics, high.metrics, sane.metrics, leaky.metrics
    dead_unit = ", ".join(f"h{u}" for u in units0) or "none"
    explanation = (
        f"The course's own XOR run (2-3-1, ReLU, weights randn x 0.01, seed 42, MSE, lr 0.5) never learns XOR. "
        f"Hidden unit {dead_unit} starts with both input weights negative, so its input is at most zero on all four "
        f"XOR points: it outputs 0, its slope is 0, and no gradient ever reaches it (dead from step 0). The other "
        f"{c['always_active_units']} units end up positive on every input, i.e. in their straight-line region, so the "
        f"network is a linear function of the inputs, and the best any linear model can do on XOR under MSE is to "
        f"answer 0.5 everywhere: after {c['steps']} steps every output is within {c['output_distance_from_half']:.1e} "
        f"of 0.5, the loss is {c['loss']:.4g} and accuracy {100 * c['accuracy']:.0f}%. The weights are so small "
        f"(x 0.01) that the units' kinks never come into play. Starting from He-scaled weights (same seed, same "
        f"signs) the dead unit stays dead ({100 * h['dead_fraction']:.0f}% of the layer) but the two live units are "
        f"large enough to bend, and the run reaches {100 * h['accuracy']:.0f}% (loss {h['loss']:.2g}).\n"
        f"Units can also be killed during training. A wider 2-16-1 ReLU net with He init and a learning rate of 5 "
        f"starts with {100 * hi['dead_fraction_start']:.0f}% dead units (those whose two weights are both negative); "
        f"its first big steps push the biases far below zero, and by step {hi.get('all_dead_at_step', 'n/a')} "
        f"{100 * hi['dead_fraction']:.0f}% are dead, leaving accuracy at {100 * hi['accuracy']:.0f}%. With a sane "
        f"learning rate (1) the same net reaches {100 * sa['accuracy']:.0f}% with {100 * sa['dead_fraction']:.0f}% "
        f"dead; with LeakyReLU at the same lr 5, units still pass 1% of the gradient when negative, none is dead "
        f"({100 * lk['dead_fraction']:.0f}%), and it reaches {100 * lk['accuracy']:.0f}%.")
    return ScenarioResult("dead-relu", "Dead ReLUs and a network stuck in its linear region",
                          [course, high, he, sane, leaky], explanation)



# ----- symmetry ---------------------------------------------------------------------------------

def _symmetry_run(config, label, role, key="", constant=None):
    def before(t):
        if constant is not None:
            for layer in t.net.layers:
                layer.W[...] = constant

    t = build(config)
    before(t)
    theta0 = t.net.theta.copy()
    _train(t, config.epochs)
    metrics = {**_final(t), "max_unit_difference": diagnostics.unit_spread(t.net, outgoing=True),
               "weights_moved": float(np.abs(t.net.theta - theta0).max()), "warnings": _warnings(t)}
    setup = f"every weight set to {constant} after building" if constant is not None else ""
    return Run(label, role, t.config, metrics, setup=setup, key=key)


def symmetry() -> ScenarioResult:
    base = presets["default"]
    zeros = _symmetry_run(base.replace(init="zeros"), "zeros", "broken")
    same = _symmetry_run(base.replace(init="zeros"), "all 0.5", "broken", key="constant", constant=0.5)
    rand = _symmetry_run(base, "Xavier", "fixed")
    z, s, r = zeros.metrics, same.metrics, rand.metrics
    explanation = (
        f"The default XOR net (2-4-1, tanh, BCE, lr 1) started from all-zero weights. Every hidden unit then "
        f"computes the same output for every input, gets the same gradient and makes the same update, so the "
        f"units can never become different: after {z['steps']} steps the largest difference between any two hidden "
        f"units is {z['max_unit_difference']:.1e}. Here it is worse still: with zero weights tanh outputs 0 and the "
        f"gradient of every weight is exactly zero on balanced XOR, so nothing moves at all (largest change "
        f"{z['weights_moved']:.1e}) and accuracy stays {100 * z['accuracy']:.0f}%. Any equal starting value has the "
        f"same flaw: with every weight at 0.5 the weights do move (by up to {s['weights_moved']:.2g}) but the units "
        f"stay identical (difference {s['max_unit_difference']:.1e}), so four units act as one, and one unit can get "
        f"at most three of XOR's four points right ({100 * s['accuracy']:.0f}%). Random (Xavier) weights give each "
        f"unit its own starting point; they grow apart (difference {r['max_unit_difference']:.2g}) and XOR is solved "
        f"({100 * r['accuracy']:.0f}%, loss {r['loss']:.2g}).")
    return ScenarioResult("symmetry", "All-zero weights: the symmetry problem", [zeros, same, rand], explanation)


# ----- saturation -------------------------------------------------------------------------------

SATURATION = RunConfig(dataset="circles", sizes=[2, 32, 32, 1], hidden="tanh", output="sigmoid", loss="mse",
                       init="xavier", optimizer="sgd", lr=0.5, epochs=500, seed=0)
SATURATION_MULTIPLIER = 100.0


def _saturation_run(config, label, role, multiplier=None, key=""):
    def before(t):
        if multiplier is not None:
            for layer in t.net.layers:
                layer.W[...] *= multiplier

    t = build(config)
    before(t)
    m0 = t.evaluate(record=False)
    sat0 = diagnostics.saturated_fraction(_units(t))
    _train(t, config.epochs)
    m = _final(t)
    metrics = {**m, "loss_start": m0["loss"], "loss_drop": 1.0 - m["loss"] / m0["loss"],
               "saturated_start": sat0, "saturated": diagnostics.saturated_fraction(_units(t))}
    if multiplier is not None:
        metrics = {"init_multiplier": multiplier, **metrics}
    metrics["warnings"] = _warnings(t)
    setup = f"weights multiplied by {multiplier:g} after Xavier init" if multiplier is not None else ""
    return Run(label, role, t.config, metrics, setup=setup, key=key)


def saturation() -> ScenarioResult:
    k = SATURATION_MULTIPLIER
    broken = _saturation_run(SATURATION, f"Xavier x {k:g}", "broken", multiplier=k)
    fixed = _saturation_run(SATURATION, "Xavier", "fixed")
    b, f = broken.metrics, fixed.metrics
    explanation = (
        f"A 2-32-32-1 tanh net (sigmoid output, MSE as in the course) on the circles data, with its weights drawn "
        f"as Xavier's and then multiplied by {k:g}. Every pre-activation is then huge, so {100 * b['saturated_start']:.1f}% "
        f"of the hidden outputs start pinned at +-1 (beyond +-0.99), where tanh is flat and its slope nearly 0; "
        f"the output sigmoid is pinned too. Almost no gradient gets through a flat unit, so learning stalls: after "
        f"{b['steps']} steps the loss has only gone from {b['loss_start']:.4f} to {b['loss']:.4f} "
        f"({100 * b['loss_drop']:.1f}% lower), accuracy is {100 * b['accuracy']:.1f}%, and {100 * b['saturated']:.1f}% "
        f"of the outputs are still saturated. With plain Xavier weights (variance 1/fan_in, so each pre-activation "
        f"stays around size 1) only {100 * f['saturated_start']:.1f}% start saturated, and the same run falls from "
        f"{f['loss_start']:.4f} to {f['loss']:.4f} ({100 * f['loss_drop']:.0f}% lower) with accuracy "
        f"{100 * f['accuracy']:.1f}%.")
    return ScenarioResult("saturation", "Saturated units: too-large weights flatten tanh and sigmoid",
                          [broken, fixed], explanation)


