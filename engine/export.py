"""The run as one standalone Python file, NumPy only, in the course's notation.

    paths = export.write(trainer, "net.py")      # ["net.py"] or ["net.py", "net_data.npz"]
    text = export.source(trainer)                # the script alone (small runs: data inlined)

The script writes every layer out (Z1 = X @ W1 + b1, A1 = tanh(Z1), dZ2 = A2 - Y,
dW2 = (1 / m) * (A1.T @ dZ2) ...), with the activations, their slopes, the loss and
its gradient for the run's output/loss pairing, the optimizer's update, L2, L1,
clipping, dropout, input features and the learning-rate schedule each spelled out (a
regression run prints r2 where a classification run prints accuracy). It draws the weights from the seed
as engine.MLP does (or, for a saved run, holds them with the optimizer and shuffling
state), shuffles minibatches in the Trainer's order, and prints the loss as `netstep
train` measures it: on the whole training set at each epoch's end. The last line is
the final loss, repr(float): `netstep train --json`'s "loss" to about 1e-12.

Where the engine's arithmetic and the textbook's are the same formula in a different
order, the script follows the engine's order where that costs nothing to read (the 1/m
after the product, the loss from the logits), so the numbers agree to rounding.
"""

from __future__ import annotations

import io
import os

import numpy as np

from .errors import NetstepError
from .io import atomic_write

INLINE_MAX = 200  # numbers (data, weights, state) written into the script; more go to a .npz beside it


class ExportError(NetstepError):
    """The run cannot be exported, or the file is in the way: one line saying which."""


ACTIVATION_CODE = {
    "relu": """
def relu(Z):
    return np.maximum(Z, 0.0)


def relu_prime(Z):
    return (Z > 0) * 1.0                    # 1 where the unit is active, else 0 (0 at the kink)
""",
    "leaky_relu": """
def leaky_relu(Z):
    return np.maximum(Z, 0.01 * Z)


def leaky_relu_prime(Z):
    return np.where(Z > 0, 1.0, 0.01)
""",
    "tanh": """
def tanh(Z):
    return np.tanh(Z)


def tanh_prime(A):
    return 1.0 - A ** 2                     # tanh'(Z) = 1 - tanh(Z)^2, read from A = tanh(Z)
""",
    "sigmoid": """
def sigmoid(Z):
    return np.exp(-np.logaddexp(0.0, -Z))   # = 1 / (1 + e^-Z), with no overflow in e^-Z


def sigmoid_prime(A):
    return A * (1.0 - A)                    # sigma'(Z) = sigma(Z) (1 - sigma(Z)), read from A
""",
    "linear": """
def linear(Z):
    return Z


def linear_prime(Z):
    return 1.0
""",
    "softmax": """
def softmax(Z):
    E = np.exp(Z - Z.max(axis=1, keepdims=True))   # the shift changes nothing but keeps e^Z <= 1
    return E / E.sum(axis=1, keepdims=True)


def softmax_backward(A, dA):
    # softmax mixes a row's units, so its slope is a Jacobian: dZ_j = A_j (dA_j - sum_k dA_k A_k)
    return A * (dA - np.sum(dA * A, axis=1, keepdims=True))
""",
}
# Run fields the script does not spell out (yet): a run using them is refused, never exported wrong.
NOT_WRITTEN = ()
# How the script computes each input feature from x1 = x[:, 0], x2 = x[:, 1] (as engine/features.py does).
FEATURE_CODE = {"x1": "x1", "x2": "x2", "x1^2": "x1 * x1", "x2^2": "x2 * x2", "x1*x2": "x1 * x2",
                "sin(x1)": "np.sin(x1)", "sin(x2)": "np.sin(x2)"}
SLOPE_OF_A = ("tanh", "sigmoid")  # their slopes are read from A (as the engine does), the others from Z


def _aligned(code, comment, column=44):
    """A line of code with its comment in a column (or after two spaces when the code is long)."""
    return f"{code.ljust(column - 1)} # {comment}" if len(code) < column - 1 else f"{code}  # {comment}"


