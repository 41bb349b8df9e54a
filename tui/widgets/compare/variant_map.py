"""One variant's decision boundary: its name in its colour over a BoundaryMap.

The field (class and confidence per pixel) is computed by the engine
(engine.layer_space.decision_field) off the UI thread; this widget places it.
"""

from __future__ import annotations

import numpy as np
from textual.containers import Vertical
from textual.widgets import Static

from tui.widgets import colours
from tui.widgets.boundary.boundary_map import BoundaryMap


class VariantMap(Vertical):
    """A caption line and the boundary map under it."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.shown = None   # the field on show (the screen skips redrawing the same one)
        self.caption_text = None

    def compose(self):
        self.caption = Static(classes="variant-caption")
        self.map = BoundaryMap(classes="variant-boundary")
        yield self.caption
        yield self.map

    def set_caption(self, markup: str) -> None:
        self.caption.update(markup)

    def set_field(self, classes, conf, points) -> None:
        """classes (rows, cols) ints; conf in 0..1; points: (pixel row, pixel col, class)."""
        if classes is None or classes.shape != self.map.grid_shape:
            self.map.set_field(None, None, [])   # sized for another layout: the next field fits
            return
        levels = np.rint(np.clip(conf, 0, 1) * colours.LEVELS).astype(np.int64)
        self.map.set_field(classes, levels, points)
