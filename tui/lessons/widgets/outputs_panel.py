"""The network's numbers for the first few examples: inputs, the first hidden layer's
pre-activations Z1 (and ReLU's verdict on them), the output and the target."""

from __future__ import annotations

import numpy as np
from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.containers import VerticalScroll
from textual.widgets import Static

from tui.lessons.widgets.matrix import number
from tui.widgets.panel import Panel

MAX_UNITS = 8


class OutputsPanel(Panel):
    TITLE = "Outputs"

    def compose(self):
        with VerticalScroll(id="outputs-scroll"):
            self.body = Static(id="outputs-body")
            yield self.body

    def draw(self, snap) -> None:
        out = snap.outputs
        X, Y = out["X"], out["Y"]
        facts = snap.facts
        L = facts.L
        A = out[f"A{L}"]
        table = Table(box=None, padding=(0, 1, 0, 0), header_style="bold", expand=False)
        table.add_column("x", no_wrap=True)
        hidden = L > 1
        if hidden:
            Z1 = out["Z1"]
            units = min(Z1.shape[1], MAX_UNITS)
            more = f" (of {Z1.shape[1]})" if Z1.shape[1] > units else ""
            table.add_column(f"Z1 units 1-{units}{more}", no_wrap=True)
        table.add_column("output", no_wrap=True, justify="right")
        table.add_column("target", no_wrap=True, justify="right")
        for i in range(len(X)):
            x = " ".join(number(v, 2) for v in X[i]) if X.shape[1] <= 4 else f"{X.shape[1]} values"
            row = [Text(x)]
            if hidden:
                z = Text(no_wrap=True)
                for j in range(units):
                    v = Z1[i, j]
                    z.append(f"{number(v, 4):>8} ", style="green" if v > 0 else "red" if v < 0 else "dim")
                row.append(z)
            if A.shape[1] == 1:
                row += [Text(f"{A[i, 0]:.4f}"), Text(number(Y[i, 0], 2))]
            else:
                k = int(np.argmax(A[i]))
                row += [Text(f"{k} ({A[i, k]:.2f})"), Text(str(int(np.argmax(Y[i]))))]
            table.add_row(*row)
        total = out["total"]
        self.border_title = "Outputs"
        self.border_subtitle = (f"first {len(X)} of {total} examples" if total > len(X) else f"all {total} examples")
        note = Text()
        if hidden and facts.hidden[0] in ("relu", "leaky_relu"):
            note.append("Z1 > 0", style="green")
            note.append(" unit on   ")
            note.append("Z1 <= 0", style="red")
            note.append(" unit off (ReLU outputs 0, passes no gradient)")
        self.body.update(Group(table, note) if note.plain else table)