def _rows(a):
    """A 2-D array as Python source, one row per line, every float exact (repr)."""
    a = np.asarray(a, dtype=np.float64)
    lines = ",\n    ".join("[" + ", ".join(repr(float(x)) for x in row) + "]" for row in a)
    return f"np.array([\n    {lines},\n])"


class _Arrays:
    """Arrays the script needs: written inline when they are few numbers, else into the .npz."""

    def __init__(self, inline):
        self.inline = inline
        self.saved = {}

    def ref(self, name, a):
        a = np.asarray(a)
        if self.inline:
            if a.ndim == 1:
                return "np.array([" + ", ".join(repr(x.item()) for x in a) + "])"
            return _rows(a)
        self.saved[name] = a
        return f"data[{name!r}]"


def _loss_value(loss, out, L):
    """The lines of loss_of(ZL, AL, Y) that compute L for the run's loss/output pairing."""
    Z, A = f"Z{L}", f"A{L}"
    if loss == "bce" and out == "sigmoid":
        return [f"# -(1/m) sum(Y log {A} + (1 - Y) log(1 - {A})), written with the logits {Z}: since",
                f"# log sigma(Z) = -log(1 + e^-Z), each term is log(1 + e^Z) - Y Z, finite even where {A} rounds to 1",
                f"L = (np.sum(np.logaddexp(0.0, {Z})) - np.sum(Y * {Z})) / m"]
    if loss == "cross_entropy" and out == "softmax":
        return [f"# -(1/m) sum(Y log {A}), with log {A} taken from the logits (log-softmax): never log 0",
                f"shifted = {Z} - {Z}.max(axis=1, keepdims=True)",
                "log_A = shifted - np.log(np.sum(np.exp(shifted), axis=1, keepdims=True))",
                "L = -np.sum(Y * log_A) / m"]
    if loss == "cross_entropy" and out == "sigmoid":
        return [f"# -(1/m) sum(Y log {A}), with log sigma(Z) = -log(1 + e^-Z)",
                f"L = np.sum(Y * np.logaddexp(0.0, -{Z})) / m"]
    if loss == "mse":
        return [_aligned(f"L = 0.5 * np.sum(({A} - Y) ** 2) / m", f"(1 / 2m) sum ({A} - Y)^2")]
    if loss == "bce":
        return [_aligned(f"P = np.clip({A}, 1e-300, 1.0)", "keeps log finite at outputs of exactly 0 or 1"),
                f"Q = np.clip(1.0 - {A}, 1e-300, 1.0)",
                "L = -(np.sum(Y * np.log(P)) + np.sum((1.0 - Y) * np.log(Q))) / m"]
    return [f"L = -np.sum(Y * np.log(np.clip({A}, 1e-300, 1.0))) / m"]


def _loss_gradient(loss, out, L, Y):
    """The lines from the loss to dZ_L (m dL/dZ_L) for the pairing, with targets named Y."""
    Z, A = f"Z{L}", f"A{L}"
    if (loss, out) == ("bce", "sigmoid"):
        return [_aligned(f"dZ{L} = {A} - {Y}", "sigmoid + BCE: dL/dA times sigma'(Z) cancels to this")]
    if (loss, out) == ("cross_entropy", "softmax"):
        return [_aligned(f"dZ{L} = {A} - {Y}", "softmax + cross-entropy: the Jacobian cancels to this")]
    if (loss, out) == ("cross_entropy", "sigmoid"):
        return [_aligned(f"dZ{L} = {Y} * {A} - {Y}", f"-Y (1 - {A}): dL/dA = -Y / A times sigma' = A (1 - A)")]
    if loss == "mse":
        dA = _aligned(f"dA{L} = {A} - {Y}", f"m dL/d{A}")
    elif loss == "bce":
        dA = f"dA{L} = (1.0 - {Y}) / np.clip(1.0 - {A}, 1e-300, 1.0) - {Y} / np.clip({A}, 1e-300, 1.0)"
    else:
        dA = f"dA{L} = -{Y} / np.clip({A}, 1e-300, 1.0)"
    if out == "softmax":
        return [dA, _aligned(f"dZ{L} = softmax_backward({A}, dA{L})", "the chain rule through softmax")]
    slope_of = A if out in SLOPE_OF_A else Z
    return [dA, _aligned(f"dZ{L} = dA{L} * {out}_prime({slope_of})", "the chain rule through the output activation")]


