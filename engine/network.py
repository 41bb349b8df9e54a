"""The multilayer perceptron: parameters, forward pass and backward pass.

Layout: every layer's W_l (n_{l-1}, n_l) and b_l (1, n_l) live stacked as one block
[W_l; b_l] of shape (n_{l-1} + 1, n_l), and all blocks live in one flat vector
`theta`. So Z_l = X W_l + b_l is a single product [X, 1] [W_l; b_l], dW_l and db_l
come out of one product [A_{l-1}, 1]^T dZ_l, and an optimizer updates every
parameter with one array operation. NumPy call overhead (about 1 us a call) is what
a small network's step costs, so fewer calls is what makes it fast.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import activations
from . import features as feats
from . import init as initializers
from .losses import get as get_loss


class ParamDict(dict):
    """Name -> array views into the network's own storage.

    Item assignment copies into the existing array (shape checked), so
    `net.params["W1"] = new` changes the network instead of detaching the name.
    """

    def __setitem__(self, name, value):
        if name not in self:
            raise KeyError(f"no parameter {name!r}; the network has {', '.join(self)}")
        target = dict.__getitem__(self, name)
        value = np.asarray(value)
        if value.shape != target.shape:
            raise ValueError(f"{name} has shape {target.shape}; got an array of shape {value.shape}")
        np.copyto(target, value)


@dataclass
class Layer:
    index: int      # 1-based, as in W1, b1
    n_in: int
    n_out: int
    act: activations.Activation
    Wb: np.ndarray  # (n_in + 1, n_out) view: [W; b]
    W: np.ndarray   # (n_in, n_out) view
    b: np.ndarray   # (1, n_out) view
    offset: int     # where Wb starts in theta


def augment(X, dtype=np.float64):
    """[X, 1]: the input with a column of ones, so that [X, 1] [W; b] = X W + b."""
    X = np.asarray(X)
    Xa = np.empty((X.shape[0], X.shape[1] + 1), dtype=dtype)
    Xa[:, :-1] = X
    Xa[:, -1] = 1.0
    return Xa


class Workspace:
    """Reusable [A_l, 1] buffers for one batch size: the ones column is written once."""

    def __init__(self, net, m):
        self.m = m
        self.Aa = [None]  # index 0 is the input, supplied per call
        self.A = [None]
        for layer in net.layers[:-1]:
            buf = np.empty((m, layer.n_out + 1), dtype=net.dtype)
            buf[:, -1] = 1.0
            self.Aa.append(buf)
            self.A.append(buf[:, :-1])


class MLP:
    """A fully connected network.

    MLP([2, 3, 1], hidden="relu", output="sigmoid", init="small", seed=42)
    draws W1 then W2 ... with np.random.RandomState(seed).randn, exactly as the course's
    np.random.seed(42); np.random.randn(...) does.
    """

    def __init__(self, sizes, hidden="relu", output="sigmoid", init="small", seed=0, dtype=np.float64,
                 features=None):
        sizes = [int(n) for n in sizes]
        if len(sizes) < 2 or any(n < 1 for n in sizes):
            raise ValueError(f"sizes must list at least two positive layer widths, got {sizes}")
        n_hidden = len(sizes) - 2
        hidden_names = [hidden] * n_hidden if isinstance(hidden, str) else list(hidden)
        if len(hidden_names) != n_hidden:
            raise ValueError(f"hidden lists {len(hidden_names)} activations but sizes {sizes} has {n_hidden} hidden layers")
        for h in hidden_names:
            if h not in activations.HIDDEN:
                raise ValueError(f"unknown hidden activation {h!r}; allowed: {', '.join(activations.HIDDEN)}")
        if output not in activations.OUTPUT:
            raise ValueError(f"unknown output activation {output!r}; allowed: {', '.join(activations.OUTPUT)}")
        if init not in initializers.INITS:
            raise ValueError(f"unknown init {init!r}; allowed: {', '.join(initializers.INITS)}")

        # Input features (engine/features.py): None, or the names computed from a raw 2-D
        # input at the top of every forward pass. The default x1,x2 is stored as None: no step at all.
        self.features = None if features is None or feats.is_default(features) else tuple(features)
        if self.features is not None and len(self.features) != sizes[0]:
            raise ValueError(f"features {','.join(self.features)} give {len(self.features)} inputs; "
                             f"sizes must start with {len(self.features)}, got {sizes}")
        self.sizes = sizes
        self.hidden = hidden_names
        self.output = output
        self.init = init
        self.seed = seed
        self.dtype = np.dtype(dtype)
        self.L = len(sizes) - 1
        total = sum((a + 1) * b for a, b in zip(sizes[:-1], sizes[1:]))
        self.theta = np.zeros(total, dtype=self.dtype)
        # Which entries of theta are weights (not biases): L2 applies to those only.
        self.weight_mask = np.zeros(total, dtype=self.dtype)
        self.layers: list[Layer] = []
        self.params = ParamDict()
        offset = 0
        for l, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:]), start=1):
            size = (n_in + 1) * n_out
            Wb = self.theta[offset:offset + size].reshape(n_in + 1, n_out)
            act = activations.get(hidden_names[l - 1] if l < self.L else output)
            layer = Layer(l, n_in, n_out, act, Wb, Wb[:n_in], Wb[n_in:], offset)
            self.layers.append(layer)
            self.weight_mask[offset:offset + n_in * n_out] = 1.0
            dict.__setitem__(self.params, f"W{l}", layer.W)
            dict.__setitem__(self.params, f"b{l}", layer.b)
            offset += size
        self.reinitialize(seed)
        self._workspaces: dict[int, Workspace] = {}

    # ----- parameters -------------------------------------------------------------

    def reinitialize(self, seed=None):
        """Draw fresh weights (biases to zero) from `seed`, in layer order."""
        if seed is not None:
            self.seed = seed
        rng = np.random.RandomState(self.seed)
        for layer in self.layers:
            layer.W[...] = initializers.draw(self.init, layer.n_in, layer.n_out, rng.randn)
            layer.b[...] = 0.0

    def grad_views(self, g):
        """Name -> view of a flat gradient vector g, keyed dW1, db1, ..."""
        out = {}
        for layer in self.layers:
            Gb = g[layer.offset:layer.offset + layer.Wb.size].reshape(layer.Wb.shape)
            out[f"dW{layer.index}"] = Gb[:layer.n_in]
            out[f"db{layer.index}"] = Gb[layer.n_in:]
        return out

    def param_names(self):
        return list(self.params)

    @property
    def n_params(self) -> int:
        return int(self.theta.size)

    def copy(self, dtype=None):
        """An independent network with the same architecture and weights."""
        other = MLP(self.sizes, self.hidden, self.output, self.init, self.seed, dtype or self.dtype, self.features)
        other.theta[...] = self.theta
        return other

    def activation(self, l):
        return self.layers[l - 1].act

    def describe(self) -> str:
        acts = " -> ".join(f"{n}" for n in self.sizes)
        return f"MLP {acts} ({', '.join(self.hidden) or 'no hidden layer'}; output {self.output}; init {self.init})"

    def __repr__(self):
        return f"<{self.describe()}, {self.n_params} parameters>"

    # ----- forward and backward ------------------------------------------------------

    def workspace(self, m) -> Workspace:
        ws = self._workspaces.get(m)
        if ws is None:
            if len(self._workspaces) > 8:
                self._workspaces.clear()
            ws = self._workspaces[m] = Workspace(self, m)
        return ws

    @property
    def n_inputs(self) -> int:
        """The width of the raw input: 2 with features (they are computed from x1, x2), else sizes[0]."""
        return feats.RAW_WIDTH if self.features is not None else self.sizes[0]

    def inputs(self, X):
        """The network's input for raw inputs X: the features when it has them, else X as it is."""
        X = np.asarray(X, dtype=self.dtype)
        if X.ndim != 2 or X.shape[1] != self.n_inputs:
            raise ValueError(f"X must have shape (m, {self.n_inputs}); got {X.shape}")
        return X if self.features is None else feats.expand(self.features, X, self.dtype)

    def forward(self, X):
        """Y_hat, cache for raw inputs X of shape (m, n_inputs).

        cache holds "Z1", "A1", ..., "ZL", "AL" (AL is Y_hat) and "X", the network's
        input (the features, when the network has them). The arrays are fresh for every call.
        """
        X = self.inputs(X)
        cache = {"X": X}
        Xa = augment(X, self.dtype)
        ws = Workspace(self, X.shape[0])
        for _ in forward_ops(self, Xa, ws, cache, record=False):
            pass
        return cache[f"A{self.L}"], cache

    def predict(self, X):
        return self.forward(X)[0]

    def backward(self, cache, Y, loss, l2=0.0, l1=0.0, dropout=None):
        """Exact dL/dparam for the forward pass in `cache`: dict "dW1", "db1", ...

        With l2 > 0 the gradient includes the (l2 / m) W term of the L2 penalty, with
        l1 > 0 the (l1 / m) sign(W) term of the L1 penalty (0 where W is exactly 0).
        dropout=(p, masks): the cache came from a forward pass with those masks.
        """
        loss = get_loss(loss)
        X = cache["X"]
        Y = np.asarray(Y, dtype=self.dtype)
        m = X.shape[0]
        if Y.shape != (m, self.sizes[-1]):
            raise ValueError(f"Y must have shape ({m}, {self.sizes[-1]}); got {Y.shape}")
        Xa = augment(X, self.dtype)
        ws = Workspace(self, m)
        for l in range(1, self.L):
            ws.A[l][...] = cache[f"A{l}"]
        g = np.empty_like(self.theta)
        for _ in backward_ops(self, Xa, ws, cache, Y, loss, g, l2, record=False, l1=l1, dropout=dropout):
            pass
        return {k: v.copy() for k, v in self.grad_views(g).items()}

    def loss_value(self, X, Y, loss, l2=0.0, l1=0.0) -> float:
        """The loss of the network on (X, Y), computed stably from the logits."""
        loss = get_loss(loss)
        _, cache = self.forward(X)
        value = loss.value(cache[f"Z{self.L}"], cache[f"A{self.L}"], np.asarray(Y, dtype=self.dtype), self.layers[-1].act)
        if l2:
            value += l2_penalty(self, l2, len(cache["X"]))
        if l1:
            value += l1_penalty(self, l1, len(cache["X"]))
        return value


