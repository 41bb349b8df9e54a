"""The demos about gradients: exploding, vanishing, and a backward-pass bug a gradient check catches."""

from __future__ import annotations

import math

import numpy as np

from .. import diagnostics
from ..config import RunConfig, build, presets
from ..gradcheck import gradcheck
from .report import Run, ScenarioResult, _final, _train, _warnings

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


