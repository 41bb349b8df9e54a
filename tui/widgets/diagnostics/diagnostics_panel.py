"""Diagnostics: what engine.diagnostics.compute(trainer) reports, per layer, with its warnings.

The engine decides what to measure (gradient norms, dead and saturated fractions,
update ratios...) and what deserves a warning; this panel lays out whatever it
returns: a "layers" list of rows becomes a table (one column per key), "warnings"
become highlighted lines, other scalars a short list. Keys it does not know are shown
as they come, so the panel grows with the engine instead of breaking.
"""

from __future__ import annotations


from rich.text import Text
from textual.containers import VerticalScroll

from tui import fmt
from tui.widgets.halt import halt_line
from tui.widgets.names import units
from tui.widgets.panel import Panel
from tui.widgets.quick_lines import QuickLines
from tui.widgets.text_lines import TextLines

# Row labels for the keys the engine reports today; unknown keys show as they come.
LABELS = {
    "units": "units", "activation": "g", "grad_norm_W": "|dW|", "grad_norm_b": "|db|",
    "grad_ratio": "|dW|/|dWL|", "update_ratio": "|ΔW|/|W|", "weight_norm": "|W|",
    "act_mean": "mean A", "act_std": "std A", "dead": "dead",
    "saturated": "saturated", "identical_units": "same W", "nonfinite": "inf/NaN",
}
SHORT_ACT = {"leaky_relu": "leaky", "sigmoid": "sigm", "softmax": "smax", "linear": "lin"}
# Which row a warning code points at, so its cell can be highlighted.
CODE_KEY = {"dead": "dead", "saturated": "saturated", "vanishing": "grad_ratio", "big_update": "update_ratio",
            "identical": "identical_units", "nonfinite": "nonfinite", "exploding": "grad_norm_W",
            "weak_signal": "act_std"}
HEADLINE = (("grad_norm", "|grad|"), ("clipped", "clipped"))
SKIP = {"step", "epoch", "every", "examples", "activations", "halted", "layers", "warnings"}
# Rows in this order (the ones lessons ask the learner to watch first, so a short panel
# shows them above the fold); keys the engine adds later follow in its order.
ROW_ORDER = ("activation", "units", "dead", "saturated", "grad_norm_W", "grad_norm_b", "grad_ratio",
             "update_ratio", "weight_norm", "act_mean", "act_std", "identical_units", "nonfinite")
# Measures of the latest step's gradient and update: a step the guard refused has none.
STEP_KEYS = {"grad_norm_W", "grad_norm_b", "grad_ratio", "update_ratio"}
# Shown below the table in words, not as a cell.
TABLE_SKIP = {"layer", "dead_units"}


class _Scroll(QuickLines, VerticalScroll):
    """The body's scroll box, asked for its (unchanged) lines on every step."""


class DiagnosticsPanel(Panel):
    """Per-layer numbers and warnings from the engine."""

    TITLE = "Diagnostics"
    MIN_INTERVAL = 0.5

    def compose(self):
        self.body = TextLines(id="diag-body")
        with _Scroll(id="diag-scroll"):
            yield self.body

    def draw(self, snap) -> None:
        parts = []
        halted = snap.halted
        if halted is not None:
            parts.append(Text("■ " + halt_line(halted), style="bold red"))
        if snap.diag_error:
            parts.append(Text(f"diagnostics unavailable: {snap.diag_error}", style="yellow"))
        d = snap.diagnostics
        warnings = []
        if isinstance(d, dict):
            warnings = _warnings(d.get("warnings"))
            layers = d.get("layers")
            head = Text(no_wrap=True, overflow="ellipsis")
            for key, label in HEADLINE:
                if key in d:
                    head.append(f"{label} ", style="dim")
                    head.append(_fmt(d[key]), style="bold")
                    if key == "grad_norm" and halted is not None:
                        head.append(" (refused step)", style="dim")
                    head.append("  ")
            for key, value in d.items():
                if key not in SKIP and key not in dict(HEADLINE) and _scalar(value):
                    head.append(f"{key.replace('_', ' ')} ", style="dim")
                    head.append(_fmt(value) + "  ")
            if head.plain:
                parts.append(head)
            if isinstance(layers, list) and layers and all(isinstance(r, dict) for r in layers):
                flagged = {(w[2], CODE_KEY.get(w[3])) for w in warnings}
                width = self.body.size.width or None  # before the first layout: no limit yet
                parts.append(_layer_table(layers, self.view.layer, flagged, width, halted is not None))
                parts += _dead_lines(layers, len(layers))
        if halted is not None:
            parts.append(Text(halted.message, style="red"))
        for level, message, _, _ in warnings:
            style = "bold red" if level in ("error", "critical") else "bold yellow" if level == "warning" else "cyan"
            mark = "✖ " if level in ("error", "critical") else "▲ " if level == "warning" else "• "
            parts.append(Text(mark + message, style=style))
        serious = [w for w in warnings if w[0] in ("error", "critical", "warning")]
        n = len(serious)
        at = f"step {d['step']} · " if isinstance(d, dict) and "step" in d else ""
        self.border_subtitle = at + (f"{n} warning{'s' if n != 1 else ''}" if n else "no warnings")
        self.set_class(bool(serious) or snap.halted is not None, "-warn")
        # Each part keeps its wrapping: the table and headline are cut to the width (never
        # wrapped into a jumble), the warnings wrap as prose; lines that did not change are
        # not repainted.
        self.body.update(parts)