def l2_penalty(net, l2, m) -> float:
    """(l2 / 2m) sum over layers of ||W_l||^2: the course's L2 term (biases excluded)."""
    return 0.5 * l2 / m * sum(float(activations.vdot(layer.W, layer.W)) for layer in net.layers)


def l1_penalty(net, l1, m) -> float:
    """(l1 / m) sum over layers of sum |W_l|: L1 beside L2, on the same 1/m scale (biases excluded)."""
    return l1 / m * sum(float(np.abs(layer.W).sum()) for layer in net.layers)


def dropout_mask(rng, m, n, p, dtype):
    """A dropout mask M (m, n) of 0s and 1s, each unit kept with probability 1 - p, drawn from rng."""
    return (rng.random((m, n)) >= p).astype(dtype)


# The cycle's operations, shared by MLP.forward/backward and the Trainer, so stepping
# one operation at a time runs exactly the arithmetic a plain step runs. With
# record=False nothing is yielded and no copies are made.

def forward_ops(net, Xa, ws, cache, record, dropout=None):
    """dropout: None, or (p, masks): masks[l] is layer l's 0/1 mask M_l, and the hidden
    output becomes A_l = g(Z_l) * M_l / (1 - p) (inverted dropout: the kept units are scaled
    up so each unit's expected output is unchanged and evaluation needs no dropout at all).
    g(Z_l) itself is kept in cache["g(Z_l)"] for the backward pass."""
    A_prev = Xa
    for layer in net.layers:
        l = layer.index
        Z = A_prev.dot(layer.Wb)  # ndarray.dot: the same product as np.dot, without its dispatch cost
        cache[f"Z{l}"] = Z
        if record:
            prev = "X" if l == 1 else f"A{l - 1}"
            m = Z.shape[0]
            yield ("forward", l, f"Z{l}", f"Z{l} = {prev} W{l} + b{l}",
                   f"({m}, {layer.n_in}) x ({layer.n_in}, {layer.n_out}) + (1, {layer.n_out}) -> ({m}, {layer.n_out})",
                   {prev: A_prev[:, :-1], f"W{l}": layer.W.copy(), f"b{l}": layer.b.copy()}, Z)
        if l < net.L and dropout is not None:
            A = layer.act.forward(Z)  # fresh: the backward pass needs g(Z) as well as the dropped output
            cache[f"g(Z{l})"] = A
        elif l < net.L:
            A = layer.act.forward(Z, out=ws.A[l])
            A_prev = ws.Aa[l]
        else:
            A = layer.act.forward(Z)
        cache[f"A{l}"] = A
        if record:
            yield ("forward", l, f"A{l}", f"A{l} = {layer.act.name}(Z{l})   [{layer.act.formula}]",
                   f"({Z.shape[0]}, {layer.n_out}) -> ({Z.shape[0]}, {layer.n_out})", {f"Z{l}": Z}, A)
        if l < net.L and dropout is not None:
            p, masks = dropout
            M = masks[l]
            np.multiply(A, M * (1.0 / (1.0 - p)), out=ws.A[l])
            A_prev = ws.Aa[l]
            cache[f"A{l}"] = ws.A[l]
            cache[f"M{l}"] = M
            if record:
                m = Z.shape[0]
                yield ("forward", l, f"A{l}", f"A{l} <- A{l} * M{l} / (1 - p)   [dropout p = {p:g}: M{l} keeps each "
                       f"unit with probability {1 - p:g}]", f"({m}, {layer.n_out}) * ({m}, {layer.n_out}) -> ({m}, {layer.n_out})",
                       {f"A{l}": A, f"M{l}": M}, ws.A[l].copy())


