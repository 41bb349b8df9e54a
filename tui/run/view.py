"""What the user chose to look at (UI only; the run controller knows nothing of it). No Textual here."""

from __future__ import annotations


class View:
    def __init__(self):
        self.layer = 1          # the layer the weights panel and the network highlight show
        self.log_scale = False  # the loss plot's y axis
        self.side = 0           # compact layout: which panel fills the right column
        self.full_precision = False  # numbers as the engine holds them (repr) instead of rounded
        self.unit = None        # the chosen unit of `layer` (< >): its map fills the boundary panel
        self.show_test = False  # T: the test points, hollow, on the boundary
        self.discrete = False   # k: the boundary in two solid colours

    def clamp_layer(self, L: int) -> int:
        self.layer = max(1, min(self.layer, L))
        return self.layer
