"""Pathology demos: each classic training failure made to happen, measured, explained and fixed.

    from engine import scenarios
    result = scenarios.run("dead-relu")       # or scenarios.SCENARIOS["dead-relu"]()
    result.broken.metrics["accuracy"], result.fixed.metrics["accuracy"]
    result.runs                               # every run of the demo, broken ones first
    result.to_dict()                          # {"name", "broken", "fixed", "explanation"} for `netstep demo --json`

Every run uses a fixed seed, so the numbers are the same on every machine that does
float64 arithmetic the same way. A demo has one main broken run and one main fixed run
(the contract's `broken` and `fixed`); some have further runs (another way to break it,
another fix), whose metrics are also folded into the main run's metrics under a prefix
(`high_lr_accuracy`, ...), so the JSON carries every number the story quotes.

Everything here is built from the engine's public pieces. The one exception is
`course_backward`, the course's flawed backward pass, kept here on purpose (and only
here) for the gradcheck-bug demo.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field

import numpy as np

from . import diagnostics
from .config import RunConfig, build, presets
from .gradcheck import gradcheck
from .jsonsafe import clean as _clean  # the one JSON cleaner (NaN/inf -> None)

# How each metric reads in a table: (label, format). Formats: pct (a fraction shown as
# a percentage; pct2 with two significant digits), loss, sci, int, bool, text, ratio
# (x-fold), units (unit numbers as h1, h2), fixed3, float.
METRICS = {
    "loss": ("loss", "loss"),
    "accuracy": ("accuracy", "pct"),
    "steps": ("steps trained", "int"),
    "warnings": ("diagnostics warnings", "text"),
    # dead-relu
    "dead_fraction_start": ("dead units at step 0", "pct"),
    "dead_fraction": ("dead units at the end", "pct"),
    "dead_units": ("dead units", "units"),
    "always_active_units": ("live units active on every input", "int"),
    "output_distance_from_half": ("largest |output - 0.5|", "sci"),
    "all_dead_at_step": ("every unit dead from step", "int"),
    "negative_side_fraction": ("units negative on every input", "pct"),
    # exploding
    "grad_norm_start": ("gradient norm at step 1", "sci"),
    "grad_norm_max": ("largest gradient norm", "sci"),
    "growth": ("growth of the gradient norm", "ratio"),
    "step_of_1000x": ("first step at 1000x", "int"),
    "warned_at_step": ("diagnostics warned at step", "int"),
    "halted_at_step": ("guard stopped step", "int"),
    "halted_quantity": ("first non-finite quantity", "text"),
    "weights_finite": ("weights all finite", "bool"),
    "weights_kept": ("weights = last finite step's", "bool"),
    "largest_weight": ("largest |weight|", "sci"),
    "clipped_steps": ("steps clipped", "int"),
    # vanishing
    "grad_ratio_first_last": ("||dW1|| / ||dW_L|| at step 0", "sci"),
    "grad_norm_first": ("||dW1|| at step 0", "sci"),
    "grad_norm_last": ("||dW_L|| at step 0", "sci"),
    "first_layer_change": ("change of W1 over training", "pct2"),
    # symmetry
    "max_unit_difference": ("largest difference between units", "sci"),
    "weights_moved": ("largest change of any weight", "sci"),
    # saturation
    "init_multiplier": ("weight multiplier after Xavier init", "float"),
    "saturated_start": ("saturated hidden outputs, step 0", "pct"),
    "saturated": ("saturated hidden outputs, end", "pct"),
    "loss_start": ("loss at step 0", "loss"),
    "loss_drop": ("loss fall over training", "pct"),
    # gradcheck-bug
    "max_error": ("gradcheck max relative error", "sci"),
    "norm_error": ("||a - n|| / (||a|| + ||n||)", "sci"),
    "analytic_over_numeric": ("analytic / numeric (median)", "fixed3"),
    "passed": ("gradcheck passed", "bool"),
    "failing": ("failing parameters", "text"),
    "kinks": ("probes across a ReLU kink", "int"),
    "error_W1": ("error in dW1", "sci"),
    "error_b1": ("error in db1", "sci"),
    "error_W2": ("error in dW2", "sci"),
    "error_b2": ("error in db2", "sci"),
}


def metric_label(name) -> str:
    """The table label of a metric, prefixed ones included (high_lr_accuracy -> 'accuracy')."""
    return METRICS.get(name, (name.replace("_", " "), ""))[0]


def format_metric(name, value) -> str:
    """A metric's value as the demo table prints it."""
    kind = METRICS.get(name, ("", ""))[1]
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "n/a"
    if isinstance(value, bool) or kind == "bool":
        return "yes" if value else "no"
    if isinstance(value, (list, tuple)):
        return ", ".join(f"h{v}" if kind == "units" else str(v) for v in value) or "none"
    if isinstance(value, str):
        return value or "none"
    if kind == "pct":
        return f"{100 * value:.1f}%"
    if kind == "pct2":
        return f"{100 * value:.2g}%"
    if kind == "fixed3":
        return f"{value:.3f}"
    if kind == "int":
        return f"{int(value)}"
    if kind == "loss":
        return f"{value:.4g}"
    if kind == "sci":
        return f"{value:.2e}"
    if kind == "ratio":
        return f"{value:.3g}x"
    if isinstance(value, int):
        return str(value)
    return f"{value:.4g}"


