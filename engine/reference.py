"""One training step written plainly, in the course's notation, for a network of any depth.

    loss, grads, new_params = reference.step(params, X, Y, config)

`params` holds W1, b1, W2, b2, ... (W_l of shape (n_{l-1}, n_l), b_l of shape (1, n_l));
`grads` holds dW1, db1, ...; `new_params` are fresh arrays after the update (the
arrays passed in are never written). `config` is an engine.RunConfig: this file reads
its hidden, output, loss, lr, l2, l1, dropout, features, optimizer (plain SGD only: one
step of it needs no memory of earlier steps), clip and clip_mode. X is the raw input;
with features other than x1,x2 the network's input is computed from it first. `loss` is the loss at the params passed
in, before the update, as `Trainer.step().loss` is.

This is the file to read first. The Trainer computes the same numbers (its tests check
them against this file to 1e-12) with every buffer reused and all parameters in one
flat vector, which is fast but much harder to read. Nothing here is tuned for speed,
and nothing is guarded: log(Y_hat) and Y / Y_hat are taken as written, so outputs that
round to 0 or 1 give inf here, where the engine (working from the logits) stays finite.

Notation: m examples, L layers; A0 is X and A_L is Y_hat. dZ_l and dA_l are m times
the true derivatives dL/dZ_l and dL/dA_l (one error signal per example, as the
course writes them); the 1/m is applied once, in dW_l and db_l.
"""

from __future__ import annotations

import math

import numpy as np

LEAKY_SLOPE = 0.01


# ----- activations: each one's forward g(Z) beside its derivative g'(Z) ---------------------

def relu(Z):
    return np.maximum(0.0, Z)


def relu_prime(Z):
    return (Z > 0).astype(Z.dtype)


def leaky_relu(Z):
    return np.where(Z > 0, Z, LEAKY_SLOPE * Z)


def leaky_relu_prime(Z):
    return np.where(Z > 0, 1.0, LEAKY_SLOPE).astype(Z.dtype)


def sigmoid(Z):
    return 1.0 / (1.0 + np.exp(-Z))


def sigmoid_prime(Z):
    s = sigmoid(Z)
    return s * (1.0 - s)


def tanh(Z):
    return np.tanh(Z)


def tanh_prime(Z):
    return 1.0 - np.tanh(Z) ** 2


def linear(Z):
    return Z.copy()


def linear_prime(Z):
    return np.ones_like(Z)


def softmax(Z):
    E = np.exp(Z - Z.max(axis=1, keepdims=True))  # shifting by the row max changes nothing but avoids overflow
    return E / E.sum(axis=1, keepdims=True)


def softmax_backward(A, dA):
    """Softmax mixes a row's units, so its derivative is a Jacobian, not one number per
    entry: dZ_j = A_j (dA_j - sum_k dA_k A_k), row by row."""
    return A * (dA - (dA * A).sum(axis=1, keepdims=True))


ACTIVATIONS = {
    "relu": (relu, relu_prime),
    "leaky_relu": (leaky_relu, leaky_relu_prime),
    "sigmoid": (sigmoid, sigmoid_prime),
    "tanh": (tanh, tanh_prime),
    "linear": (linear, linear_prime),
    "softmax": (softmax, None),  # see softmax_backward
}


# ----- losses: each one's value beside dA_L = m dL/dY_hat -----------------------------------

def mse(Y_hat, Y):
    m = Y.shape[0]
    return (1 / (2 * m)) * np.sum((Y_hat - Y) ** 2)


def mse_dA(Y_hat, Y):
    return Y_hat - Y


def bce(Y_hat, Y):
    m = Y.shape[0]
    return -(1 / m) * np.sum(Y * np.log(Y_hat) + (1 - Y) * np.log(1 - Y_hat))


def bce_dA(Y_hat, Y):
    return -Y / Y_hat + (1 - Y) / (1 - Y_hat)


def cross_entropy(Y_hat, Y):
    m = Y.shape[0]
    return -(1 / m) * np.sum(Y * np.log(Y_hat))


