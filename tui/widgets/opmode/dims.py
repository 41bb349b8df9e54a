"""The network panel's dimension table in op mode: every array of the cycle, forward and
backward, with the ones the op on show reads and writes marked."""

from __future__ import annotations

from rich.table import Table

READ_ROW = "bold rgb(110,200,235)"
WRITE_ROW = "bold black on rgb(250,215,90)"


def op_dims(net, sel, m, opv):
    """(rich Table, line of the written row) for the op view opv."""
    names = {op.name for op in opv.ops}
    rows = [("X", f"({m}, {net.sizes[0]})", "inputs, a row each", None)]
    prev = "X"
    for layer in net.layers:
        l = layer.index
        layer_style = "yellow" if l == sel else None
        rows += [
            (f"W{l}", f"({layer.n_in}, {layer.n_out})", f"weights, layer {l}", layer_style),
            (f"b{l}", f"(1, {layer.n_out})", "a bias per unit", layer_style),
            (f"Z{l}", f"({m}, {layer.n_out})", f"{prev} W{l} + b{l}", layer_style),
            (f"A{l}", f"({m}, {layer.n_out})", f"{layer.activation}(Z{l})" + (" = Ŷ" if l == net.L else ""),
             layer_style),
        ]
        prev = f"A{l}"
    rows.append(("Y", f"({m}, {net.sizes[-1]})", "targets", None))
    rows.append(("L", "scalar", f"{net.loss} loss", None))
    for layer in reversed(net.layers):
        l = layer.index
        layer_style = "yellow" if l == sel else None
        if l < net.L or f"dA{l}" in names:
            rows.append((f"dA{l}", f"({m}, {layer.n_out})", f"back into A{l}", layer_style))
        rows += [
            (f"dZ{l}", f"({m}, {layer.n_out})", f"back into Z{l}", layer_style),
            (f"dW{l}", f"({layer.n_in}, {layer.n_out})", f"∂L/∂W{l}", layer_style),
            (f"db{l}", f"(1, {layer.n_out})", f"∂L/∂b{l}", layer_style),
        ]
    table = Table(box=None, padding=(0, 1, 0, 0), show_header=True, header_style="bold dim", expand=True)
    table.add_column("array", no_wrap=True)
    table.add_column("shape", no_wrap=True)
    table.add_column("what it is", no_wrap=True, overflow="ellipsis", ratio=1)
    written = 0
    for i, (name, shape, what, style) in enumerate(rows):
        mark = opv.marks.get(name)
        if mark == "write":
            style, written = WRITE_ROW, i + 1  # + 1: the header line
            what = "← written by this op"
        elif mark == "read":
            style = READ_ROW
            what = "→ read by this op"
        table.add_row(name, shape, what, style=style)
    return table, written
