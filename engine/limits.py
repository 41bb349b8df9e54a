"""Every bound on what a run or a file may cost, in one place.

A run is refused before anything is allocated when its estimated memory passes the
budget; files are refused by size before they are read. Each bound is a module
constant; the memory budget can be lowered (or raised) with an environment variable,
which `netstep serve` sets per session.

| bound                  | default          | override                         |
|------------------------|------------------|----------------------------------|
| memory of one run      | 1 GiB            | NETSTEP_MEMORY_BUDGET (bytes, or 512M, 2G) |
| samples of a dataset   | 1,000,000        |                                  |
| classes of a dataset   | 1,000            |                                  |
| epochs of a run        | 1,000,000,000    | (the app's "play until stopped") |
| a config file          | 1 MiB            |                                  |
| a CSV file             | 64 MiB           |                                  |
| a CSV cell             | 1,000 characters |                                  |
| a saved run (.npz)     | 256 MiB on disk, 1 GiB unpacked |                   |
| nesting in a config    | 32 levels        |                                  |
"""

from __future__ import annotations

import os

from .errors import ConfigError

MEMORY_BUDGET = 1 << 30
MEMORY_BUDGET_ENV = "NETSTEP_MEMORY_BUDGET"
MAX_SAMPLES = 1_000_000
MAX_CLASSES = 1_000
# The app plays a run with epochs=10**9 "until stopped"; beyond that a number is a typo (1e18 ran forever).
MAX_EPOCHS = 1_000_000_000
MAX_CONFIG_BYTES = 1 << 20
MAX_CSV_BYTES = 64 << 20
MAX_CSV_FIELD = 1_000
MAX_NPZ_BYTES = 256 << 20
MAX_NPZ_UNPACKED = 1 << 30
MAX_META_BYTES = 1 << 20
MAX_NESTING = 32

_UNITS = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}


def memory_budget() -> int:
    """The budget in bytes: NETSTEP_MEMORY_BUDGET when it is set and valid, else MEMORY_BUDGET."""
    raw = os.environ.get(MEMORY_BUDGET_ENV, "").strip().lower().removesuffix("ib").removesuffix("b")
    if not raw:
        return MEMORY_BUDGET
    unit = raw[-1] if raw[-1] in _UNITS and not raw[-1].isdigit() else ""
    try:
        value = float(raw[:-1] if unit else raw) * _UNITS[unit]
    except ValueError:
        return MEMORY_BUDGET
    return int(value) if value >= 1 else MEMORY_BUDGET


def human(n: float) -> str:
    """Bytes as a short size: 74.5 GiB, 12.0 MiB, 900 B."""
    for unit, size in (("TiB", 1 << 40), ("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{int(n)} B"


def _optimizer_slots(name: str) -> int:
    return {"sgd": 0, "momentum": 1, "rmsprop": 1, "adam": 2}.get(name, 2)


def estimate(config, n_rows: int, n_test: int, n_features: int, n_outputs: int) -> dict:
    """Bytes a run needs, by part, for a network of config.sizes on data of this shape.

    Deliberately generous (the temporaries NumPy makes along the way are counted):
    refusing a run that would have fit is a nuisance, starting one that does not is a crash.
    """
    from .checkpoints import MAX_KEPT as CHECKPOINTS_KEPT  # how many weight copies a run may keep

    itemsize = 4 if getattr(config, "dtype", "float64") == "float32" else 8
    sizes = [n_features, *list(config.sizes)[1:-1], n_outputs]
    n_params = sum((a + 1) * b for a, b in zip(sizes, sizes[1:]))
    slots = _optimizer_slots(config.optimizer)
    # theta, its gradient, the update, the weights before it and the hot path's spare,
    # the optimizer's state, and every checkpoint (weights plus optimizer state).
    params = n_params * 8 * (5 + slots + CHECKPOINTS_KEPT * (1 + slots))
    rows = n_rows + n_test
    # X and Y as generated (float64), the trainer's copies in its dtype and the [X, 1] block.
    data = rows * (n_features + n_outputs) * 8 * 2 + rows * (n_features + 1 + n_outputs) * itemsize
    units = sum(sizes[1:])
    batch = n_rows if config.batch_size is None else min(int(config.batch_size), n_rows)
    # One cycle keeps Z and A per layer and the backward pass as many again; the gather buffer too.
    step = batch * (4 * units + n_features + 1) * itemsize
    # Evaluating on all the data (training and test sets) at once: Z and A per layer.
    evaluate = max(n_rows, n_test) * 2 * units * 8
    return {"parameters": params, "data": data, "activations": step + evaluate}


def check_memory(config, n_rows: int, n_test: int, n_features: int, n_outputs: int) -> int:
    """The run's estimate in bytes; ConfigError with one line when it passes the budget."""
    parts = estimate(config, n_rows, n_test, n_features, n_outputs)
    total = sum(parts.values())
    budget = memory_budget()
    if total > budget:
        detail = ", ".join(f"{k} {human(v)}" for k, v in parts.items())
        raise ConfigError("memory", f"needs about {human(total)} of memory ({detail}); the budget is {human(budget)} "
                                 f"(set {MEMORY_BUDGET_ENV} to change it): use fewer or smaller layers, "
                                 f"fewer samples or a smaller batch")
    return total


def nesting(value, limit: int = MAX_NESTING) -> int:
    """How deeply lists and dicts nest in `value`, without recursion; stops counting past `limit`."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, (list, tuple, dict)):
            deepest = max(deepest, depth)
            if depth > limit:
                return depth
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)
    return deepest


def bracket_depth(text: str) -> int:
    """How deeply [ and { nest in a TOML or JSON text, outside quoted strings (a cheap pre-parse
    check: both parsers recurse once per level)."""
    depth = deepest = 0
    quote = None
    escaped = False
    for ch in text:
        if quote:
            if escaped:
                escaped = False
            elif ch == "\\" and quote == '"':
                escaped = True
            elif ch == quote:
                quote = None
        elif ch in "\"'":
            quote = ch
        elif ch in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif ch in "]}":
            depth = max(0, depth - 1)
    return deepest
