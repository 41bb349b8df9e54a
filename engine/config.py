"""RunConfig: one whole run (data, network, loss, optimizer, training) as plain values.

`RunConfig.from_dict`, `.to_dict`, `RunConfig.from_file` (TOML or JSON) validate every
field and raise ConfigError naming the field and what is allowed. `build(config)`
turns a config into a ready Trainer (network at trainer.net, data at trainer.data).
"""

from __future__ import annotations

import copy
import dataclasses
import json
import math
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from . import activations, datasets, limits, optim
from . import features as feats
from . import init as initializers
from .errors import ConfigError, DataError, NetstepError
from .losses import LOSSES
from .losses import get as get_loss
from .network import MLP
from .safefile import read_user_file
from .trainer import Trainer

DTYPES = ("float64", "float32")


@dataclass
class RunConfig:
    dataset: str = "xor"
    dataset_options: dict = field(default_factory=dict)
    sizes: list = field(default_factory=lambda: [2, 4, 1])
    hidden: object = "tanh"          # a name, or a list with one name per hidden layer
    output: str = "sigmoid"
    loss: str = "bce"
    init: str = "xavier"
    optimizer: str = "sgd"
    lr: float = 1.0
    beta: float = 0.9                # momentum
    beta1: float = 0.9               # adam
    beta2: float = 0.999             # adam
    rho: float = 0.9                 # rmsprop
    eps: float = 1e-8                # adam, rmsprop
    l2: float = 0.0
    clip: float | None = None
    clip_mode: str = "norm"
    schedule: str = "constant"
    lr_step_size: int = 100
    lr_gamma: float = 0.5
    lr_min: float = 0.0
    batch_size: int | None = None
    epochs: int = 2000
    seed: int = 0
    dtype: str = "float64"
    # Second wave (engine/features.py, engine/network.py): input features, L1, dropout, task.
    features: list = field(default_factory=lambda: list(feats.DEFAULT))
    l1: float = 0.0
    dropout: float = 0.0             # probability of dropping each hidden unit in training
    task: str = "classification"     # or "regression": linear/tanh output, MSE, scored by r2

    def __post_init__(self):
        self.validate()

    # ----- validation ----------------------------------------------------------------

    def validate(self):
        """Check and normalise every field; raise ConfigError naming the first bad one."""
        if not isinstance(self.dataset, str) or not (self.dataset in datasets.NAMES or
                                                     (self.dataset.startswith("csv:") and len(self.dataset) > 4)):
            raise ConfigError("dataset", f"unknown dataset {self.dataset!r}; allowed: {', '.join(datasets.NAMES)}, csv:PATH")
        if not isinstance(self.dataset_options, dict):
            raise ConfigError("dataset_options", f"must be a table of options, got {self.dataset_options!r}")
        key = "csv" if self.dataset.startswith("csv:") else self.dataset
        for opt in self.dataset_options:
            if opt not in datasets.OPTIONS[key]:
                allowed = ", ".join(datasets.OPTIONS[key]) or "none"
                raise ConfigError("dataset_options", f"dataset {key} has no option {opt!r}; allowed: {allowed}")

        sizes = self.sizes
        if isinstance(sizes, str):
            sizes = sizes.split(",")
        try:
            sizes = [_int(s) for s in sizes]
        except (TypeError, ValueError):
            raise ConfigError("sizes", f"must be a list of layer widths such as 2,4,1; got {self.sizes!r}") from None
        if len(sizes) < 2 or any(n < 1 for n in sizes):
            raise ConfigError("sizes", f"needs at least two layer widths, each >= 1 (such as 2,4,1); got {self.sizes!r}")
        if len(sizes) > 34 or any(n > 100_000 for n in sizes):
            raise ConfigError("sizes", "at most 32 hidden layers of at most 100000 units each")
        self.sizes = sizes
        self.features = feats.parse(self.features)
        _choice("task", self.task, TASKS)
        if self.dataset in datasets.REGRESSION and self.task != "regression":
            raise ConfigError("task", f"{self.dataset} is a regression dataset (real-valued targets): task must be "
                                      f"regression, not {self.task}")
        self._check_sizes_fit_data()

        n_hidden = len(sizes) - 2
        hidden = self.hidden
        if isinstance(hidden, str) and "," in hidden:
            hidden = [h.strip() for h in hidden.split(",")]
        names = [hidden] if isinstance(hidden, str) else list(hidden) if isinstance(hidden, (list, tuple)) else [hidden]
        for h in names:
            if h not in activations.HIDDEN:
                raise ConfigError("hidden", f"unknown activation {h!r}; allowed: {', '.join(activations.HIDDEN)}")
        if not isinstance(hidden, str) and len(names) != n_hidden:
            if len(names) == 1:
                hidden = names[0]
            else:
                raise ConfigError("hidden", f"lists {len(names)} activations but sizes has {n_hidden} hidden layers; give one name, or one per hidden layer")
        self.hidden = hidden if isinstance(hidden, str) else list(names)

        _choice("output", self.output, activations.OUTPUT)
        _choice("loss", self.loss, tuple(LOSSES))
        if self.task == "regression":
            if self.loss != "mse":
                raise ConfigError("loss", f"regression trains with mse (squared error on real-valued targets), "
                                          f"not {self.loss}")
            if self.output not in REGRESSION_OUTPUTS:
                raise ConfigError("output", f"regression needs an output that reaches the targets: linear (any value) "
                                            f"or tanh (targets in [-1, 1]), not {self.output}")
        if self.output not in get_loss(self.loss).outputs:
            raise ConfigError("loss", f"{self.loss} needs outputs between 0 and 1: output must be one of "
                                      f"{', '.join(get_loss(self.loss).outputs)}, not {self.output}")
        _choice("init", self.init, initializers.INITS)
        _choice("optimizer", self.optimizer, optim.OPTIMIZERS)
        _choice("clip_mode", self.clip_mode, ("norm", "value"))
        _choice("schedule", self.schedule, optim.SCHEDULES)
        _choice("dtype", self.dtype, DTYPES)

        self.lr = _number("lr", self.lr, low=0.0, high=1e6, low_open=True, allowed="a positive number up to 1e6, such as 0.5")
        self.beta = _number("beta", self.beta, 0.0, 1.0, high_open=True, allowed="a number in [0, 1)")
        self.beta1 = _number("beta1", self.beta1, 0.0, 1.0, high_open=True, allowed="a number in [0, 1)")
        self.beta2 = _number("beta2", self.beta2, 0.0, 1.0, high_open=True, allowed="a number in [0, 1)")
        self.rho = _number("rho", self.rho, 0.0, 1.0, high_open=True, allowed="a number in [0, 1)")
        self.eps = _number("eps", self.eps, low=0.0, low_open=True, allowed="a small positive number such as 1e-8")
        self.l2 = _number("l2", self.l2, low=0.0, allowed="a number >= 0 (0 turns L2 off)")
        self.l1 = _number("l1", self.l1, low=0.0, allowed="a number >= 0 (0 turns L1 off)")
        self.dropout = _number("dropout", self.dropout, 0.0, 1.0, high_open=True,
                               allowed="a probability in [0, 1) of dropping each hidden unit (0 turns dropout off)")
        if self.clip is not None:
            self.clip = _number("clip", self.clip, low=0.0, low_open=True, allowed="a positive number, or none to turn clipping off")
        self.lr_gamma = _number("lr_gamma", self.lr_gamma, low=0.0, low_open=True, allowed="a positive number such as 0.5")
        self.lr_min = _number("lr_min", self.lr_min, low=0.0, allowed="a number >= 0")
        self.lr_step_size = _integer("lr_step_size", self.lr_step_size, 1, "an integer >= 1")
        if self.batch_size is not None:
            self.batch_size = _integer("batch_size", self.batch_size, 1, "an integer >= 1, or none for full batch")
        self.epochs = _integer("epochs", self.epochs, 0, f"an integer >= 0 and at most {limits.MAX_EPOCHS:,}",
                               high=limits.MAX_EPOCHS)
        # NumPy's RandomState (the course's np.random.seed) takes seeds below 2**32.
        self.seed = _integer("seed", self.seed, 0, "an integer from 0 to 4294967295", high=2**32 - 1)
        return self

    def _check_sizes_fit_data(self):
        """The first width must be the data's features and the last its outputs: never rewritten silently."""
        shape = datasets.shape(self.dataset, self.dataset_options)
        if shape is None:
            return  # csv: (or a bad option) is checked once the data is read
        _, n_in, n_out = shape
        n_in = network_inputs(self.features, self.dataset, n_in)
        check_sizes_against(self.sizes, self.dataset, n_in, n_out, self.features)

    # ----- conversion ----------------------------------------------------------------

    @classmethod
    def fields(cls):
        return [f.name for f in dataclasses.fields(cls)]

    @classmethod
    def from_dict(cls, d, base=None) -> "RunConfig":
        """A config from a dict; keys missing from `d` come from `base` (or the defaults)."""
        if not isinstance(d, Mapping):
            raise ConfigError("config", f"must be a table of fields, got {type(d).__name__}")
        allowed = cls.fields()
        for key in d:
            if key not in allowed:
                raise ConfigError(str(key)[:40], f"unknown field; allowed fields: {', '.join(allowed)}")
        depth = limits.nesting(dict(d))
        if depth > limits.MAX_NESTING:
            raise ConfigError("config", f"nests lists or tables more than {limits.MAX_NESTING} levels deep; "
                                        f"a run config is flat, with short lists such as sizes = [2, 4, 1]")
        merged = base.to_dict() if base is not None else {}
        merged.update(copy.deepcopy(dict(d)))
        _follow_task(d, merged, base)
        if base is not None and "sizes" not in d and ("dataset" in d or "dataset_options" in d or "features" in d):
            # The data (or its features) changed and no sizes were given: the hidden layers
            # carry over, the ends follow the data.
            merged["sizes"] = sizes_for(merged.get("sizes"), merged.get("dataset"), merged.get("dataset_options"),
                                        merged.get("features"))
        return cls(**merged)

    def to_dict(self) -> dict:
        return copy.deepcopy(dataclasses.asdict(self))

    def replace(self, **changes) -> "RunConfig":
        return RunConfig.from_dict(changes, base=self)

    @classmethod
    def from_file(cls, path, base=None) -> "RunConfig":
        """A config from a TOML or JSON file (by extension; otherwise by content)."""
        path = os.fspath(path)
        try:
            raw = read_user_file(path, limits.MAX_CONFIG_BYTES, "config file")
        except NetstepError as e:
            raise ConfigError("config", str(e)) from None
        if b"\0" in raw:
            raise ConfigError("config", f"{path} is binary, not UTF-8 text; expected a TOML or JSON run config")
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise ConfigError("config", f"{path} is not a UTF-8 text file; expected TOML or JSON") from None
        is_json = path.endswith(".json") or (not path.endswith(".toml") and text.lstrip().startswith("{"))
        kind = "JSON" if is_json else "TOML"
        if limits.bracket_depth(text) > limits.MAX_NESTING:
            raise ConfigError("config", f"{path} nests lists or tables more than {limits.MAX_NESTING} levels deep; "
                                        f"expected a flat {kind} run config")
        try:
            data = json.loads(text) if is_json else tomllib.loads(text)
        except (json.JSONDecodeError, tomllib.TOMLDecodeError) as e:
            raise ConfigError("config", f"{path} is not valid {kind}: {str(e)[:200]}") from None
        except RecursionError:
            raise ConfigError("config", f"{path} nests too deeply; expected a flat {kind} run config") from None
        if not isinstance(data, dict):
            raise ConfigError("config", f"{path} must be a table of fields, got a {type(data).__name__}")
        if "clip" in data and data["clip"] in ("none", "None", False):
            data["clip"] = None
        return cls.from_dict(data, base=base)

    def describe(self) -> str:
        hidden = self.hidden if isinstance(self.hidden, str) else ",".join(self.hidden)
        extra = "" if feats.is_default(self.features) else f" features {','.join(self.features)} |"
        reg = "".join(f" | {name} {v:g}" for name, v in (("l1", self.l1), ("dropout", self.dropout)) if v)
        return (f"{self.dataset} |{extra} {'-'.join(map(str, self.sizes))} {hidden}/{self.output} | {self.loss} | "
                f"init {self.init} | {self.optimizer} lr {self.lr:g}{reg}")