@dataclass
class Run:
    """One training run of a demo and what was measured on it."""

    label: str                 # a short column heading ("course run", "He init")
    role: str                  # "broken" or "fixed"
    config: RunConfig
    metrics: dict
    setup: str = ""            # anything done beyond the config (such as scaling the weights)
    key: str = ""              # prefix for this run's metrics in the main run's JSON metrics

    def to_dict(self) -> dict:
        return {"label": self.label, "role": self.role, "config": self.config.to_dict(),
                "metrics": _clean(self.metrics), "setup": self.setup}


@dataclass
class ScenarioResult:
    name: str
    title: str
    runs: list = field(default_factory=list)   # broken runs, then fixed runs; the first of each is the main one
    explanation: str = ""

    @property
    def broken(self) -> Run:
        return next(r for r in self.runs if r.role == "broken")

    @property
    def fixed(self) -> Run:
        return next(r for r in self.runs if r.role == "fixed")

    def _side(self, main) -> dict:
        metrics = dict(main.metrics)
        for r in self.runs:
            if r.role == main.role and r is not main:
                for k, v in r.metrics.items():
                    metrics[f"{r.key}_{k}"] = v
        return {"config": main.config.to_dict(), "metrics": _clean(metrics)}

    def to_dict(self) -> dict:
        """The contract's JSON shape: {"name", "broken": {"config", "metrics"}, "fixed": {...}, "explanation"}."""
        return {"name": self.name, "broken": self._side(self.broken), "fixed": self._side(self.fixed),
                "explanation": self.explanation}

    def table(self):
        """(header, rows): one column per run, one row per metric (None where a run lacks it)."""
        names = []
        for r in self.runs:
            for k in r.metrics:
                if k not in names:
                    names.append(k)
        header = ["", *[r.label for r in self.runs]]
        rows = [[metric_label(k), *[format_metric(k, r.metrics[k]) if k in r.metrics else "-" for r in self.runs]]
                for k in names]
        return header, rows


# ----- shared measuring helpers -------------------------------------------------------------

def _train(trainer, steps, watch=None):
    """Train `steps` steps (stopping if the guard refuses one); watch(trainer, result) after each."""
    for _ in range(steps):
        result = trainer.step()
        if watch is not None:
            watch(trainer, result)
        if not result.ok:
            break
    return trainer


def _forward(trainer):
    """Z and A of every layer for the whole training set, at the current weights."""
    _, cache = trainer.net.forward(trainer.X)
    return cache


def _dead(trainer, cache=None, layer=1):
    """(fraction, 1-based unit numbers) of a ReLU layer's units that output zero on every example."""
    cache = cache or _forward(trainer)
    dead = np.all(cache[f"A{layer}"] == 0.0, axis=0)
    return float(dead.mean()), [int(i) + 1 for i in np.flatnonzero(dead)]


def _hidden_saturation(trainer, cache=None):
    """Fraction of all hidden outputs (every unit, every example) in a flat tail."""
    cache = cache or _forward(trainer)
    t = diagnostics.THRESHOLDS
    flat = total = 0
    for layer in trainer.net.layers[:-1]:
        A = cache[f"A{layer.index}"]
        if layer.act.name == "tanh":
            flat += np.count_nonzero(np.abs(A) > t["tanh_tail"])
        else:
            flat += np.count_nonzero((A < t["sigmoid_tail"]) | (A > 1 - t["sigmoid_tail"]))
        total += A.size
    return flat / total


