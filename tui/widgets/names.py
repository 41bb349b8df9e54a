"""Units named as the course names them: inputs x1, x2, ...; hidden units h1, h2, ...;
the output y (y1, y2, ... when there are several).

With more than one hidden layer, a hidden unit also says its layer (h2 of layer 1),
since h2 alone would not say which one.
"""

from __future__ import annotations


def unit(layer: int, index: int, L: int, n_out: int = 1) -> str:
    """The unit `index` (0-based) of `layer` (0 = the inputs, L = the output) in a net of L layers."""
    if layer == 0:
        return f"x{index + 1}"
    if layer == L:
        return "y" if n_out == 1 else f"y{index + 1}"
    return f"h{index + 1}" if L == 2 else f"h{index + 1} of layer {layer}"


def units(layer: int, indices, L: int, n_out: int = 1, most: int = 3) -> str:
    """A few units in words: "h1, h2 and 6 more" (indices 0-based)."""
    names = [unit(layer, i, L, n_out) for i in indices]
    if L > 2 and 0 < layer < L:   # name the layer once, not per unit
        names = [n.partition(" ")[0] for n in names]
        tail = f" (layer {layer})"
    else:
        tail = ""
    if not names:
        return "none"
    if len(names) <= most:
        text = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
    else:
        text = ", ".join(names[:most - 1]) + f" and {len(names) - most + 1} more"
    return text + tail
