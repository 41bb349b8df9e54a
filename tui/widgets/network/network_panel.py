"""The network: its layers with unit counts and activations, and the shape of every array.

The dimension table is what a learner checks their own code against: X (m, 2),
W1 (2, 3), b1 (1, 3), Z1 (m, 3) ... with the actual m of the current data. The
selected layer (the one the weights panel shows) is highlighted in both.

For 2-D data (outside the operation view) the panel is a diagram instead: every unit
as a map of what it computes over the input plane, the weights as lines between them
(unit_diagram.py); a line above it names the chosen layer and unit.
"""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.containers import VerticalScroll
from textual.widgets import Static

from tui.widgets.halt import halt_line
from tui.widgets.network.unit_diagram import UnitDiagram
from tui.widgets.opmode.dims import op_dims
from tui.widgets.panel import Panel

MAX_DOTS = 12


class NetworkPanel(Panel):
    """Layers, units, activations and the dimension table."""

    TITLE = "Network"

    def compose(self):
        self.diagram = Static(id="net-diagram")
        self.table = Static(id="net-dims")
        self.units = UnitDiagram(id="net-units")
        yield self.diagram
        yield self.units
        with VerticalScroll(id="net-dims-scroll"):
            yield self.table

    _key = None
    _plane_drawn = None
    _size_drawn = None

    def draw(self, snap) -> None:
        net = snap.facts   # the run's static facts: sizes, layers, the loss's name
        sel = self.view.clamp_layer(net.L)
        opv = getattr(snap, "op_view", None)  # op mode: every array of the cycle, the op's marked
        halted = getattr(snap, "halted", None)
        plane = getattr(snap, "plane", None)
        maps = plane is not None and opv is None and not _on_op_screen(self)
        self.set_class(maps, "-maps")
        if maps:
            self._draw_maps(snap, net, sel, plane, halted)
            return
        self._key = self._key if self._key is None or self._key[0] != "maps" else None
        key = (snap.run_id, sel, net.batch_size, snap.l2, None if opv is None else id(opv.op),
               None if halted is None else halted.step)
        if key == self._key:
            return  # shapes change with the run and the selection, not with every step
        self._key = key
        m = net.batch_size or net.m
        total = net.m
        sizes = "-".join(map(str, net.sizes))
        self.border_title = f"Network · {sizes} · {net.n_params:,} params"
        diagram = _diagram(net, sel)
        if halted is not None:  # the shapes stay true, but the learner must know nothing is moving
            diagram.append("\n■ " + halt_line(halted), style="bold red")
        self.diagram.update(diagram)
        if opv is None:
            self.table.update(_dims(net, snap.l2, sel, m, total, getattr(snap, "config", None)))
        else:
            table, written = op_dims(net, sel, m, opv)
            self.table.update(table)
            scroll = self.query_one("#net-dims-scroll")
            self.call_after_refresh(lambda: scroll.scroll_to(y=max(0, written - 3), animate=False))
        batch = "full batch" if m == total else f"minibatch of {total}"
        self.border_subtitle = f"m = {m} ({batch})"

    def _draw_maps(self, snap, net, sel, plane, halted):
        unit = getattr(self.view, "unit", None)
        if unit is not None and unit >= net.sizes[sel]:
            unit = self.view.unit = None
        key = ("maps", snap.run_id, sel, unit, None if halted is None else halted.step)
        if key == self._key and plane is self._plane_drawn and self.units.size == self._size_drawn:
            return  # the maps (and their weight lines) move with the plane: at most 3 times a second
        # Not laid out yet (just shown): draw again once it has a size (UnitDiagram.on_resize).
        self._plane_drawn, self._size_drawn = (plane, self.units.size) if self.units.size.area else (None, None)
        if key != self._key:
            self._key = key
            self.border_title = f"Network · {'-'.join(map(str, net.sizes))} · {net.n_params:,} params"
            self.border_subtitle = "[ ] layer  < > unit"
            self.diagram.update(_chosen(net, sel, unit, halted))
        weights = [snap.params[f"W{l}"] for l in range(1, net.L + 1)]
        self.units.set_plane(plane, net, weights, sel, unit)