def _warnings(trainer) -> str:
    """The codes of the warnings and errors the diagnostics raise on the trainer now."""
    codes = []
    for w in diagnostics.measure(trainer).warnings:
        if w.severity in ("error", "warning") and w.code not in codes:
            codes.append(w.code)
    return ", ".join(codes)


def _final(trainer) -> dict:
    m = trainer.evaluate()
    return {"loss": m["loss"], "accuracy": m["accuracy"], "steps": trainer.step_count}


def _unit_spread(net) -> float:
    """Largest difference between any two units of any hidden layer: their incoming
    weights and bias, and their outgoing weights."""
    spread = 0.0
    for layer in net.layers[:-1]:
        nxt = net.layers[layer.index]
        spread = max(spread, float(np.ptp(layer.Wb, axis=1).max()), float(np.ptp(nxt.W, axis=0).max()))
    return spread


# ----- dead-relu --------------------------------------------------------------------------------

def dead_relu() -> ScenarioResult:
    """The course's own run (preset `seed`) and a wide ReLU net killed by a high learning rate."""
    seed_cfg = presets["seed"]
    steps = seed_cfg.epochs

    def course_like(config, label, role, key=""):
        t = build(config)
        dead0, units0 = _dead(t)
        _train(t, steps)
        cache = _forward(t)
        dead, units = _dead(t, cache)
        Z1 = cache["Z1"]
        live = [j for j in range(Z1.shape[1]) if j + 1 not in units]
        always_active = sum(1 for j in live if np.all(Z1[:, j] > 0))
        out = cache[f"A{t.net.L}"]
        metrics = {**_final(t), "dead_fraction_start": dead0, "dead_fraction": dead, "dead_units": units,
                   "always_active_units": always_active,
                   "output_distance_from_half": float(np.abs(out - 0.5).max()),
                   "warnings": _warnings(t)}
        return Run(label, role, t.config, metrics, key=key), units0

    course, units0 = course_like(seed_cfg, "course run", "broken")
    he, _ = course_like(seed_cfg.replace(init="he"), "He init", "fixed")

    wide = seed_cfg.replace(sizes=[2, 16, 1], init="he", loss="bce", lr=5.0, seed=6, epochs=2000)

    def wide_run(config, label, role, key):
        t = build(config)
        dead0, _ = _dead(t)
        all_dead_at = []

        def watch(tr, _r):
            if not all_dead_at and _dead(tr)[0] == 1.0:
                all_dead_at.append(tr.step_count)

        _train(t, config.epochs, watch=watch)
        cache = _forward(t)
        dead, _ = _dead(t, cache)
        metrics = {**_final(t), "dead_fraction_start": dead0, "dead_fraction": dead}
        if all_dead_at:
            metrics["all_dead_at_step"] = all_dead_at[0]
        if config.hidden == "leaky_relu":
            metrics["negative_side_fraction"] = float(np.all(cache["Z1"] <= 0, axis=0).mean())
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


# ----- exploding --------------------------------------------------------------------------------

EXPLODING = RunConfig(dataset="xor", sizes=[2] + [16] * 8 + [1], hidden="relu", output="sigmoid", loss="bce",
                      init="he", optimizer="sgd", lr=1.0, epochs=2000, seed=0)