def _scalar(v):
    return isinstance(v, (int, float, str, bool)) or v is None


def _fmt(v):
    if v is None:
        return "—"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        return fmt.num(v, 7, 3)
    if isinstance(v, (list, tuple)):
        if not v:
            return "none"
        return ",".join(_fmt(x) for x in v[:2]) + (f"+{len(v) - 2}" if len(v) > 2 else "")
    return SHORT_ACT.get(v, str(v)) if isinstance(v, str) else str(v)


def _warnings(raw):
    """(severity, message, layer, code) from a list of strings or dicts."""
    out = []
    if not isinstance(raw, (list, tuple)):
        return out
    for w in raw:
        if isinstance(w, str):
            out.append(("warning", w, None, None))
        elif isinstance(w, dict):
            msg = w.get("message") or w.get("text") or ", ".join(f"{k}={v}" for k, v in w.items())
            layer = w.get("layer")
            if layer and f"layer {layer}" not in str(msg).lower():
                msg = f"layer {layer}: {msg}"
            level = str(w.get("severity", w.get("level", "warning")))
            out.append((level, str(msg), layer, w.get("code")))
        else:
            out.append(("warning", str(w), None, None))
    return out


def _dead_lines(rows, L) -> list:
    """'dead in layer 1: h1, h2 and 6 more', in the course's unit names."""
    out = []
    for r in rows:
        dead = r.get("dead_units")
        layer = r.get("layer")
        if isinstance(dead, (list, tuple)) and dead and isinstance(layer, int):
            t = Text(no_wrap=True, overflow="ellipsis")
            t.append("dead: ", style="dim")
            t.append(units(layer, [int(i) - 1 for i in dead], L))
            out.append(t)
    return out


def _layer_table(rows, selected, flagged, width=None, halted=False) -> Text:
    """One column per layer, one row per measure (narrow panels, many measures).

    When the columns do not fit `width`, a window of them around the selected layer
    ([ and ] move it) is shown, with ‹ or › where more layers are hidden.
    Laid out by hand as one Text: a Rich Table would re-measure every cell each frame,
    which costs more than the rest of the panel together."""
    keys = []
    for r in rows:
        for k, v in r.items():
            if k not in keys and k not in TABLE_SKIP and (_scalar(v) or isinstance(v, (list, tuple))):
                keys.append(k)
    rank = {k: i for i, k in enumerate(ROW_ORDER)}
    keys.sort(key=lambda k: rank.get(k, len(ROW_ORDER)))   # stable: unknown keys keep the engine's order
    labels = [LABELS.get(k, k.replace("_", " ")) for k in keys]
    # While the guard holds the run, the step measures would describe a step that never happened.
    cells = [["—" if halted and k in STEP_KEYS else _fmt(r.get(k)) if k in r else "" for r in rows] for k in keys]
    heads = [f"L{r.get('layer', '?')}" for r in rows]
    label_w = max([len(x) for x in labels] + [1])
    widths = [max([len(heads[j])] + [len(row[j]) for row in cells]) for j in range(len(rows))]
    lo, hi = _window(widths, label_w, width, next((j for j, r in enumerate(rows) if r.get("layer") == selected),
                                                  len(rows) - 1))
    left, right = ("‹" if lo > 0 else ""), (" ›" if hi < len(rows) else "")
    t = Text(no_wrap=True, overflow="ellipsis")
    t.append(left.ljust(label_w), style="bold")
    for j in range(lo, hi):
        t.append(" " + heads[j].rjust(widths[j]), style="bold yellow" if rows[j].get("layer") == selected else "bold")
    t.append(right, style="bold")
    for k, label, row in zip(keys, labels, cells):
        t.append("\n" + label.ljust(label_w), style="dim")
        for j in range(lo, hi):
            t.append(" ")
            bad = (rows[j].get("layer"), k) in flagged
            t.append(row[j].rjust(widths[j]), style="bold black on yellow" if bad else "")
    return t


def _window(widths, label_w, width, keep):
    """The columns [lo, hi) that fit in `width` with column `keep` among them: all when
    they fit, else as many as fit, grown outward from `keep` (2 cells kept for › )."""
    n = len(widths)
    if width is None or label_w + sum(w + 1 for w in widths) <= width:
        return 0, n
    room = width - label_w - 2
    lo, hi = keep, keep + 1
    used = widths[keep] + 1
    grew = True
    while grew:
        grew = False
        if hi < n and used + widths[hi] + 1 <= room:
            used += widths[hi] + 1
            hi += 1
            grew = True
        if lo > 0 and used + widths[lo - 1] + 1 <= room:
            lo -= 1
            used += widths[lo] + 1
            grew = True
    return lo, hi