def _on_op_screen(panel) -> bool:
    """The operation view keeps the shape table: it marks the arrays each operation reads and writes."""
    # By name, not by import: tui.screens.ops imports this panel (an import cycle otherwise).
    return any(cls.__name__ == "OpScreen" for cls in type(panel.screen).__mro__)


def _chosen(net, sel, unit, halted):
    """One line over the unit maps: the chosen layer (and unit), what it computes."""
    layer = net.layers[sel - 1]
    name = "Ŷ" if sel == net.L else f"A{sel}"
    t = Text(no_wrap=True, overflow="ellipsis")
    t.append("▸ ", style="bold yellow")
    t.append(f"{name} = {layer.activation}(Z{sel})", style="bold")
    t.append(f" · {layer.n_out} unit{'s' if layer.n_out != 1 else ''}", style="")
    if unit is not None:
        t.append(f" · unit {unit}", style="yellow")
    if halted is not None:
        t.append("\n■ " + halt_line(halted), style="bold red")
    return t


def _diagram(net, sel):
    t = Text(no_wrap=True, overflow="ellipsis")
    rows = [("X", net.sizes[0], "input", 0)]
    for layer in net.layers:
        label = "Ŷ" if layer.index == net.L else f"A{layer.index}"
        rows.append((label, layer.n_out, layer.activation, layer.index))
    for i, (label, n, act, l) in enumerate(rows):
        chosen = l == sel
        marker = "▸ " if chosen else "  "
        dots = "●" * min(n, MAX_DOTS) + ("…" if n > MAX_DOTS else "")
        line = Text(no_wrap=True)
        line.append(marker, style="bold yellow")
        line.append(f"{label:<3}", style="bold")
        line.append(f"{n:>4} ", style="")
        line.append(f"{dots:<{MAX_DOTS + 1}} ", style="cyan" if l == 0 else ("yellow" if chosen else "green"))
        line.append(act, style="italic" if l else "dim")
        t.append_text(line)
        if i < len(rows) - 1:
            t.append("\n")
    return t


def _dims(net, l2, sel, m, total, config=None):
    table = Table(box=None, padding=(0, 1, 0, 0), show_header=True, header_style="bold dim", expand=True)
    table.add_column("array", no_wrap=True)
    table.add_column("shape", no_wrap=True)
    table.add_column("what it is", no_wrap=True, overflow="ellipsis", ratio=1)
    features = getattr(config, "features", ["x1", "x2"])
    table.add_row("X", f"({m}, {net.sizes[0]})", "inputs, a row each" if features == ["x1", "x2"]
                  else f"features {', '.join(features)} of x = [x1, x2]")
    dropout = getattr(config, "dropout", 0.0)
    prev = "X"
    for layer in net.layers:
        l = layer.index
        style = "bold yellow" if l == sel else None
        table.add_row(f"W{l}", f"({layer.n_in}, {layer.n_out})", f"weights, layer {l}", style=style)
        table.add_row(f"b{l}", f"(1, {layer.n_out})", "a bias per unit", style=style)
        table.add_row(f"Z{l}", f"({m}, {layer.n_out})", f"{prev} W{l} + b{l}", style=style)
        out = " = Ŷ" if l == net.L else ""
        table.add_row(f"A{l}", f"({m}, {layer.n_out})", f"{layer.activation}(Z{l}){out}", style=style)
        if dropout and l < net.L:  # training only: evaluation uses every unit
            table.add_row(f"M{l}", f"({m}, {layer.n_out})", f"dropout mask, p {dropout:g}: A{l} * M{l} / (1 - p)",
                          style=style)
        prev = f"A{l}"
    kind = (", real numbers" if getattr(config, "task", "") == "regression"
            else ", one-hot" if net.sizes[-1] > 1 else ", 0 or 1")
    table.add_row("Y", f"({m}, {net.sizes[-1]})", "targets" + kind)
    l1 = getattr(config, "l1", 0.0)
    table.add_row("L", "scalar", f"{net.loss} loss" + (f" + L1 ({l1:g})" if l1 else "") + (f" + L2 ({l2:g})" if l2 else ""))
    table.add_row("dW, db", "", "same shapes as W, b", style="dim")
    return table