def backward_ops(net, Xa, ws, cache, Y, loss, g, l2, record, l1=0.0, dropout=None, scaled=True):
    """Fill the flat gradient g with dL/dtheta; yield the steps when recording.

    scaled=False (only without l2 and l1) leaves g as m dL/dtheta, the sum over the
    batch: the trainer folds the 1/m into the update (Trainer._finish), one pass fewer.

    With dropout (p, masks), the gradient flows back only through the kept units, scaled
    as in the forward pass: dA_l <- dA_l * M_l / (1 - p), then dZ_l = dA_l * g'(Z_l)."""
    L = net.L
    m = Xa.shape[0]
    inv_m = 1.0 / m
    out_layer = net.layers[-1]
    steps = loss.output_grad(cache[f"Z{L}"], cache[f"A{L}"], Y, out_layer.act, L)
    if record:
        shape = f"({m}, {out_layer.n_out})"
        operands = {f"A{L}": cache[f"A{L}"], "Y": Y}
        for name, eq, value in steps:
            yield ("backward", L, name, eq, f"{shape} -> {shape}", operands, value)
            # the next step (dZ from dA) reads this step's result and the output
            operands = {name: value, f"A{L}": cache[f"A{L}"]}
    dZ = steps[-1][2]
    for layer in reversed(net.layers):
        l = layer.index
        Gb = g[layer.offset:layer.offset + layer.Wb.size].reshape(layer.Wb.shape)
        A_prev_aug = Xa if l == 1 else ws.Aa[l - 1]
        A_prev_aug.T.dot(dZ, Gb)  # m * [dW_l; db_l]; the 1/m comes once below
        if record:
            prev = "X" if l == 1 else f"A{l - 1}"
            dW = Gb[:layer.n_in] * inv_m
            db = Gb[layer.n_in:] * inv_m
            cache[f"dZ{l}"] = dZ
            yield ("backward", l, f"dW{l}", f"dW{l} = (1/m) {prev}^T dZ{l}",
                   f"({layer.n_in}, {m}) x ({m}, {layer.n_out}) -> ({layer.n_in}, {layer.n_out})",
                   {f"{prev}^T": A_prev_aug[:, :-1].T, f"dZ{l}": dZ}, dW)
            yield ("backward", l, f"db{l}", f"db{l} = (1/m) sum over examples of dZ{l}",
                   f"({m}, {layer.n_out}) -> (1, {layer.n_out})", {f"dZ{l}": dZ}, db)
        if l > 1:
            dA = dZ.dot(layer.W.T)
            if record:
                yield ("backward", l - 1, f"dA{l - 1}", f"dA{l - 1} = dZ{l} W{l}^T",
                       f"({m}, {layer.n_out}) x ({layer.n_out}, {layer.n_in}) -> ({m}, {layer.n_in})",
                       {f"dZ{l}": dZ, f"W{l}^T": layer.W.T.copy()}, dA)
            below = net.layers[l - 2]
            if dropout is not None:
                p, masks = dropout
                dA_all, dA = dA, dA * (masks[l - 1] * (1.0 / (1.0 - p)))
                if record:
                    yield ("backward", l - 1, f"dA{l - 1}", f"dA{l - 1} <- dA{l - 1} * M{l - 1} / (1 - p)   [dropout: "
                           f"no gradient through a dropped unit]", f"({m}, {layer.n_in}) * ({m}, {layer.n_in}) -> ({m}, {layer.n_in})",
                           {f"dA{l - 1}": dA_all, f"M{l - 1}": masks[l - 1]}, dA)
                dZ = below.act.backward(cache[f"Z{l - 1}"], cache[f"g(Z{l - 1})"], dA)
            else:
                dZ = below.act.backward(cache[f"Z{l - 1}"], ws.A[l - 1], dA)
            if record:
                yield ("backward", l - 1, f"dZ{l - 1}", f"dZ{l - 1} = dA{l - 1} * {below.act.name}'(Z{l - 1})   [{below.act.derivative}]",
                       f"({m}, {layer.n_in}) * ({m}, {layer.n_in}) -> ({m}, {layer.n_in})",
                       {f"dA{l - 1}": dA, f"Z{l - 1}": cache[f"Z{l - 1}"]}, dZ)
    if scaled or l2 or l1:
        g *= inv_m
    if l2:
        coef = l2 * inv_m
        for layer in net.layers:
            l = layer.index
            GW = g[layer.offset:layer.offset + layer.n_in * layer.n_out].reshape(layer.W.shape)
            GW += coef * layer.W
            if record:
                yield ("backward", l, f"dW{l}", f"dW{l} += (lambda/m) W{l}   [L2, lambda = {l2:g}]",
                       f"({layer.n_in}, {layer.n_out})", {f"W{l}": layer.W.copy()}, GW.copy())
    if l1:
        # The subgradient of |w|: sign(w), which is 0 at w = 0 exactly (np.sign's choice),
        # so a weight sitting at 0 is left there by the L1 term.
        coef = l1 * inv_m
        for layer in net.layers:
            l = layer.index
            GW = g[layer.offset:layer.offset + layer.n_in * layer.n_out].reshape(layer.W.shape)
            GW += coef * np.sign(layer.W)
            if record:
                yield ("backward", l, f"dW{l}", f"dW{l} += (lambda1/m) sign(W{l})   [L1, lambda1 = {l1:g}; sign(0) = 0]",
                       f"({layer.n_in}, {layer.n_out})", {f"W{l}": layer.W.copy()}, GW.copy())