def cross_entropy_dA(Y_hat, Y):
    return -Y / Y_hat


LOSSES = {
    "mse": (mse, mse_dA),
    "bce": (bce, bce_dA),
    "cross_entropy": (cross_entropy, cross_entropy_dA),
}


def output_dZ(Z, Y_hat, Y, output, loss):
    """dZ_L: the loss's dA_L through the output activation by the chain rule.

    Two pairings cancel to Y_hat - Y: sigmoid with BCE, and softmax with cross-entropy
    (one-hot Y). Every other pairing takes the full chain rule: MSE after a sigmoid,
    for one, needs the sigmoid's slope too.
    """
    if (output, loss) in (("sigmoid", "bce"), ("softmax", "cross_entropy")):
        return Y_hat - Y
    dA = LOSSES[loss][1](Y_hat, Y)
    if output == "softmax":
        return softmax_backward(Y_hat, dA)
    g_prime = ACTIVATIONS[output][1]
    return dA * g_prime(Z)


# ----- input features: the network's input computed from the raw x = [x1, x2] ------------------

FEATURES = {
    "x1": lambda x1, x2: x1,
    "x2": lambda x1, x2: x2,
    "x1^2": lambda x1, x2: x1 ** 2,
    "x2^2": lambda x1, x2: x2 ** 2,
    "x1*x2": lambda x1, x2: x1 * x2,
    "sin(x1)": lambda x1, x2: np.sin(x1),
    "sin(x2)": lambda x1, x2: np.sin(x2),
}


def features(names, x):
    """X = [f(x1, x2) for each feature name], one column each: X = [x1, x2, x1*x2]."""
    x1, x2 = x[:, 0], x[:, 1]
    return np.column_stack([FEATURES[name](x1, x2) for name in names])


# ----- the cycle ------------------------------------------------------------------------------

def hidden_names(config, L):
    """The activation of each hidden layer 1 .. L-1 (config.hidden: one name or one per layer)."""
    if isinstance(config.hidden, str):
        return [config.hidden] * (L - 1)
    return list(config.hidden)


def forward(params, X, config, masks=None):
    """cache with Z1, A1, ..., ZL, AL (AL is Y_hat), and A0 = X.

    With dropout p > 0 and masks (M1, M2, ... of 0s and 1s, one per hidden layer), each
    hidden output keeps the units its mask keeps, scaled by 1 / (1 - p):
    A1 = relu(Z1) * M1 / (1 - p). The undropped relu(Z1) is kept as "g(Z1)" for backward."""
    L = len(params) // 2
    names = hidden_names(config, L) + [config.output]
    cache = {"A0": X}
    for l in range(1, L + 1):
        W, b = params[f"W{l}"], params[f"b{l}"]
        Z = cache[f"A{l - 1}"] @ W + b          # Z1 = X @ W1 + b1
        g = ACTIVATIONS[names[l - 1]][0]
        cache[f"Z{l}"] = Z
        cache[f"A{l}"] = g(Z)                   # A1 = relu(Z1)
        if masks is not None and l < L:
            cache[f"g(Z{l})"] = cache[f"A{l}"]
            cache[f"A{l}"] = cache[f"A{l}"] * masks[f"M{l}"] / (1 - config.dropout)   # A1 = A1 * M1 / (1 - p)
    return cache


def loss_value(params, cache, Y, config):
    """The loss of the forward pass in cache, plus (l2 / 2m) sum ||W_l||^2 when l2 > 0
    and (l1 / m) sum |W_l| when l1 > 0."""
    L = len(params) // 2
    m = Y.shape[0]
    value = float(LOSSES[config.loss][0](cache[f"A{L}"], Y))
    if config.l2:
        value += (config.l2 / (2 * m)) * sum(float(np.sum(params[f"W{l}"] ** 2)) for l in range(1, L + 1))
    if config.l1:
        value += (config.l1 / m) * sum(float(np.sum(np.abs(params[f"W{l}"]))) for l in range(1, L + 1))
    return value