def _update_lines(opt, names):
    """The optimizer's update for each parameter name (W1, b1, ...)."""
    out = []
    if opt.name == "sgd":
        out += [f"{p} -= lr * d{p}" for p in names]
    elif opt.name == "momentum":
        for p in names:
            out += [f"v{p} = beta * v{p} + (1 - beta) * d{p}", f"{p} -= lr * v{p}"]
    elif opt.name == "rmsprop":
        for p in names:
            out += [f"s{p} = rho * s{p} + (1 - rho) * d{p} ** 2", f"{p} -= lr * d{p} / (np.sqrt(s{p}) + eps)"]
    else:
        out += ["t += 1",
                "# Bias correction: the update is lr * mW_hat / (sqrt(vW_hat) + eps) with mW_hat = mW / (1 - beta1^t)",
                "# and vW_hat = vW / (1 - beta2^t); below, top and bottom are multiplied by sqrt(1 - beta2^t).",
                "root_c2 = math.sqrt(1.0 - beta2 ** t)",
                "step_size = lr * root_c2 / (1.0 - beta1 ** t)"]
        for p in names:
            out += [f"m{p} = beta1 * m{p} + (1 - beta1) * d{p}",
                    f"v{p} = beta2 * v{p} + (1 - beta2) * d{p} ** 2",
                    f"{p} -= m{p} / (np.sqrt(v{p}) + eps * root_c2) * step_size"]
    return out


def _lr_line(schedule):
    k = schedule.kind
    if k == "constant":
        return None
    if k == "step":
        return "lr = lr0 * lr_gamma ** (epoch // lr_step_size)      # step schedule"
    if k == "exponential":
        return "lr = lr0 * lr_gamma ** epoch                         # exponential schedule"
    return ("lr = lr_min + (lr0 - lr_min) * 0.5 * (1.0 + math.cos(math.pi * (min(epoch, lr_total) / lr_total)))"
            "   # cosine schedule")