TASKS = ("classification", "regression")
REGRESSION_OUTPUTS = ("linear", "tanh")


def _follow_task(d, merged, base):
    """Fields that follow the data when `d` does not set them: a named dataset decides the task
    (plane and bumps are regression, the others classification), and a task that changes
    brings its output and loss (linear + mse for regression; sigmoid + bce, or softmax +
    cross_entropy for several classes, back to classification)."""
    dataset = merged.get("dataset", "xor")
    if "task" not in d and "dataset" in d and isinstance(dataset, str) and not dataset.startswith("csv:"):
        merged["task"] = "regression" if dataset in datasets.REGRESSION else "classification"
    before = base.task if base is not None else "classification"
    task = merged.get("task", "classification")
    if task == before:
        return
    if task == "regression":
        pair = ("linear", "mse")
    elif task == "classification":
        shape = datasets.shape(dataset, merged.get("dataset_options") or {}) if isinstance(dataset, str) else None
        pair = ("softmax", "cross_entropy") if shape is not None and shape[2] > 1 else ("sigmoid", "bce")
    else:
        return  # validation names the bad task
    for key, value in zip(("output", "loss"), pair):
        if key not in d:
            merged[key] = value


def network_inputs(features, dataset, n_in):
    """The network's input width: the number of features, which exist for 2-D data only."""
    names = feats.parse(features)
    if feats.is_default(names):
        return n_in
    if n_in != feats.RAW_WIDTH:
        raise ConfigError("features", f"{','.join(names)} are computed from 2-D inputs (x1, x2), but {dataset} has "
                                      f"{n_in} input columns; use the default x1,x2 with it")
    return len(names)