def backward(params, cache, Y, config, masks=None):
    """grads dW1, db1, ...: the exact gradient of loss_value (for the masks of forward)."""
    L = len(params) // 2
    m = Y.shape[0]
    names = hidden_names(config, L)
    grads = {}
    dZ = output_dZ(cache[f"Z{L}"], cache[f"A{L}"], Y, config.output, config.loss)   # dZ2
    for l in range(L, 0, -1):
        A_prev = cache[f"A{l - 1}"]
        grads[f"dW{l}"] = (1 / m) * A_prev.T @ dZ                          # dW2 = (1/m) A1.T @ dZ2
        grads[f"db{l}"] = (1 / m) * dZ.sum(axis=0, keepdims=True)          # db2 = (1/m) sum of dZ2
        if config.l2:
            grads[f"dW{l}"] += (config.l2 / m) * params[f"W{l}"]           # the L2 term's own slope
        if config.l1:
            grads[f"dW{l}"] += (config.l1 / m) * np.sign(params[f"W{l}"])  # L1's subgradient: sign(W), 0 at W = 0
        if l > 1:
            dA = dZ @ params[f"W{l}"].T                                    # dA1 = dZ2 @ W2.T
            if masks is not None:
                dA = dA * masks[f"M{l - 1}"] / (1 - config.dropout)        # only the kept units pass gradient back
            g_prime = ACTIVATIONS[names[l - 2]][1]
            dZ = dA * g_prime(cache[f"Z{l - 1}"])                          # dZ1 = dA1 * relu_prime(Z1)
    return grads


def clip(grads, config):
    """Gradient clipping, if config.clip is set: the whole gradient's length (norm) or each entry (value)."""
    if config.clip is None:
        return grads
    if config.clip_mode == "value":
        return {k: np.clip(g, -config.clip, config.clip) for k, g in grads.items()}
    norm = math.sqrt(sum(float(np.sum(g ** 2)) for g in grads.values()))
    if norm <= config.clip:
        return grads
    return {k: g * (config.clip / norm) for k, g in grads.items()}


def update(params, grads, lr):
    """Plain SGD on copies: W1 -= lr * dW1, b1 -= lr * db1, ..."""
    new_params = {}
    for name, value in params.items():
        new_params[name] = value - lr * grads["d" + name]
    return new_params


def dropout_masks(params, m, config, rng=None):
    """M1, M2, ...: one 0/1 mask (m, n_l) per hidden layer, each unit kept with probability
    1 - p, drawn as the Trainer draws them (rng.random(...) >= p, layer by layer). rng
    defaults to a fresh generator seeded with config.seed: the masks of a full-batch
    run's first step."""
    rng = np.random.default_rng(config.seed) if rng is None else rng
    L = len(params) // 2
    return {f"M{l}": (rng.random((m, params[f"W{l}"].shape[1])) >= config.dropout).astype(float) for l in range(1, L)}


def step(params, X, Y, config, masks=None):
    """One forward, loss, backward, update cycle: (loss before the update, grads, new_params).

    grads are the exact gradient (before any clipping); new_params apply the clipped one.
    With dropout, `masks` (M1, ...) fixes which units are dropped; without it they are
    drawn by dropout_masks().
    """
    if config.optimizer != "sgd":
        raise ValueError(f"reference.step implements the sgd optimizer only, not {config.optimizer!r}")
    X = np.asarray(X, dtype=float)
    Y = np.asarray(Y, dtype=float)
    if Y.ndim == 1:
        Y = Y.reshape(-1, 1)
    if list(config.features) != ["x1", "x2"]:
        X = features(config.features, X)        # X = [x1, x2, x1*x2]: the network's input
    if config.dropout and masks is None:
        masks = dropout_masks(params, X.shape[0], config)
    if not config.dropout:
        masks = None
    cache = forward(params, X, config, masks)
    loss = loss_value(params, cache, Y, config)
    grads = backward(params, cache, Y, config, masks)
    new_params = update(params, clip(grads, config), config.lr)
    return loss, grads, new_params
