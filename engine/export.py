"""The run as one standalone Python file, NumPy only, in the course's notation.

    paths = export.write(trainer, "net.py")      # ["net.py"] or ["net.py", "net_data.npz"]
    text = export.source(trainer)                # the script alone (small runs: data inlined)

The script writes every layer out (Z1 = X @ W1 + b1, A1 = tanh(Z1), dZ2 = A2 - Y,
dW2 = (1 / m) * (A1.T @ dZ2) ...), with the activations, their slopes, the loss and
its gradient for the run's output/loss pairing, the optimizer's update, L2, clipping
and the learning-rate schedule each spelled out. It draws the weights from the seed
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
    "relu": ("def relu(Z):\n    return np.maximum(Z, 0.0)\n\n\n"
             "def relu_prime(Z):\n    return (Z > 0) * 1.0        # 1 where the unit is active, else 0 (0 at the kink)\n"),
    "leaky_relu": ("def leaky_relu(Z):\n    return np.maximum(Z, 0.01 * Z)\n\n\n"
                   "def leaky_relu_prime(Z):\n    return np.where(Z > 0, 1.0, 0.01)\n"),
    "tanh": ("def tanh(Z):\n    return np.tanh(Z)\n\n\n"
             "def tanh_prime(A):\n    return 1.0 - A ** 2         # tanh'(Z) = 1 - tanh(Z)^2, read from A = tanh(Z)\n"),
    "sigmoid": ("def sigmoid(Z):\n    return np.exp(-np.logaddexp(0.0, -Z))   # = 1 / (1 + e^-Z), without overflow\n\n\n"
                "def sigmoid_prime(A):\n    return A * (1.0 - A)        # sigma'(Z) = sigma(Z) (1 - sigma(Z)), read from A\n"),
    "linear": ("def linear(Z):\n    return Z\n\n\n"
               "def linear_prime(Z):\n    return 1.0\n"),
    "softmax": ("def softmax(Z):\n    E = np.exp(Z - Z.max(axis=1, keepdims=True))   # the shift changes nothing but keeps exp <= 1\n"
                "    return E / E.sum(axis=1, keepdims=True)\n\n\n"
                "def softmax_backward(A, dA):\n    # softmax mixes a row's units: dZ_j = A_j (dA_j - sum_k dA_k A_k)\n"
                "    return A * (dA - np.sum(dA * A, axis=1, keepdims=True))\n"),
}
SLOPE_OF_A = ("tanh", "sigmoid")  # their slopes are read from A (as the engine does), the others from Z


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


def _activation_lines(l, name, prev, lines):
    lines.append(f"    Z{l} = {prev} @ W{l} + b{l}")
    lines.append(f"    A{l} = {name}(Z{l})")


def _loss_code(loss, out, L):
    """(value lines, dZ_L lines, what dZ_L is) for the pairing, reading ZL, AL, Y, m."""
    Z, A = f"Z{L}", f"A{L}"
    if loss == "bce" and out == "sigmoid":
        value = [f"# -(1/m) sum(Y log A{L} + (1 - Y) log(1 - A{L})), written with the logits Z{L}:",
                 f"# log sigma(Z) = -log(1 + e^-Z), so each term is log(1 + e^Z) - Y Z, finite even where A{L} rounds to 1",
                 f"L = (np.sum(np.logaddexp(0.0, {Z})) - np.sum(Y * {Z})) / m"]
        grad = [f"dZ{L} = A{L} - {{Y}}                       # sigmoid + BCE: dL/dA times sigma' cancels to this"]
    elif loss == "cross_entropy" and out == "softmax":
        value = [f"# -(1/m) sum(Y log A{L}), with log A{L} taken from the logits (log-softmax) so it never is log 0",
                 f"shifted = {Z} - {Z}.max(axis=1, keepdims=True)",
                 "log_A = shifted - np.log(np.sum(np.exp(shifted), axis=1, keepdims=True))",
                 "L = -np.sum(Y * log_A) / m"]
        grad = [f"dZ{L} = A{L} - {{Y}}                       # softmax + cross-entropy: the Jacobian cancels to this"]
    elif loss == "cross_entropy" and out == "sigmoid":
        value = [f"# -(1/m) sum(Y log A{L}) with log sigma(Z) = -log(1 + e^-Z)",
                 f"L = np.sum(Y * np.logaddexp(0.0, -{Z})) / m"]
        grad = [f"dZ{L} = {{Y}} * A{L} - {{Y}}                   # -Y (1 - A{L}): dL/dA = -Y / A times sigma' = A (1 - A)"]
    else:
        if loss == "mse":
            value = [f"L = 0.5 * np.sum((A{L} - Y) ** 2) / m      # (1 / 2m) sum (A{L} - Y)^2"]
            dA = [f"dA{L} = A{L} - {{Y}}                       # m dL/dA{L}"]
        elif loss == "bce":
            value = [f"P = np.clip(A{L}, 1e-300, 1.0)             # keeps log finite at outputs of exactly 0 or 1",
                     f"Q = np.clip(1.0 - A{L}, 1e-300, 1.0)",
                     "L = -(np.sum(Y * np.log(P)) + np.sum((1.0 - Y) * np.log(Q))) / m"]
            dA = [f"dA{L} = (1.0 - {{Y}}) / np.clip(1.0 - A{L}, 1e-300, 1.0) - {{Y}} / np.clip(A{L}, 1e-300, 1.0)"]
        else:
            value = [f"L = -np.sum(Y * np.log(np.clip(A{L}, 1e-300, 1.0))) / m"]
            dA = [f"dA{L} = -{{Y}} / np.clip(A{L}, 1e-300, 1.0)"]
        if out == "softmax":
            grad = dA + [f"dZ{L} = softmax_backward(A{L}, dA{L})        # the chain rule through softmax"]
        elif out in SLOPE_OF_A:
            grad = dA + [f"dZ{L} = dA{L} * {out}_prime(A{L})           # the chain rule through the output activation"]
        else:
            grad = dA + [f"dZ{L} = dA{L} * {out}_prime(Z{L})           # the chain rule through the output activation"]
    return value, grad


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
                "# Bias correction, as lr * m_hat / (sqrt(v_hat) + eps) with m_hat = m / (1 - beta1^t) and",
                "# v_hat = v / (1 - beta2^t), rearranged: multiply top and bottom by sqrt(1 - beta2^t).",
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


def source(trainer, data_file=None) -> tuple[str, dict]:
    """(the script's text, arrays for the .npz beside it: empty when everything is inline).

    data_file is the .npz's file name as the script should look for it beside itself.
    """
    net = trainer.net
    if net.dtype != np.float64:
        raise ExportError(f"export-code writes float64 NumPy; this run uses {net.dtype} (use --set dtype=float64)")
    config = trainer.config
    L = net.L
    names = [f"{p}{l}" for l in range(1, L + 1) for p in ("W", "b")]
    acts = [layer.act.name for layer in net.layers]
    opt = trainer.opt
    loss = trainer.loss.name
    resumed = trainer.step_count > 0 or trainer.epoch_count > 0
    X_test, Y_test = trainer.X_test, trainer.Y_test
    has_test = X_test is not None and len(X_test) > 0
    numbers = trainer.X.size + trainer.Y.size + (X_test.size + Y_test.size if has_test else 0)
    if resumed:
        numbers += net.theta.size * (1 + len(opt.state))
    arrays = _Arrays(inline=numbers <= INLINE_MAX)
    batch = trainer.batch_size
    epochs = config.epochs
    seed = trainer.seed
    need_math = opt.name == "adam" or trainer.schedule.kind == "cosine"

    out = []
    w = out.append
    w(f'"""A netstep run as plain NumPy: {config.describe()}.')
    w("")
    w("Written by `netstep export-code`; it needs nothing but NumPy. Run it with `python` and it trains the")
    w(f"network for {'the rest of ' if resumed else ''}{epochs} epochs, printing the loss on the whole training set as netstep measures")
    w("it; its last line is the final loss in full precision, the number `netstep train --json` calls \"loss\".")
    w("")
    w("Notation (the course's): m examples per step; X is (m, n0); layer l has W_l (n_{l-1}, n_l) and b_l (1, n_l);")
    w("Z_l = A_{l-1} @ W_l + b_l and A_l = g(Z_l), with A0 = X. dZ_l and dA_l are m times dL/dZ_l and dL/dA_l")
    w("(one error signal per example); the 1/m is applied once, in dW_l and db_l.")
    w('"""')
    w("")
    if need_math:
        w("import math")
    if not arrays.inline:
        w("import os")
        w("")
    w("import numpy as np")
    w("")
    w("# ----- the data ------------------------------------------------------------------------------")
    if not arrays.inline:
        w(f"# {len(trainer.X)} training rows: too many to print here, so they live in {data_file} beside this file.")
        w(f"data = np.load(os.path.join(os.path.dirname(os.path.abspath(__file__)), {data_file!r}))")
    w(f"X = {arrays.ref('X', trainer.X)}")
    w(f"Y = {arrays.ref('Y', trainer.Y)}")
    if has_test:
        w(f"X_test = {arrays.ref('X_test', X_test)}")
        w(f"Y_test = {arrays.ref('Y_test', Y_test)}")
    w("")
    w("")
    w("# ----- activations g(Z) and their slopes g'(Z) -------------------------------------------------")
    for name in dict.fromkeys(acts):
        w(ACTIVATION_CODE[name])
        w("")
    w("# ----- the weights -----------------------------------------------------------------------------")
    if resumed:
        w(f"# Where the saved run stood: step {trainer.step_count}, epoch {trainer.epoch_count}.")
        for layer in net.layers:
            l = layer.index
            w(f"W{l} = {arrays.ref(f'W{l}', layer.W)}")
            w(f"b{l} = {arrays.ref(f'b{l}', layer.b)}")
    else:
        scales = {"small": "0.01", "xavier": "np.sqrt(1.0 / {n})", "he": "np.sqrt(2.0 / {n})"}
        if net.init == "zeros":
            w("# init zeros: every weight starts at 0 (so the units of a layer stay identical)")
        else:
            w(f"# init {net.init}: W = randn(fan_in, fan_out) * scale, drawn layer by layer from one seeded generator,")
            w("# exactly as netstep draws them; the biases start at zero.")
            w(f"rng = np.random.RandomState({seed})")
        for layer in net.layers:
            l = layer.index
            shape = f"{layer.n_in}, {layer.n_out}"
            if net.init == "zeros":
                w(f"W{l} = np.zeros(({shape}))")
            else:
                w(f"W{l} = rng.randn({shape}) * {scales[net.init].format(n=f'{layer.n_in}')}")
            w(f"b{l} = np.zeros((1, {layer.n_out}))")
    w("")
    w("# ----- the settings --------------------------------------------------------------------------")
    w(f"EPOCHS = {epochs}")
    if batch is not None:
        w(f"BATCH = {batch}                       # rows per step; each epoch visits the rows in a new shuffled order")
    lr0 = "lr0" if trainer.schedule.kind != "constant" else "lr"
    w(f"{lr0} = {trainer.base_lr!r}")
    if trainer.schedule.kind != "constant":
        s = trainer.schedule
        w(f"lr_gamma, lr_step_size, lr_min, lr_total = {s.gamma!r}, {s.step_size!r}, {s.lr_min!r}, {s.total!r}")
    for key, value in opt.settings().items():
        if key != "lr":
            w(f"{key} = {value!r}")
    if trainer.l2:
        w(f"l2 = {trainer.l2!r}                        # L2: adds (l2 / 2m) sum ||W||^2 to the loss (biases excluded)")
    if trainer.clip is not None:
        what = "the whole gradient's length" if trainer.clip_mode == "norm" else "each gradient entry"
        w(f"clip = {trainer.clip!r}                      # gradient clipping: bounds {what}")
    state = {"momentum": ("v",), "adam": ("m", "v"), "rmsprop": ("s",)}.get(opt.name, ())
    if state:
        w(f"# {opt.name}'s memory, one array per parameter{' (as the saved run left it)' if resumed else ''}")
        views = opt.state_views(net) if resumed else {}
        for p in names:
            for key in state:
                saved = views.get(p, {}).get(key)
                if saved is not None:
                    w(f"{key}{p} = {arrays.ref(f'{key}{p}', saved)}")
                else:
                    w(f"{key}{p} = np.zeros_like({p})")
        if opt.name == "adam":
            w(f"t = {opt.t}                             # updates made so far (for the bias correction)")
    if batch is not None:
        w(f"shuffle = np.random.default_rng({seed})     # the minibatch order, as netstep's Trainer draws it")
        if resumed:
            w(f"shuffle.bit_generator.state = {trainer._rng.bit_generator.state!r}")
    w("")
    w("")
    w("def forward(X):")
    for l, name in enumerate(acts, start=1):
        prev = "X" if l == 1 else f"A{l - 1}"
        _activation_lines(l, name, prev, out)
    w("    return " + ", ".join(f"Z{l}, A{l}" for l in range(1, L + 1)))
    w("")
    w("")
    value_lines, grad_lines = _loss_code(loss, acts[-1], L)
    grad_lines = [line.format(Y="Yb") for line in grad_lines]
    w(f"def loss_of(Z{L}, A{L}, Y):")
    w("    m = Y.shape[0]")
    for line in value_lines:
        w("    " + line)
    if trainer.l2:
        w("    L += 0.5 * l2 / m * (" + " + ".join(f"np.sum(W{l} ** 2)" for l in range(1, L + 1)) + ")")
    w("    return L")
    w("")
    w("")
    w(f"def accuracy_of(A{L}, Y):")
    if net.sizes[-1] == 1:
        w(f"    return np.mean((A{L} > 0.5) == (Y > 0.5))      # one output: the class is A{L} > 0.5")
    else:
        w(f"    return np.mean(A{L}.argmax(axis=1) == Y.argmax(axis=1))   # several outputs: the largest one wins")
    w("")
    w("")
    w("def evaluate(X, Y):")
    w(f"    {', '.join(f'Z{l}, A{l}' for l in range(1, L + 1))} = forward(X)")
    w(f"    return loss_of(Z{L}, A{L}, Y), accuracy_of(A{L}, Y)")
    w("")
    w("")
    # ----- the training loop -----
    first_epoch = trainer.epoch_count
    pad = "    "
    w("print(f\"{'epoch':>7} {'loss':>12} {'accuracy':>9}\")")
    w("loss, acc = evaluate(X, Y)")
    w("stopped = False")
    every = max(1, epochs // 10)
    w(f"for epoch in range({first_epoch}, EPOCHS):")
    if _lr_line(trainer.schedule):
        w(pad + _lr_line(trainer.schedule))
    if batch is None:
        w(pad + "for Xb, Yb in [(X, Y)]:                # full batch: one step on every row")
    else:
        if resumed and trainer._pos:
            rest = arrays.ref("order_saved", trainer._perm)
            w(pad + f"if epoch == {first_epoch}:                  # the saved run stopped mid-epoch: finish its order")
            w(pad + f"    order, first = {rest}, {trainer._pos}")
            w(pad + "else:")
            w(pad + "    order, first = shuffle.permutation(len(X)), 0")
            w(pad + "for start in range(first, len(X), BATCH):")
        else:
            w(pad + "order = shuffle.permutation(len(X))")
            w(pad + "for start in range(0, len(X), BATCH):")
        w(pad * 2 + "rows = order[start:start + BATCH]")
        w(pad * 2 + "Xb, Yb = X[rows], Y[rows]")
    step = []
    s = step.append
    s("m = Xb.shape[0]")
    s("# forward")
    s(f"{', '.join(f'Z{l}, A{l}' for l in range(1, L + 1))} = forward(Xb)")
    s(f"L_step = loss_of(Z{L}, A{L}, Yb)")
    s("if not np.isfinite(L_step):             # netstep refuses a step that would write inf or NaN")
    s("    stopped = True")
    s("    break")
    s(f"# backward: from the loss to dZ{L}, then layer by layer down to layer 1")
    step.extend(grad_lines)
    for l in range(L, 0, -1):
        prev = "Xb" if l == 1 else f"A{l - 1}"
        s(f"dW{l} = (1 / m) * ({prev}.T @ dZ{l})")
        s(f"db{l} = (1 / m) * np.sum(dZ{l}, axis=0, keepdims=True)")
        if l > 1:
            below = acts[l - 2]
            s(f"dA{l - 1} = dZ{l} @ W{l}.T")
            arg = f"A{l - 1}" if below in SLOPE_OF_A else f"Z{l - 1}"
            s(f"dZ{l - 1} = dA{l - 1} * {below}_prime({arg})")
    if trainer.l2:
        s("# L2's own slope: (l2 / m) W, weights only")
        for l in range(1, L + 1):
            s(f"dW{l} += l2 * (1 / m) * W{l}")
    grads = ", ".join(f"d{p}" for p in names)
    if trainer.clip is not None and trainer.clip_mode == "norm":
        s("# clipping: shrink the whole gradient to length clip when it is longer")
        s(f"grad_norm = np.sqrt(sum(np.sum(g ** 2) for g in ({grads})))")
        s("if grad_norm > clip:")
        for p in names:
            s(f"    d{p} = d{p} * (clip / grad_norm)")
    elif trainer.clip is not None:
        s("# clipping: bound each gradient entry to [-clip, clip]")
        for p in names:
            s(f"d{p} = np.clip(d{p}, -clip, clip)")
    s(f"# update ({opt.name})")
    step.extend(_update_lines(opt, names))
    for line in step:
        w(pad * 2 + line)
    w(pad + "loss, acc = evaluate(X, Y)            # as netstep measures it: the whole training set, after the epoch")
    w(pad + f"if (epoch + 1) % {every} == 0 or epoch + 1 == EPOCHS or stopped:")
    w(pad + "    print(f\"{epoch + 1:>7} {loss:12.6g} {acc * 100:8.1f}%\")")
    w(pad + "if stopped:")
    w(pad + "    print(\"stopped: the loss became inf or NaN; the weights are the last finite ones\")")
    w(pad + "    break")
    if has_test:
        w("test_loss, test_acc = evaluate(X_test, Y_test)")
        w("print(f\"test set: loss {test_loss:.6g}, accuracy {test_acc * 100:.1f}%\")")
    w("print(\"final training loss, in full precision:\")")
    w("print(repr(float(loss)))")
    return "\n".join(out) + "\n", arrays.saved


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
    atomic_write(path, lambda f: f.write(text.encode("utf-8")))
    written.append(path)
    if saved:
        written.append(npz)
    return written