class _Script:
    """Builds the script for one trainer, section by section (each method appends lines)."""

    def __init__(self, trainer, data_file):
        self.t = trainer
        self.net = net = trainer.net
        self.L = net.L
        self.names = [f"{p}{l}" for l in range(1, net.L + 1) for p in ("W", "b")]
        self.acts = [layer.act.name for layer in net.layers]
        self.resumed = trainer.step_count > 0 or trainer.epoch_count > 0
        self.regression = getattr(trainer, "task", "classification") == "regression"
        self.has_test = trainer.X_test is not None and len(trainer.X_test) > 0
        numbers = trainer.X.size + trainer.Y.size
        if self.has_test:
            numbers += trainer.X_test.size + trainer.Y_test.size
        if self.resumed:
            numbers += net.theta.size * (1 + len(trainer.opt.state))
        self.arrays = _Arrays(inline=numbers <= INLINE_MAX)
        self.data_file = data_file
        self.lines = []

    def w(self, *lines):
        self.lines.extend(lines)

    def header(self):
        t, resumed = self.t, self.resumed
        span = f"the rest of its {t.config.epochs} epochs" if resumed else f"{t.config.epochs} epochs"
        self.w(f'"""A netstep run as plain NumPy: {t.config.describe()}.',
               "",
               "Written by `netstep export-code`; it needs nothing but NumPy. Run it with `python` and it trains",
               f"the network for {span}, printing the loss on the whole training set as netstep measures it.",
               "The last line is the final loss in full precision: the number `netstep train --json` calls \"loss\".",
               "",
               "Notation (the course's): m examples per step; X is (m, n0); layer l has W_l (n_{l-1}, n_l) and",
               "b_l (1, n_l); Z_l = A_{l-1} @ W_l + b_l and A_l = g(Z_l), with A0 = X. dZ_l and dA_l are m times",
               "dL/dZ_l and dL/dA_l (one error signal per example); the 1/m is applied once, in dW_l and db_l.",
               '"""', "")
        if t.opt.name == "adam" or t.schedule.kind == "cosine":
            self.w("import math")
        if not self.arrays.inline:
            self.w("import os")
        self.w("", "import numpy as np", "")

    def data(self):
        t, ref = self.t, self.arrays.ref
        self.w("# ----- the data ---------------------------------------------------------------------------")
        if not self.arrays.inline:
            self.w(f"# {len(t.X)} training rows are too many to print here: they live in {self.data_file} beside this file.",
                   f"data = np.load(os.path.join(os.path.dirname(os.path.abspath(__file__)), {self.data_file!r}))")
        feats = self.net.features
        x = "x" if feats else "X"  # with features the data holds the raw inputs x = [x1, x2]
        self.w(f"{x} = {ref('X', t.X)}", f"Y = {ref('Y', t.Y)}")
        if self.has_test:
            self.w(f"{x}_test = {ref('X_test', t.X_test)}", f"Y_test = {ref('Y_test', t.Y_test)}")
        if feats:
            self.w("", "", "def features(x):",
                   f"    # the network's input X = [{', '.join(feats)}], computed from the raw x = [x1, x2]",
                   "    x1, x2 = x[:, 0], x[:, 1]",
                   f"    return np.column_stack([{', '.join(FEATURE_CODE[f] for f in feats)}])", "", "",
                   "X = features(x)", *(["X_test = features(x_test)"] if self.has_test else []))
        self.w("", "", "# ----- activations g(Z) and their slopes g'(Z) ----------------------------------------------")
        for name in dict.fromkeys(self.acts):
            self.w(ACTIVATION_CODE[name].strip("\n"), "", "")

    def weights(self):
        t, net, ref = self.t, self.net, self.arrays.ref
        self.w("# ----- the weights --------------------------------------------------------------------------")
        if self.resumed:
            self.w(f"# as the saved run left them, at step {t.step_count} (epoch {t.epoch_count})")
            for layer in net.layers:
                self.w(f"W{layer.index} = {ref(f'W{layer.index}', layer.W)}", f"b{layer.index} = {ref(f'b{layer.index}', layer.b)}")
            return
        if net.init == "zeros":
            self.w("# init zeros: every weight starts at 0 (so the units of a layer stay identical)")
        else:
            self.w(f"# init {net.init}: W = randn(fan_in, fan_out) * scale, drawn layer by layer from one seeded",
                   "# generator exactly as netstep draws them; the biases start at zero.",
                   f"rng = np.random.RandomState({t.seed})")
        scale = {"small": "0.01", "xavier": "np.sqrt(1.0 / {n})", "he": "np.sqrt(2.0 / {n})"}.get(net.init)
        for layer in net.layers:
            shape = f"{layer.n_in}, {layer.n_out}"
            draw = f"np.zeros(({shape}))" if scale is None else f"rng.randn({shape}) * {scale.format(n=layer.n_in)}"
            self.w(f"W{layer.index} = {draw}", f"b{layer.index} = np.zeros((1, {layer.n_out}))")

    def settings(self):
        t, opt = self.t, self.t.opt
        self.w("", "# ----- the settings -------------------------------------------------------------------------",
               f"EPOCHS = {t.config.epochs}")
        if t.batch_size is not None:
            self.w(_aligned(f"BATCH = {t.batch_size}", "rows per step; every epoch visits them in a new shuffled order"))
        if t.schedule.kind == "constant":
            self.w(f"lr = {t.base_lr!r}")
        else:
            s = t.schedule
            self.w(f"lr0 = {t.base_lr!r}",
                   f"lr_gamma, lr_step_size, lr_min, lr_total = {s.gamma!r}, {s.step_size!r}, {s.lr_min!r}, {s.total!r}")
        for key, value in opt.settings().items():
            if key != "lr":
                self.w(f"{key} = {value!r}")
        if t.l2:
            self.w(_aligned(f"l2 = {t.l2!r}", "L2 adds (l2 / 2m) sum ||W||^2 to the loss (weights only, not biases)"))
        if t.l1:
            self.w(_aligned(f"l1 = {t.l1!r}", "L1 adds (l1 / m) sum |W| to the loss (weights only, not biases)"))
        if t.dropout:
            self.w(_aligned(f"p = {t.dropout!r}", "dropout: each hidden unit is dropped with probability p in training"))
        if t.clip is not None:
            what = "the whole gradient's length" if t.clip_mode == "norm" else "each gradient entry"
            self.w(_aligned(f"clip = {t.clip!r}", f"gradient clipping bounds {what}"))
        state = {"momentum": ("v",), "adam": ("m", "v"), "rmsprop": ("s",)}.get(opt.name, ())
        if state:
            self.w(f"# {opt.name}'s memory, one array per parameter" + (" (as the saved run left it)" if self.resumed else ""))
            views = opt.state_views(self.net) if self.resumed else {}
            for p in self.names:
                for key in state:
                    saved = views.get(p, {}).get(key)
                    self.w(f"{key}{p} = " + (self.arrays.ref(f"{key}{p}", saved) if saved is not None else f"np.zeros_like({p})"))
            if opt.name == "adam":
                self.w(_aligned(f"t = {opt.t}", "updates made so far (for the bias correction)"))
        if t.batch_size is not None or t.dropout:
            what = " and the dropout masks" if t.dropout else ""
            self.w(_aligned(f"shuffle = np.random.default_rng({t.seed})", f"the minibatch order{what}, drawn as netstep draws them"))
            if self.resumed:
                self.w("# where the saved run's shuffling stood, so the next epochs draw the orders it would have",
                       f"shuffle.bit_generator.state = {t._rng.bit_generator.state!r}")

    def functions(self):
        L, t = self.L, self.t
        cache = ", ".join(f"Z{l}, A{l}" for l in range(1, L + 1))
        self.w("", "", "def forward(X, M=None):" if t.dropout else "def forward(X):")
        for l, name in enumerate(self.acts, start=1):
            self.w(f"    Z{l} = {'X' if l == 1 else f'A{l - 1}'} @ W{l} + b{l}", f"    A{l} = {name}(Z{l})")
            if t.dropout and l < L:
                self.w("    if M is not None:" + " " * 8 + "# training: inverted dropout, the kept units scaled by 1 / (1 - p)",
                       f"        A{l} = A{l} * (M[{l - 1}] * (1.0 / (1.0 - p)))")
        self.w(f"    return {cache}", "", "")
        value_lines = _loss_value(t.loss.name, self.acts[-1], L)
        self.w(f"def loss_of(Z{L}, A{L}, Y):", "    m = Y.shape[0]", *("    " + line for line in value_lines))
        if t.l2:
            self.w("    L += 0.5 * l2 / m * (" + " + ".join(f"np.sum(W{l} ** 2)" for l in range(1, L + 1)) + ")")
        if t.l1:
            self.w("    L += l1 / m * (" + " + ".join(f"np.sum(np.abs(W{l}))" for l in range(1, L + 1)) + ")")
        score = "r2_of" if self.regression else "accuracy_of"
        self.w("    return L", "", "", f"def {score}(A{L}, Y):")
        if self.regression:
            self.w("    # regression: r2 = 1 - sum (Y - A)^2 / sum (Y - mean Y)^2 (1 is a perfect fit, 0 the mean's)",
                   f"    return 1.0 - np.sum((Y - A{L}) ** 2) / np.sum((Y - Y.mean(axis=0)) ** 2)")
        elif self.net.sizes[-1] == 1:
            self.w(_aligned(f"    return np.mean((A{L} > 0.5) == (Y > 0.5))", f"one output: the class is A{L} > 0.5", 56))
        else:
            self.w(_aligned(f"    return np.mean(A{L}.argmax(axis=1) == Y.argmax(axis=1))", "the largest output wins", 56))
        self.w("", "", "def evaluate(X, Y):", f"    {cache} = forward(X)", f"    return loss_of(Z{L}, A{L}, Y), {score}(A{L}, Y)",
               "", "")

    def step(self):
        """One cycle on the batch (Xb, Yb): forward, loss, backward, clipping, update."""
        L, t, names = self.L, self.t, self.names
        out = ["m = Xb.shape[0]"]
        if t.dropout:
            out.append("# dropout masks, one per hidden layer: 1 keeps a unit (probability 1 - p), 0 drops it")
            out += [f"M{l} = (shuffle.random((m, {self.net.sizes[l]})) >= p) * 1.0" for l in range(1, L)]
        fwd_args = f"Xb, [{', '.join(f'M{l}' for l in range(1, L))}]" if t.dropout else "Xb"
        out += ["# forward", f"{', '.join(f'Z{l}, A{l}' for l in range(1, L + 1))} = forward({fwd_args})",
               f"L_step = loss_of(Z{L}, A{L}, Yb)",
               _aligned("if not np.isfinite(L_step):", "netstep refuses a step that would write inf or NaN"),
               "    stopped = True", "    break",
               f"# backward: from the loss to dZ{L}, then layer by layer down to layer 1"]
        out += _loss_gradient(t.loss.name, self.acts[-1], L, "Yb")
        for l in range(L, 0, -1):
            out += [f"dW{l} = (1 / m) * ({'Xb' if l == 1 else f'A{l - 1}'}.T @ dZ{l})",
                    f"db{l} = (1 / m) * np.sum(dZ{l}, axis=0, keepdims=True)"]
            if l > 1:
                below = self.acts[l - 2]
                arg = f"A{l - 1}" if below in SLOPE_OF_A else f"Z{l - 1}"
                out.append(f"dA{l - 1} = dZ{l} @ W{l}.T")
                if t.dropout:
                    if below in SLOPE_OF_A:
                        arg = f"{below}(Z{l - 1})"  # the slope is read from the output before dropout
                    out.append(_aligned(f"dA{l - 1} = dA{l - 1} * (M{l - 1} * (1.0 / (1.0 - p)))",
                                        "a dropped unit passes no gradient back"))
                out.append(f"dZ{l - 1} = dA{l - 1} * {below}_prime({arg})")
        if t.l2:
            out.append("# L2's own slope, (l2 / m) W, on the weights only")
            out += [f"dW{l} += l2 * (1 / m) * W{l}" for l in range(1, L + 1)]
        if t.l1:
            out.append("# L1's own slope, (l1 / m) sign(W), on the weights only (sign(0) = 0: a weight at 0 stays)")
            out += [f"dW{l} += l1 * (1 / m) * np.sign(W{l})" for l in range(1, L + 1)]
        if t.clip is not None and t.clip_mode == "norm":
            grads = ", ".join(f"d{p}" for p in names)
            out += ["# clipping: when the whole gradient is longer than clip, shrink it to length clip",
                    f"grad_norm = np.sqrt(sum(np.sum(g ** 2) for g in ({grads})))", "if grad_norm > clip:"]
            out += [f"    d{p} = d{p} * (clip / grad_norm)" for p in names]
        elif t.clip is not None:
            out.append("# clipping: bound each gradient entry to [-clip, clip]")
            out += [f"d{p} = np.clip(d{p}, -clip, clip)" for p in names]
        out.append(f"# update ({t.opt.name})")
        return out + _update_lines(t.opt, names)

    def loop(self):
        t, pad = self.t, "    "
        first = t.epoch_count
        score = "'r2':>9" if self.regression else "'accuracy':>9"
        self.w(f"print(f\"{{'epoch':>7}} {{'loss':>12}} {{{score}}}\")", "loss, acc = evaluate(X, Y)", "stopped = False",
               f"for epoch in range({first}, EPOCHS):")
        if _lr_line(t.schedule):
            self.w(pad + _lr_line(t.schedule))
        if t.batch_size is None:
            self.w(pad + _aligned("for Xb, Yb in [(X, Y)]:", "full batch: one step on every row", 40))
        else:
            if self.resumed and t._pos:
                saved = self.arrays.ref("order_saved", t._perm)
                self.w(pad + _aligned(f"if epoch == {first}:", "the saved run stopped mid-epoch: finish its order", 40),
                       pad + f"    order, first = {saved}, {t._pos}", pad + "else:",
                       pad + "    order, first = shuffle.permutation(len(X)), 0",
                       pad + "for start in range(first, len(X), BATCH):")
            else:
                self.w(pad + "order = shuffle.permutation(len(X))", pad + "for start in range(0, len(X), BATCH):")
            self.w(pad * 2 + "rows = order[start:start + BATCH]", pad * 2 + "Xb, Yb = X[rows], Y[rows]")
        self.w(*(pad * 2 + line for line in self.step()))
        every = max(1, t.config.epochs // 10)
        self.w(pad + _aligned("loss, acc = evaluate(X, Y)", "as netstep measures it: every training row, after the epoch", 40),
               pad + f"if (epoch + 1) % {every} == 0 or epoch + 1 == EPOCHS or stopped:",
               pad + ("    print(f\"{epoch + 1:>7} {loss:12.6g} {acc:9.4f}\")" if self.regression else
                      "    print(f\"{epoch + 1:>7} {loss:12.6g} {acc * 100:8.1f}%\")"),
               pad + "if stopped:",
               pad + "    print(\"stopped: the loss became inf or NaN; the weights are the last finite ones\")",
               pad + "    break")
        if self.has_test:
            self.w("test_loss, test_acc = evaluate(X_test, Y_test)",
                   "print(f\"test set: loss {test_loss:.6g}, r2 {test_acc:.4f}\")" if self.regression else
                   "print(f\"test set: loss {test_loss:.6g}, accuracy {test_acc * 100:.1f}%\")")
        self.w("print(\"final training loss, in full precision:\")", "print(repr(float(loss)))")


def source(trainer, data_file="net_data.npz") -> tuple[str, dict]:
    """(the script's text, arrays for the .npz beside it: empty when everything is inline).

    data_file is the .npz's file name as the script should look for it beside itself.
    """
    if trainer.net.dtype != np.float64:
        raise ExportError(f"export-code writes float64 NumPy; this run uses {trainer.net.dtype} (use --set dtype=float64)")
    config = trainer.config
    if config is None:
        raise ExportError("only a run built from a RunConfig (engine.build) can be exported: this trainer has none")
    for field, off in NOT_WRITTEN:
        if getattr(config, field, off) not in (off, None):
            raise ExportError(f"export-code does not write {field} out yet (this run has {field} = "
                              f"{getattr(config, field)!r}); export the run without it")
    script = _Script(trainer, data_file)
    for section in (script.header, script.data, script.weights, script.settings, script.functions, script.loop):
        section()
    return "\n".join(script.lines) + "\n", script.arrays.saved


def data_path(path) -> str:
    """Where the .npz beside the script goes: net.py -> net_data.npz."""
    root, _ = os.path.splitext(os.fspath(path))
    return root + "_data.npz"


def write(trainer, path, force=False) -> list[str]:
    """Write the script (and its .npz when the run is too big to inline). Returns the paths written.

    Refuses to overwrite an existing file unless force; writes each file to a temporary
    name and renames it, so an interrupted export leaves no half-written file.
    """
    path = os.fspath(path)
    npz = data_path(path)
    text, saved = source(trainer, os.path.basename(npz))
    targets = [path] + ([npz] if saved else [])
    if not force:
        for target in targets:
            if os.path.exists(target):
                raise ExportError(f"{target} already exists; pass --force to overwrite it")
    written = []
    if saved:
        buf = io.BytesIO()
        np.savez(buf, **saved)
        atomic_write(npz, lambda f: f.write(buf.getvalue()))
    try:
        atomic_write(path, lambda f: f.write(text.encode("utf-8")), code=True)
    except BaseException:
        if saved:  # a data file without its script is half an export: take it back
            try:
                os.unlink(npz)
            except OSError:
                pass
        raise
    written.append(path)
    if saved:
        written.append(npz)
    return written
