"""Per-layer training diagnostics (grown by the diagnostics issue).

compute(trainer) -> dict of per-layer numbers for the latest step.
"""

from __future__ import annotations

import numpy as np


def compute(trainer) -> dict:
    """Gradient norms per layer for the latest cycle (empty before the first step)."""
    last = trainer.last
    if last is None:
        return {"layers": []}
    net = trainer.net
    grads = net.grad_views(last.g)
    layers = []
    for layer in net.layers:
        l = layer.index
        layers.append({"layer": l, "grad_norm_W": float(np.linalg.norm(grads[f"dW{l}"])),
                       "grad_norm_b": float(np.linalg.norm(grads[f"db{l}"]))})
    return {"layers": layers}
