"""Weight initializers. Each draws W of shape (fan_in, fan_out); biases start at zero."""

from __future__ import annotations

import numpy as np

INITS = ("zeros", "small", "xavier", "he")
SCALE_DOC = {
    "zeros": "all weights 0 (every unit in a layer stays identical: the symmetry problem)",
    "small": "standard normal x 0.01 (the course's choice)",
    "xavier": "normal with std sqrt(1 / fan_in), for tanh and sigmoid",
    "he": "normal with std sqrt(2 / fan_in), for ReLU",
}


def scale(name: str, fan_in: int) -> float:
    if name == "zeros":
        return 0.0
    if name == "small":
        return 0.01
    if name == "xavier":
        return float(np.sqrt(1.0 / fan_in))
    if name == "he":
        return float(np.sqrt(2.0 / fan_in))
    raise ValueError(f"unknown init {name!r}; allowed: {', '.join(INITS)}")


def draw(name: str, fan_in: int, fan_out: int, randn) -> np.ndarray:
    """W = randn(fan_in, fan_out) * scale. `randn` is the generator's standard-normal draw."""
    s = scale(name, fan_in)
    if s == 0.0:
        return np.zeros((fan_in, fan_out))
    return randn(fan_in, fan_out) * s