def _exploding_run(config, label, role, key=""):
    norms, clipped = [], [0]
    snapshot = {}

    def watch(t, r):
        if r.ok:
            norms.append(r.grad_norm)
            clipped[0] += r.clipped
            snapshot["theta"] = t.net.theta.copy()  # the weights after the last good step
            snapshot["result"] = r
            if "warned" not in snapshot and t.step_count <= 100:
                if any(w.code == "exploding" for w in diagnostics.measure(t).warnings):
                    snapshot["warned"] = t.step_count

    t = _train(build(config), config.epochs, watch=watch)
    g = np.array(norms)
    over = np.flatnonzero(g >= 1000 * g[0])
    theta = t.net.theta
    metrics = {}
    if t.halted is not None:
        # The kept weights overflow a forward pass (that is why the step was refused), so the
        # loss and accuracy are those of the last good step, on the full batch.
        good = snapshot["result"]
        metrics.update(loss=good.loss, accuracy=good.accuracy, steps=t.step_count)
    else:
        metrics.update(_final(t))
    metrics.update(grad_norm_start=float(g[0]), grad_norm_max=float(g.max()), growth=float(g.max() / g[0]))
    if len(over):
        metrics["step_of_1000x"] = int(over[0]) + 1
    if "warned" in snapshot:
        metrics["warned_at_step"] = snapshot["warned"]
    if t.halted is not None:
        metrics["halted_at_step"] = t.halted.step
        metrics["halted_quantity"] = f"{t.halted.quantity} became {t.halted.kind}"
        metrics["weights_kept"] = bool(np.array_equal(theta, snapshot["theta"]))
    metrics["weights_finite"] = bool(np.isfinite(theta).all())
    metrics["largest_weight"] = float(np.abs(theta).max())
    if config.clip is not None:
        metrics["clipped_steps"] = clipped[0]
    metrics["warnings"] = _warnings(t)
    return Run(label, role, t.config, metrics, key=key), t


def exploding() -> ScenarioResult:
    broken, bt = _exploding_run(EXPLODING, "lr 1", "broken")
    clipped, _ = _exploding_run(EXPLODING.replace(clip=1.0), "lr 1, clip 1", "fixed")
    lower, _ = _exploding_run(EXPLODING.replace(lr=0.1), "lr 0.1", "fixed", key="lower_lr")
    b, c, lo = broken.metrics, clipped.metrics, lower.metrics
    explanation = (
        f"A 9-layer ReLU net (eight hidden layers of 16, He init) on XOR with plain SGD at learning rate 1. Each "
        f"step makes the weights a little larger, larger weights make every layer amplify its input more, and the "
        f"backward pass multiplies those gains together through all nine layers, so the gradient feeds on itself: "
        f"its norm goes from {b['grad_norm_start']:.3g} at step 1 to 1000x that by step {b.get('step_of_1000x')} and "
        f"{b['grad_norm_max']:.3g} by step {b['steps']} ({b['growth']:.2g}x). The diagnostics' exploding-gradient "
        f"warning (norm above {diagnostics.THRESHOLDS['grad_norm']:g}) fires at step {b.get('warned_at_step')}. "
        f"At step {b.get('halted_at_step')} the "
        f"forward pass overflows ({b.get('halted_quantity')}); the guard refuses that step, so no inf or NaN is "
        f"ever written: the weights are all finite and exactly those of step {b['steps']} "
        f"(largest |weight| {b['largest_weight']:.2g}, far too big to continue from; the run has to be reset). "
        f"Clipping the gradient's norm to 1 caps every step, so the feedback loop never starts: the same net and "
        f"learning rate stay finite (largest gradient norm {c['grad_norm_max']:.3g}, {c.get('clipped_steps', 0)} of "
        f"{c['steps']} steps clipped) and converge to loss {c['loss']:.2g}, accuracy {100 * c['accuracy']:.0f}%. "
        f"A ten times smaller learning rate also works (accuracy {100 * lo['accuracy']:.0f}%).")
    return ScenarioResult("exploding", "Exploding gradients, and the guard that stops them", [broken, clipped, lower],
                          explanation)


# ----- vanishing --------------------------------------------------------------------------------

VANISHING = RunConfig(dataset="moons", sizes=[2] + [16] * 8 + [1], hidden="sigmoid", output="sigmoid", loss="bce",
                      init="xavier", optimizer="sgd", lr=0.1, epochs=500, seed=0)


def _vanishing_run(config, label, role, key=""):
    t = build(config)
    d0 = diagnostics.measure(t)  # step 0: the gradient at the initial weights
    W1 = t.net.params["W1"].copy()
    first, last = d0.layers[0].grad_norm_W, d0.layers[-1].grad_norm_W
    _train(t, config.epochs)
    change = float(np.linalg.norm(t.net.params["W1"] - W1) / np.linalg.norm(W1))
    metrics = {**_final(t), "grad_norm_first": first, "grad_norm_last": last, "grad_ratio_first_last": first / last,
               "first_layer_change": change,
               "warnings": ", ".join(dict.fromkeys(w.code for w in d0.warnings if w.severity != "info"))}
    return Run(label, role, t.config, metrics, key=key)


