"""JSON with no NaN or inf: the one cleaner every --json output (and every to_dict) goes through.

JSON has no NaN or infinity; Python's json writes them anyway (as bare NaN/Infinity,
which other readers reject). `clean` turns them into null, and NumPy scalars and
arrays into plain numbers and lists; `dumps` cleans and then refuses anything else
that is not JSON.
"""

from __future__ import annotations

import json
import math

import numpy as np


def clean(x):
    """A copy of x that json can write strictly: NaN/inf -> None, NumPy values -> Python ones."""
    # An explicit stack, not recursion: a deeply nested value must not raise RecursionError.
    if not isinstance(x, (dict, list, tuple, np.ndarray)):
        return _leaf(x)
    root = [None]
    stack = [(x, root, 0)]
    while stack:
        value, parent, key = stack.pop()
        if isinstance(value, np.ndarray):
            value = value.tolist()
        if isinstance(value, dict):
            items = [(k if isinstance(k, str) else str(_leaf(k)), v) for k, v in value.items()]
            out = dict.fromkeys(k for k, _ in items)  # keys in their order; values filled in below
            parent[key] = out
            for k, v in items:
                stack.append((v, out, k))
        elif isinstance(value, (list, tuple)):
            out = [None] * len(value)
            parent[key] = out
            for i, v in enumerate(value):
                stack.append((v, out, i))
        else:
            parent[key] = _leaf(value)
    return root[0]


def _leaf(x):
    if isinstance(x, np.generic):
        x = x.item()
    if isinstance(x, float) and not math.isfinite(x):
        return None
    return x


def dumps(x, **kwargs) -> str:
    """json.dumps of clean(x), strict (allow_nan=False)."""
    return json.dumps(clean(x), allow_nan=False, **kwargs)
