"""Every key of the trainer app in one table: the bindings, the help screen and the
command palette are all made from it, so they cannot disagree. The lessons use a
subset of it, looked up by action (LESSON_ACTIONS): the lesson screen's bindings and
the keys a lesson file may name both come from here.

n and b walk the cycle one matrix operation at a time (the operation view).
No Textual at import: the headless lesson checker reads this table too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Key:
    key: str            # Textual key name(s), comma-separated
    action: str         # app action (without "app.")
    label: str          # short footer label
    help: str           # one line for the help screen and the command palette
    group: str          # help-screen section
    show: bool = True   # in the footer
    display: str | None = None
    id: str | None = None
    footer_group: str | None = None   # keys sharing a footer entry, such as "+ -  lr"

    @property
    def binding_id(self) -> str:
        return self.id or re.sub(r"[^a-z0-9]+", "-", self.action).strip("-")

    @property
    def name(self) -> str:
        """How a lesson file names the key: space, p, +, ..."""
        return self.display or self.key.split(",")[0]


KEYS = (
    Key("space", "step", "step", "Run one full cycle: forward, loss, backward, update", "Train", display="space"),
    Key("p", "toggle_play", "play", "Play (train continuously in the background) or pause", "Train"),
    Key("r", "reset", "reset", "Reset the run: same config, same seed, fresh weights", "Train"),
    Key("s", "new_seed", "seed", "Reset with the next seed (new weights, new shuffling)", "Train"),
    Key("plus,equals_sign", "lr_up", "lr×2", "Double the learning rate", "Train", display="+", footer_group="lr"),
    Key("minus,underscore", "lr_down", "lr÷2", "Halve the learning rate", "Train", display="-", footer_group="lr"),
    Key("u", "rewind", "rewind", "Rewind to a checkpoint from before the run blew up (after inf/NaN stopped it)",
        "Train", show=False),
    Key("t", "cycle_speed", "speed", "Play speed: full, 1000, 100 or 10 steps a second", "Train", show=False),
    Key("left_square_bracket", "layer(-1)", "layer←", "Show the previous layer's weights", "Look", display="[", id="layer-prev", footer_group="layer"),
    Key("right_square_bracket", "layer(1)", "layer→", "Show the next layer's weights", "Look", display="]", id="layer-next", footer_group="layer"),
    Key("l", "toggle_log", "log", "Loss plot: log or linear scale", "Look", show=False),
    Key("v", "cycle_side", "panel", "Compact layout: cycle the right-hand panel (weights, network, diagnostics)",
        "Look", show=False),
    Key("g", "gradcheck", "check", "Check the gradients against centred differences", "Look"),
    Key("n", "next_op", "op→", "Operation mode: compute and show the next matrix operation of the cycle",
        "Operations", footer_group="op", id="op-next"),
    Key("b", "prev_op", "op←", "Operation mode: go back one operation (the last cycle is kept)",
        "Operations", footer_group="op", id="op-back"),
    Key("f", "toggle_precision", "precision", "Numbers rounded or exact (every digit the engine holds)",
        "Operations", show=False),
    Key("w", "edit_weight", "edit", "Edit the weight under the weights cursor (the network recomputes at once)",
        "Operations", show=False),
    Key("c", "config", "config", "Edit every field of the run (applying rebuilds it)", "Run"),
    Key("d", "cycle('dataset')", "data", "Next dataset: xor, circles, moons, spiral, gaussians, digits", "Run",
        footer_group="cycle"),
    Key("a", "cycle('hidden')", "act", "Next hidden activation: relu, leaky_relu, tanh, sigmoid, linear", "Run",
        footer_group="cycle"),
    Key("i", "cycle('init')", "init", "Next initialization: zeros, small, xavier, he", "Run",
        footer_group="cycle"),
    Key("o", "cycle('optimizer')", "opt", "Next optimizer: sgd, momentum, adam, rmsprop", "Run",
        footer_group="cycle"),
    Key("ctrl+s", "save", "save", "Save the run (weights, config, history) to a .npz file", "File", show=False),
    Key("ctrl+o", "load", "load", "Load a run saved with ctrl+s", "File", show=False),
    Key("e", "export", "export", "Export the training history as CSV", "File", show=False),
    # w2-beyond (issue 17): compare variants, the space a layer makes, share, export as code
    Key("C", "compare", "compare", "Compare 2-4 variants of this run that differ in one field, side by side",
        "Beyond", show=False, display="C"),
    Key("x", "layer_space", "space", "The space a hidden layer makes: the input plane bent by the network (2-D data)",
        "Beyond", show=False),
    Key("S", "share", "share", "Show the run as one string (netstep --state) and copy it to the clipboard",
        "Beyond", show=False, display="S"),
    Key("E", "export_code", "code", "Write the run as a standalone NumPy script (W1, b1, Z1, A1 ...)",
        "Beyond", show=False, display="E"),
    # The network's shape, the chosen unit and the data (issue 16); ctrl+z undoes a change of shape or data.
    Key("y", "add_layer", "+layer", "Add a hidden layer after the chosen one (as wide; fresh weights)", "Shape",
        show=False),
    Key("Y", "remove_layer", "-layer", "Remove the chosen hidden layer", "Shape", show=False, display="Y"),
    Key("j", "add_unit", "+unit", "Add a unit to the chosen hidden layer", "Shape", show=False),
    Key("J", "remove_unit", "-unit", "Remove a unit from the chosen hidden layer", "Shape", show=False, display="J"),
    Key("less_than_sign", "unit(-1)", "unit←", "Previous unit of the chosen layer: its map fills the boundary panel "
        "(past the first: the boundary again)", "Shape", show=False, display="<", id="unit-prev"),
    Key("greater_than_sign", "unit(1)", "unit→", "Next unit of the chosen layer: its map fills the boundary panel, "
        "its incoming weights under the weights cursor", "Shape", show=False, display=">", id="unit-next"),
    Key("ctrl+z", "undo", "undo", "Undo the last change of shape or data (the run comes back at its step)", "Shape",
        show=False),
    Key("D", "data_controls", "data", "Data controls: noise, test split, batch size, samples (from the same seed)",
        "Shape", show=False, display="D"),
    Key("T", "toggle_test", "test", "Show the test points on the boundary (hollow ○) or hide them", "Shape",
        show=False, display="T"),
    Key("k", "toggle_discrete", "discrete", "Boundary in two solid colours (the decision only) or shaded by "
        "confidence", "Shape", show=False),
    Key("L", "lessons", "lessons", "Open the guided lessons (this run waits, paused: esc on the list returns to it)",
        "App", show=False, display="L"),
    Key("question_mark", "help", "help", "Show every key", "App", display="?"),
    Key("q", "quit", "quit", "Quit", "App"),
    # -- the classroom (netstep serve --teachers)
    Key("O", "open_sent", "open sent", "Open what the teacher sent to the class (a lesson or a run)", "App",
        show=False, display="O"),
)

# Keys that work only while the panels are in front (not under a dialog).
DASHBOARD_ACTIONS = frozenset(k.action.split("(")[0] for k in KEYS) - {"help", "quit", "open_sent"}

# The keys a lesson offers (the lesson screen implements these actions on its own run).
# A lesson file's `keys` may name those that drive the run (LESSON_STEP_KEYS).
LESSON_ACTIONS = ("step", "toggle_play", "next_op", "prev_op", "gradcheck", "reset", "lr_up", "lr_down",
                  "cycle_speed", "layer(-1)", "layer(1)", "toggle_log", "help", "quit")
LESSON_STEP_ACTIONS = ("step", "toggle_play", "next_op", "prev_op", "gradcheck", "reset", "lr_up", "lr_down")


def by_action(action: str) -> Key:
    return next(k for k in KEYS if k.action == action)


def lesson_keys() -> dict:
    """Lesson key name (space, p, n, b, g, r, +, -) -> its Key in the table."""
    return {by_action(a).name: by_action(a) for a in LESSON_STEP_ACTIONS}


# The footer shows keys in binding order and crops what does not fit: at 80 columns
# these come first, so help and quit are always in view.
FOOTER_FIRST = ("step", "toggle_play", "help", "quit")


def bindings(actions=None, priority=(), first=FOOTER_FIRST, hidden=()):
    """Textual Bindings for the table's keys (only `actions` when given). The footer
    lists `first` first; `hidden` stay out of it; the keys whose actions are in
    `priority` win over a focused widget's own."""
    from textual.binding import Binding

    table = KEYS if actions is None else tuple(k for k in KEYS if k.action in actions)
    groups = {}
    out = []
    first = [k for a in first for k in table if k.action == a]
    for k in first + [k for k in table if k not in first]:
        group = None
        if k.footer_group:
            group = groups.setdefault(k.footer_group, Binding.Group(k.footer_group, compact=True))
        out.append(Binding(k.key, k.action, k.label, show=k.show and k.action not in hidden, key_display=k.display,
                           tooltip=k.help,
                           id=k.binding_id, group=group, priority=k.action in priority))
    return out