def check_sizes_against(sizes, dataset, n_in, n_out, features=None):
    """ConfigError on `sizes` when its ends are not the data's width (n_in network inputs, n_out outputs)."""
    if sizes[0] != n_in or sizes[-1] != n_out:
        example = ",".join(map(str, [n_in, *sizes[1:-1], n_out])) if len(sizes) > 2 else f"{n_in},{n_out}"
        outputs = "1 output" if n_out == 1 else f"{n_out} outputs (one per class)"
        inputs = (f"features {','.join(features)} give {n_in} inputs and {dataset} has"
                  if features and not feats.is_default(features) else f"{dataset} has {n_in} input features and")
        raise ConfigError("sizes", f"{inputs} {outputs}: sizes must start with {n_in} "
                                   f"and end with {n_out}, such as {example}; got {','.join(map(str, sizes))}")


def sizes_for(sizes, dataset, options=None, features=None):
    """`sizes` with its ends set to `dataset`'s width, or the number of features (hidden layers
    kept); unchanged for csv: or bad input.

    For a caller that changes the dataset or the features on the user's behalf (the app's
    next-dataset key, a --features flag without --sizes).
    """
    shape = datasets.shape(dataset, options or {}) if isinstance(dataset, str) else None
    if shape is None or not isinstance(sizes, (list, tuple)) or len(sizes) < 2:
        return sizes
    n_in = shape[1]
    try:
        if features is not None:
            n_in = network_inputs(features, dataset, n_in)
    except ConfigError:
        pass  # validation names the problem
    return [n_in, *list(sizes)[1:-1], shape[2]]