def vanishing() -> ScenarioResult:
    broken = _vanishing_run(VANISHING, "sigmoid+Xavier", "broken")
    relu = _vanishing_run(VANISHING.replace(hidden="relu", init="he"), "relu+He", "fixed")
    tanh = _vanishing_run(VANISHING.replace(hidden="tanh"), "tanh+Xavier", "fixed", key="tanh")
    b, r, t = broken.metrics, relu.metrics, tanh.metrics
    explanation = (
        f"A 9-layer net (eight sigmoid hidden layers of 16, Xavier init) on the moons data. Going backward, every "
        f"sigmoid layer multiplies the gradient by its slope, which is at most 0.25, so the signal shrinks layer "
        f"after layer: at the start the first layer's weight gradient is {b['grad_norm_first']:.2e}, "
        f"{b['grad_ratio_first_last']:.1e} times the output layer's ({b['grad_norm_last']:.2e}). Over "
        f"{b['steps']} steps W1 changes by only {100 * b['first_layer_change']:.4f}% and the network stays at "
        f"loss {b['loss']:.3f}, accuracy {100 * b['accuracy']:.1f}% (guessing). With ReLU and He init the slope "
        f"is 1 wherever a unit is on and He's scale keeps the signal's size from layer to layer: the ratio is "
        f"{r['grad_ratio_first_last']:.2f} (within 10x), W1 changes by {100 * r['first_layer_change']:.1f}% and the "
        f"net reaches {100 * r['accuracy']:.0f}% (loss {r['loss']:.2g}). tanh with Xavier also works (slope up to "
        f"1 near zero): ratio {t['grad_ratio_first_last']:.2f}, accuracy {100 * t['accuracy']:.0f}%.")
    return ScenarioResult("vanishing", "Vanishing gradients in a deep sigmoid network", [broken, relu, tanh],
                          explanation)


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
    metrics = {**_final(t), "max_unit_difference": _unit_spread(t.net),
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
    sat0 = _hidden_saturation(t)
    _train(t, config.epochs)
    m = _final(t)
    metrics = {**m, "loss_start": m0["loss"], "loss_drop": 1.0 - m["loss"] / m0["loss"],
               "saturated_start": sat0, "saturated": _hidden_saturation(t)}
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


# ----- gradcheck-bug ----------------------------------------------------------------------------

# >>> DELIBERATELY WRONG: the course's backward pass, kept only for the gradcheck-bug demo. <<<
# It treats dZ2 = A2 - Y as the output error signal. That is the gradient for a sigmoid
# output with cross-entropy loss, but the course pairs it with MSE, whose true signal is
# (A2 - Y) * A2 * (1 - A2). Never use this to train; the engine's MLP.backward is correct.
def course_backward(net, cache, Y, loss=None):
    """The course's 2-layer backward pass, bug included: {"dW1", "db1", "dW2", "db2"}."""
    X = cache["X"]
    m = X.shape[0]
    W2 = net.params["W2"]
    Z1, A1, A2 = cache["Z1"], cache["A1"], cache["A2"]
    dZ2 = A2 - Y                      # the bug: the sigmoid's slope A2 (1 - A2) is missing
    dW2 = A1.T @ dZ2 / m
    db2 = dZ2.sum(axis=0, keepdims=True) / m
    dA1 = dZ2 @ W2.T
    dZ1 = dA1 * (Z1 > 0)
    dW1 = X.T @ dZ1 / m
    db1 = dZ1.sum(axis=0, keepdims=True) / m
    return {"dW1": dW1, "db1": db1, "dW2": dW2, "db2": db2}


def _check_metrics(report) -> dict:
    clean = [e for e in report.entries if not e.kink]
    a = np.array([e.analytic for e in clean])
    n = np.array([e.numeric for e in clean])
    # The textbook vector-level relative error, ||a - n|| / (||a|| + ||n||), over every checked entry.
    norm_error = float(np.linalg.norm(a - n) / (np.linalg.norm(a) + np.linalg.norm(n)))
    big = np.abs(n) > 1e-9
    ratio = float(np.median(a[big] / n[big])) if big.any() else math.nan
    out = {"max_error": report.worst, "norm_error": norm_error, "analytic_over_numeric": ratio,
           "passed": report.passed, "failing": ", ".join(report.failing) or "none",
           "kinks": sum(len(v) for v in report.kinks.values())}
    for name, err in report.errors.items():
        scored = report.sampled[name][0] - len(report.kinks[name])
        out[f"error_{name}"] = err if scored else None  # None: every probe crossed a kink
    return out


def gradcheck_bug() -> ScenarioResult:
    cfg = presets["seed"]
    t = build(cfg)
    X, Y, loss = t.X, t.Y, t.loss
    buggy = gradcheck(t.net, X, Y, loss, backward=course_backward)
    right = gradcheck(t.net, X, Y, loss)

    # Train the course's network both ways for the preset's epochs: with the course's own
    # loop and backward, and with the engine's trainer.
    course = build(cfg)
    net = course.net
    for _ in range(cfg.epochs):
        _, cache = net.forward(X)
        grads = course_backward(net, cache, Y)
        for name in ("W1", "b1", "W2", "b2"):
            net.params[name] -= cfg.lr * grads["d" + name]
    m = course.evaluate(record=False)
    engine_run = _train(build(cfg), cfg.epochs)

    broken = Run("course backward", "broken", cfg, {"loss": m["loss"], "accuracy": m["accuracy"], "steps": cfg.epochs,
                                                     **_check_metrics(buggy)})
    fixed = Run("engine backward", "fixed", engine_run.config, {**_final(engine_run), **_check_metrics(right)})
    b, f = broken.metrics, fixed.metrics
    explanation = (
        f"The course's backward pass uses dZ2 = A2 - Y at the output, but its loss is MSE after a sigmoid, "
        f"whose true output signal is (A2 - Y) * A2 * (1 - A2); A2 - Y alone is the shortcut that belongs to "
        f"sigmoid with cross-entropy. A gradient check of the course's network (preset seed, step 0) against "
        f"centred differences fails: the largest relative error is {b['max_error']:.3g} "
        f"(|a - n| / max(|a|, |n|), entry by entry) and {b['norm_error']:.3g} as ||a - n|| / (||a|| + ||n||) over "
        f"every checked entry, the measure behind the 'about 0.6' usually quoted. The failing parameters are "
        f"{b['failing']}; db2 = mean(dZ2) is among them, which points straight at dZ2 itself. Near A2 = 0.5 the "
        f"missing factor A2 (1 - A2) is 0.25, so the course's gradients are {b['analytic_over_numeric']:.3g} times "
        f"the true ones. ({b['kinks']} probes of b1 crossed ReLU's kink at Z = 0 and are reported, not scored.) "
        f"The engine's backward, with the full chain rule, passes: largest error {f['max_error']:.1e}, below 1e-7. "
        f"Training with either backward ends at accuracy {100 * b['accuracy']:.0f}% vs {100 * f['accuracy']:.0f}% "
        f"(the dead-relu demo explains why this net is stuck); near 0.5 the bug only rescales the step, so the "
        f"loss curve looks normal and only a gradient check reveals it.")
    return ScenarioResult("gradcheck-bug", "A gradient check catches the course's backward-pass bug", [broken, fixed],
                          explanation)


# ----- registry -----------------------------------------------------------------------------------

def _quiet(fn):
    """Run a demo with NumPy's overflow warnings off: overflow is the point of some of them,
    and the guard and the metrics already report it."""

    @functools.wraps(fn)
    def wrapper():
        with np.errstate(all="ignore"):
            return fn()

    return wrapper


SCENARIOS = {
    "dead-relu": _quiet(dead_relu),
    "exploding": _quiet(exploding),
    "vanishing": _quiet(vanishing),
    "symmetry": _quiet(symmetry),
    "saturation": _quiet(saturation),
    "gradcheck-bug": _quiet(gradcheck_bug),
}
NAMES = tuple(SCENARIOS)


def run(name) -> ScenarioResult:
    """Run the demo `name` (one of NAMES): SCENARIOS[name]()."""
    try:
        fn = SCENARIOS[name]
    except KeyError:
        raise KeyError(f"unknown demo {name!r}; allowed: {', '.join(NAMES)}") from None
    return fn()
