"""Weights and gradients of one layer: W, b, dW, db as heatmaps, a legend, an inspector.

The cursor walks the layer's [W; b] block (b is the row under W, as the engine stores
it); the inspector shows the entry under it: its value, its gradient from the latest
cycle and the change the latest update made to it.
"""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.binding import Binding
from tui.widgets.text_lines import TextLines

from tui import fmt
from tui.widgets.halt import halt_reason
from tui.widgets.names import unit
from tui.widgets.panel import Panel
from tui.widgets.weights.heatmap import CELL_W, Heatmap
from tui.widgets.weights.legend import ColourLegend

FIXED_LINES = 4 + 4 + 1 + 1 + 3   # titles, gaps under the maps, legend, gap, inspector


class WeightsPanel(Panel, can_focus=True):
    """Heatmaps of the selected layer's parameters and gradients."""

    TITLE = "Weights & gradients"
    MIN_INTERVAL = 0.2
    BINDINGS = [
        Binding("up", "cursor(-1, 0)", "cursor up", show=False),
        Binding("down", "cursor(1, 0)", "cursor down", show=False),
        Binding("left", "cursor(0, -1)", "cursor left", show=False),
        Binding("right", "cursor(0, 1)", "cursor right", show=False),
        Binding("enter", "app.edit_weight", "edit entry", show=False),
    ]

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.cursor = (0, 0)       # (row, col) in [W; b]: row n_in is the bias row
        self._layer_key = None
        self._snap = None
        self._mode = None
        self._shown = {}           # map title -> the Text on screen

    def compose(self):
        self.title_W = TextLines(classes="map-title")
        self.map_W = Heatmap("W", id="map-W")
        self.title_b = TextLines(classes="map-title")
        self.map_b = Heatmap("b", id="map-b")
        self.title_dW = TextLines(classes="map-title")
        self.map_dW = Heatmap("dW", id="map-dW")
        self.title_db = TextLines(classes="map-title")
        self.map_db = Heatmap("db", id="map-db")
        yield self.title_W
        yield self.map_W
        yield self.title_b
        yield self.map_b
        yield self.title_dW
        yield self.map_dW
        yield self.title_db
        yield self.map_db
        yield ColourLegend(id="legend")
        self.inspector = TextLines(id="inspector")
        yield self.inspector

    # ----- drawing -----------------------------------------------------------------

    def _layout(self, rows, cols):
        """(numbers, cell width, W lines) for a W of rows x cols in this panel's room."""
        width = max(1, self.content_region.width)
        height = max(1, self.content_region.height)
        if cols * CELL_W <= width and 2 * (rows + 1) + FIXED_LINES <= height:
            return True, CELL_W, rows
        cell_w = max(1, min(4, width // max(1, cols)))
        room = max(1, (height - FIXED_LINES - 2) // 2)
        return False, cell_w, max(1, min((rows + 1) // 2, room))

    def draw(self, snap) -> None:
        self._snap = snap
        net = snap.facts
        layer_index = self.view.clamp_layer(net.L)
        layer = net.layers[layer_index - 1]
        n_in, n_out = layer.n_in, layer.n_out
        key = (snap.run_id, layer_index)
        if key != self._layer_key:
            self._layer_key = key
            r, c = self.cursor
            self.cursor = (min(r, n_in), min(c, n_out - 1))
        l = layer_index
        self.border_title = f"Weights & gradients · layer {l} of {net.L}"
        self.border_subtitle = "[ ] layer · arrows: entry"
        numbers, cell_w, w_lines = self._layout(n_in, n_out)
        mode = (numbers, cell_w, w_lines)
        if mode != self._mode:
            self._mode = mode
            self.map_W.styles.height = w_lines
            self.map_dW.styles.height = w_lines
            self.map_b.styles.height = 1
            self.map_db.styles.height = 1
        r, c = self.cursor
        cur_W = (r, c) if r < n_in else None
        cur_b = (0, c) if r == n_in else None
        W, b = snap.params[f"W{l}"], snap.params[f"b{l}"]
        dW, db = snap.grads.get(f"dW{l}"), snap.grads.get(f"db{l}")
        if getattr(snap, "halted", None) is not None:
            dW = db = None   # the refused step's gradients were never applied: not shown as if they were
        halted = getattr(snap, "halted", None)
        reason = None if halted is None else halt_reason(halted)
        self.map_W.set_matrix(W, cur_W, numbers, cell_w)
        self.map_b.set_matrix(b, cur_b, numbers, cell_w)
        self.map_dW.set_matrix(dW, cur_W, numbers, cell_w, message=reason)
        self.map_db.set_matrix(db, cur_b, numbers, cell_w, message=reason)
        opv = getattr(snap, "op_view", None)  # op mode: mark what the op on show reads and writes
        marks = opv.marks if opv is not None else {}
        if halted is not None:  # the guard refused the step: no gradient to show (the maps say why)
            missing = f"stopped at step {halted.step}"
        else:
            missing = "not yet this cycle" if opv is not None else "no step yet"
        none = dW is None or halted is not None
        titles = {
            f"W{l}": (self.title_W, _title(f"W{l}", W.shape, self.map_W.scale, "weights")),
            f"b{l}": (self.title_b, _title(f"b{l}", b.shape, self.map_b.scale, "biases")),
            f"dW{l}": (self.title_dW, _title(f"dW{l}", W.shape, None if none else self.map_dW.scale,
                                             missing if none else f"∂L/∂W{l}")),
            f"db{l}": (self.title_db, _title(f"db{l}", b.shape, None if none else self.map_db.scale,
                                             missing if none else f"∂L/∂b{l}")),
        }
        for name, (widget, text) in titles.items():
            text = _marked(text, marks[name]) if name in marks else text
            if self._shown.get(id(widget)) != text:   # an unchanged title is not repainted
                self._shown[id(widget)] = text
                widget.update(text, layout=False)
        self._inspect()

    def _inspect(self):
        snap = self._snap
        if snap is None:
            return
        l = self.view.layer
        layer = snap.facts.layers[l - 1]
        r, c = self.cursor
        if r < layer.n_in:
            name, idx = f"W{l}", (r, c)
        else:
            name, idx = f"b{l}", (0, c)
        value = float(snap.params[name][idx])
        grad = snap.grads.get("d" + name)
        change = snap.changes.get("d" + name)
        halted = getattr(snap, "halted", None)
        if halted is not None:
            grad = change = None
        t = Text(no_wrap=True, overflow="ellipsis")
        t.append(f"{name}[{idx[0]},{idx[1]}]", style="bold")
        t.append(f"  {_connects(snap.facts, l, name, idx)}", style="dim")
        width = self.inspector.size.width or 40
        g = None if grad is None else float(grad[idx])
        # The widest labels and numbers that fit the line (a longer line would be cut): numbers
        # are rounded to fewer digits, never cut.
        for gap, label, digits in (("   ", "gradient ", 10), ("  ", "grad ", 10), ("  ", "grad ", 8), (" ", "∂ ", 7)):
            v_text, g_text = fmt.num(value, digits), "—" if g is None else fmt.num(g, digits)
            if len("value ") + len(v_text) + len(gap) + len(label) + len(g_text) <= width:
                break
        t.append("\nvalue ", style="dim")
        t.append(v_text, style="bold")
        t.append(gap + label, style="dim")
        t.append(g_text, style="bold")
        t.append("\nlast change ", style="dim")
        t.append("—" if change is None else fmt.signed(float(change[idx]), 10), style="bold")
        rule = snap.facts.update_rule
        if rule and halted is None and len(t.plain.splitlines()[-1]) + 3 + len(rule) <= self.inspector.size.width:
            t.append(f"   {rule}", style="dim italic")
        if self._shown.get("inspector") != t:
            self._shown["inspector"] = t
            self.inspector.update(t, layout=False)

    # ----- cursor ------------------------------------------------------------------

    def entry(self):
        """(parameter name, index, description) of the entry under the cursor."""
        l = self.view.layer
        r, c = self.cursor
        if self._snap is None:
            return f"W{l}", (r, c), f"layer {l}"
        net = self._snap.facts
        name, idx = (f"b{l}", (0, c)) if r >= net.layers[l - 1].n_in else (f"W{l}", (r, c))
        return name, idx, f"{_connects(net, l, name, idx)}, layer {l}"

    def action_cursor(self, dr: int, dc: int) -> None:
        snap = self._snap
        if snap is None:
            return
        layer = snap.facts.layers[self.view.clamp_layer(snap.facts.L) - 1]
        r, c = self.cursor
        self.cursor = (max(0, min(layer.n_in, r + dr)), max(0, min(layer.n_out - 1, c + dc)))
        self.redraw()

    @on(Heatmap.CellClicked)
    def _clicked(self, event: Heatmap.CellClicked) -> None:
        event.stop()
        snap = self._snap
        if snap is None:
            return
        layer = snap.facts.layers[self.view.layer - 1]
        row = layer.n_in if event.heatmap.name_hint in ("b", "db") else event.row
        self.cursor = (row, event.col)
        self.focus()
        self.redraw()


def _connects(net, l, name, idx):
    """What the entry joins, in the course's names: 'h1 → y', 'bias of h3'."""
    layer = net.layers[l - 1]
    to = unit(l, idx[1], net.L, layer.n_out)
    if name.startswith("b"):
        return f"bias of {to}"
    return f"{unit(l - 1, idx[0], net.L)} → {to}"


def _title(name, shape, scale, what):
    t = Text(no_wrap=True, overflow="ellipsis")
    t.append(name, style="bold")
    t.append(f" ({shape[0]}, {shape[1]})", style="")
    if scale is not None:
        t.append(f"  ±{fmt.num(scale, 7, 3)}", style="dim")
    t.append(f"  {what}", style="dim italic" if not what.startswith("stopped") else "bold red")
    return t


def _marked(title, mark):
    """A map title with a badge: the op on show reads this matrix, or writes it."""
    t = Text(no_wrap=True, overflow="ellipsis")
    t.append(" read " if mark == "read" else " written ",
             style="bold black on rgb(110,200,235)" if mark == "read" else "bold black on rgb(250,215,90)")
    t.append(" ")
    t.append_text(title)
    return t