def _int(v):
    if isinstance(v, bool):
        raise TypeError
    if isinstance(v, float):
        if not v.is_integer():
            raise ValueError
        return int(v)
    if isinstance(v, str):
        return int(v.strip())
    return int(v)


def _choice(name, value, allowed):
    if value not in allowed:
        raise ConfigError(name, f"unknown value {value!r}; allowed: {', '.join(allowed)}")


def _number(name, value, low=None, high=None, low_open=False, high_open=False, allowed=""):
    if isinstance(value, bool):
        raise ConfigError(name, f"must be {allowed}; got {value!r}")
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise ConfigError(name, f"must be {allowed}; got {value!r}") from None
    bad = not math.isfinite(x)
    if low is not None and (x < low or (low_open and x == low)):
        bad = True
    if high is not None and (x > high or (high_open and x == high)):
        bad = True
    if bad:
        raise ConfigError(name, f"must be {allowed}; got {value!r}")
    return x


def _integer(name, value, low, allowed, high=None):
    try:
        x = _int(value)
    except (TypeError, ValueError, OverflowError):
        raise ConfigError(name, f"must be {allowed}; got {value!r}") from None
    if x < low or (high is not None and x > high):
        raise ConfigError(name, f"must be {allowed}; got {value!r}")
    return x


class _Presets(Mapping):
    """name -> RunConfig. Each lookup returns a fresh copy, so edits never leak."""

    def __init__(self, table):
        self._table = table

    def __getitem__(self, name):
        try:
            return RunConfig.from_dict(self._table[name])
        except KeyError:
            raise KeyError(name) from None

    def __iter__(self):
        return iter(self._table)

    def __len__(self):
        return len(self._table)

    def describe(self, name) -> str:
        return self._table[name].get("_about", "")


