"""The network's numbers for the first few examples: inputs, the first hidden layer's
pre-activations Z1 (and ReLU's verdict on them), the output and the target.

Laid out by hand to the panel's width: the output and target columns always show
whole; the Z1 columns are as many as fit (the header says how many of how many);
numbers are rounded to fit (tui.fmt), never cut.
"""

from __future__ import annotations

import numpy as np
from rich.console import Group
from rich.text import Text
from textual.containers import VerticalScroll
from textual.widgets import Static

from tui import fmt
from tui.widgets.panel import Panel

MAX_UNITS = 8
Z_W = 7          # one Z1 value
OUT_W = 6        # an output value
GAP = 1


class OutputsPanel(Panel):
    TITLE = "Outputs"

    def compose(self):
        with VerticalScroll(id="outputs-scroll"):
            self.body = Static(id="outputs-body")
            yield self.body

    def _width(self) -> int:
        return max(24, (self.body.size.width or self.content_region.width or 40))

    def draw(self, snap) -> None:
        out = snap.outputs
        X, Y = out["X"], out["Y"]
        facts = snap.facts
        L = facts.L
        A = out[f"A{L}"]
        width = self._width()
        xs = [" ".join(fmt.num(v, 5, 2) for v in X[i]) if X.shape[1] <= 4 else f"{X.shape[1]} values"
              for i in range(len(X))]
        x_w = max([1] + [len(x) for x in xs])
        if A.shape[1] == 1:
            outs = [fmt.num(A[i, 0], OUT_W, 4) for i in range(len(X))]
            targets = [fmt.num(Y[i, 0], OUT_W, 2) for i in range(len(X))]
        else:
            ks = [int(np.argmax(A[i])) for i in range(len(X))]
            outs = [f"{k} ({fmt.num(A[i, k], 4, 2)})" for i, k in enumerate(ks)]
            targets = [str(int(np.argmax(Y[i]))) for i in range(len(X))]
        hidden = L > 1
        units = 0
        # Long headers when there is room; the course's ŷ and y when that lets more units show.
        for out_label, target_label in (("output", "target"), ("ŷ", "y")):
            o_w = max([len(out_label)] + [len(o) for o in outs])
            t_w = max([len(target_label)] + [len(v) for v in targets])
            if not hidden:
                break
            Z1 = out["Z1"]
            room = width - x_w - (o_w + GAP) - (t_w + GAP)
            units = max(1, min(Z1.shape[1], MAX_UNITS, room // (Z_W + GAP)))
            if units == min(Z1.shape[1], MAX_UNITS):
                break
        t = Text(no_wrap=True, overflow="ellipsis")
        t.append("x".ljust(x_w), style="bold")
        if hidden:
            for j in range(units):
                t.append(" " + f"Z1 h{j + 1}".rjust(Z_W), style="bold")
        t.append(" " + out_label.rjust(o_w) + " " + target_label.rjust(t_w), style="bold")
        for i in range(len(X)):
            t.append("\n" + xs[i].ljust(x_w))
            if hidden:
                for j in range(units):
                    v = Z1[i, j]
                    t.append(" " + fmt.num(v, Z_W, 4).rjust(Z_W), style="green" if v > 0 else "red" if v < 0 else "dim")
            t.append(" " + outs[i].rjust(o_w) + " " + targets[i].rjust(t_w))
        total = out["total"]
        self.border_title = "Outputs"
        sub = f"first {len(X)} of {total} examples" if total > len(X) else f"all {total} examples"
        if hidden and units < Z1.shape[1]:
            sub = f"{units} of {Z1.shape[1]} units · " + sub
        self.border_subtitle = sub
        note = Text()
        if hidden and facts.hidden[0] in ("relu", "leaky_relu"):
            note.append("Z1 > 0", style="green")
            note.append(" unit on   ")
            note.append("Z1 <= 0", style="red")
            note.append(" unit off (ReLU outputs 0, passes no gradient)")
        self.body.update(Group(t, note) if note.plain else t)