_PRESETS = {
    # The course exactly: its XOR network, its init (np.random.seed(42) then randn * 0.01),
    # its MSE loss and its SGD run. It does not solve XOR: see `netstep demo dead-relu`.
    "seed": dict(dataset="xor", sizes=[2, 3, 1], hidden="relu", output="sigmoid", loss="mse", init="small",
                 optimizer="sgd", lr=0.5, epochs=5000, seed=42),
    # Solves XOR for at least 99 of the seeds 0..99 within 2000 epochs.
    "default": dict(dataset="xor", sizes=[2, 4, 1], hidden="tanh", output="sigmoid", loss="bce", init="xavier",
                    optimizer="sgd", lr=1.0, epochs=2000, seed=0),
    "circles": dict(dataset="circles", sizes=[2, 8, 1], hidden="tanh", output="sigmoid", loss="bce", init="xavier",
                    optimizer="adam", lr=0.05, epochs=300, seed=0),
    "moons": dict(dataset="moons", sizes=[2, 16, 16, 1], hidden="relu", output="sigmoid", loss="bce", init="he",
                  optimizer="adam", lr=0.02, epochs=300, seed=0),
    "spiral": dict(dataset="spiral", sizes=[2, 32, 32, 3], hidden="relu", output="softmax", loss="cross_entropy",
                   init="he", optimizer="adam", lr=0.01, epochs=1000, seed=0),
    "digits": dict(dataset="digits", sizes=[64, 64, 10], hidden="relu", output="softmax", loss="cross_entropy",
                   init="he", optimizer="adam", lr=0.001, batch_size=32, epochs=30, seed=0),
}
presets = _Presets(_PRESETS)


def fit_sizes(config: RunConfig, data) -> RunConfig:
    """The config with its input and output widths set to the data's, for a caller that
    changes the data on the user's behalf. build() never does this: it refuses a mismatch.
    """
    sizes = list(config.sizes)
    n_in = network_inputs(config.features, config.dataset, data.n_features)
    if sizes[0] != n_in or sizes[-1] != data.n_outputs:
        sizes[0], sizes[-1] = n_in, data.n_outputs
        return config.replace(sizes=sizes)
    return config


def load_data(config: RunConfig):
    shape = datasets.shape(config.dataset, config.dataset_options)
    if shape is not None:
        # Refuse a run that cannot fit before its data is made.
        n = shape[0]
        n_test = _test_rows(config, n)
        limits.check_memory(config, n - n_test, n_test, shape[1], shape[2])
    try:
        return datasets.load(config.dataset, seed=config.seed, task=config.task, **config.dataset_options)
    except DataError as e:
        raise ConfigError("dataset", str(e)) from None


def _test_rows(config, n):
    default = {"xor": 0.0, "digits": 0.2}.get(config.dataset, 0.25)
    try:
        fraction = float(config.dataset_options.get("test_fraction", default))
    except (TypeError, ValueError):
        return 0
    return int(round(n * fraction)) if 0 <= fraction < 1 else 0


def build(config: RunConfig, data=None) -> Trainer:
    """A ready Trainer for `config` (network at trainer.net, data at trainer.data).

    Refused with ConfigError before anything large is allocated: when the run's estimated
    memory passes engine.limits' budget, or when sizes does not fit the data's width.
    """
    if isinstance(config, Mapping):
        config = RunConfig.from_dict(config)
    if data is None:
        data = load_data(config)
    n_in = network_inputs(config.features, config.dataset, data.n_features)
    check_sizes_against(config.sizes, config.dataset, n_in, data.n_outputs, config.features)
    n_test = 0 if data.X_test is None else len(data.X_test)
    limits.check_memory(config, len(data.X_train), n_test, n_in, data.n_outputs)
    net = MLP(config.sizes, hidden=config.hidden, output=config.output, init=config.init, seed=config.seed,
              dtype=np.dtype(config.dtype), features=config.features)
    opt = optim.make(config.optimizer, config.lr, beta=config.beta, beta1=config.beta1, beta2=config.beta2,
                     eps=config.eps, rho=config.rho)
    schedule = optim.Schedule(config.schedule, step_size=config.lr_step_size, gamma=config.lr_gamma,
                              lr_min=config.lr_min, total=max(1, config.epochs))
    trainer = Trainer(net, config.loss, opt, data.X_train, data.Y_train, batch_size=config.batch_size, l2=config.l2,
                      clip=config.clip, seed=config.seed, clip_mode=config.clip_mode, schedule=schedule,
                      X_test=data.X_test, Y_test=data.Y_test, l1=config.l1, dropout=config.dropout, task=config.task)
    trainer.data = data
    trainer.config = config
    return trainer
