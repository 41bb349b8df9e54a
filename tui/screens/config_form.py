"""The `c` dialog: every RunConfig field, validated as you type.

Each field shows the engine's own ConfigError message under it (the field, what is
wrong, what is allowed). Applying asks the app to rebuild the run; if even that
fails (a CSV file that cannot be read, say) the message lands on its field and the
dialog stays open with everything you typed.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.suggester import SuggestFromList
from textual.widgets import Button, Input, Label, Select, Static

import engine
from engine import activations, datasets, features, optim
from engine.config import DTYPES, TASKS
from engine.init import INITS
from engine.losses import LOSSES

CHOICES = {
    "output": activations.OUTPUT, "loss": tuple(LOSSES), "init": INITS, "optimizer": optim.OPTIMIZERS,
    "clip_mode": ("norm", "value"), "schedule": optim.SCHEDULES, "dtype": DTYPES, "task": TASKS,
}
HINTS = {
    "dataset": "xor, circles, moons, spiral, gaussians, digits, plane, bumps (regression) or csv:PATH",
    "dataset_options": "name=value pairs, such as noise=0.2, n_samples=200 (blank: none)",
    "sizes": "layer widths such as 2,4,1 (first and last follow the data)",
    "hidden": "relu, leaky_relu, tanh, sigmoid, linear, or one per hidden layer",
    "output": "output activation",
    "loss": "mse, bce (outputs in 0..1) or cross_entropy (softmax)",
    "init": "how the weights start",
    "optimizer": "update rule",
    "lr": "learning rate, > 0",
    "beta": "momentum: velocity decay, in [0, 1)",
    "beta1": "adam: first-moment decay, in [0, 1)",
    "beta2": "adam: second-moment decay, in [0, 1)",
    "rho": "rmsprop: decay, in [0, 1)",
    "eps": "adam, rmsprop: added to the denominator, > 0",
    "l2": "L2 strength lambda, >= 0 (0 is off)",
    "clip": "gradient clipping threshold, > 0 (blank: off)",
    "clip_mode": "norm (global L2 norm) or value (each entry)",
    "schedule": "learning-rate schedule over epochs",
    "lr_step_size": "step schedule: epochs between drops",
    "lr_gamma": "step/exponential schedule: factor per drop",
    "lr_min": "cosine schedule: final learning rate",
    "batch_size": "examples per step (blank: the full batch)",
    "epochs": "play pauses after this many epochs",
    "seed": "random seed: weights, shuffling, data",
    "dtype": "float64 or float32",
    "features": f"network inputs from 2-D data: {', '.join(features.NAMES)}; sizes starts with their number",
    "l1": "L1 strength lambda1, >= 0 (0 is off): (lambda1/m) sum |W|",
    "dropout": "chance of dropping each hidden unit in training, in [0, 1) (0 is off)",
    "task": "regression: real-valued targets, output linear or tanh, loss mse, scored by R²",
}
NONE_WORDS = ("", "none", "off", "full", "null")
NONE_OK = ("clip", "batch_size", "dataset_options")  # blank is a valid answer


def to_text(name, value) -> str:
    """A config value as the text the form shows."""
    if value is None:
        return ""
    if name == "dataset_options":
        return ", ".join(f"{k}={v}" for k, v in value.items())
    if isinstance(value, list):
        return ",".join(map(str, value))
    return str(value)


def parse_options(text: str) -> dict:
    """'noise=0.2, n_samples=200' -> {'noise': 0.2, 'n_samples': 200}."""
    out = {}
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        if "=" not in part:
            raise engine.ConfigError("dataset_options", f"write name=value pairs separated by commas; got {part!r}")
        key, _, raw = part.partition("=")
        try:
            value = json.loads(raw.strip())
        except ValueError:
            value = raw.strip()
        out[key.strip()] = value
    return out


def from_text(name, text):
    """The form's text for a field as a value RunConfig validates."""
    if name == "dataset_options":
        return parse_options(text)
    if name in ("clip", "batch_size") and text.strip().lower() in NONE_WORDS:
        return None
    return text.strip() if isinstance(text, str) else text


def validate(values: dict, base) -> tuple[dict, object]:
    """({field: message}, config or None): every field's ConfigError, not just the first.

    A field that fails is set back to its base value and the rest is checked again,
    so independent mistakes are all reported at once."""
    errors = {}
    candidate = {}
    for name, text in values.items():
        try:
            candidate[name] = from_text(name, text)
        except engine.ConfigError as e:
            errors[e.field] = str(e)
    for _ in range(len(values) + 1):
        try:
            config = engine.RunConfig.from_dict({k: v for k, v in candidate.items() if k not in errors}, base=base)
        except engine.ConfigError as e:
            if e.field in errors or e.field not in values:
                errors[e.field] = str(e)
                return errors, None
            errors[e.field] = str(e)
            continue
        return errors, (config if not errors else None)
    return errors, None


class ConfigForm(ModalScreen["engine.RunConfig | None"]):
    """Edit the run; apply rebuilds it."""

    CSS_PATH = "config_form.tcss"
    BINDINGS = [Binding("escape", "cancel", "cancel"), Binding("ctrl+enter,ctrl+j", "apply", "apply")]

    def __init__(self, config, apply: Callable[[object], Awaitable[None]]):
        super().__init__()
        self.base = config
        self.apply_fn = apply
        self.errors: dict[str, str] = {}
        self.config = config

    def compose(self) -> ComposeResult:
        with Vertical(id="form-box"):
            yield Static("[b]Run configuration[/b]  [dim]tab/shift+tab: move · enter or Apply: rebuild the run · "
                         "esc: cancel[/]", id="form-title")
            with VerticalScroll(id="form-fields"):
                for name in engine.RunConfig.fields():
                    value = getattr(self.base, name)
                    with Horizontal(classes="form-row", id=f"row-{name}"):
                        yield Label(name, classes="form-label")
                        if name in CHOICES:
                            yield Select([(c, c) for c in CHOICES[name]], value=value, allow_blank=False,
                                         id=f"field-{name}", compact=True)
                        else:
                            suggest = None
                            if name == "dataset":
                                suggest = SuggestFromList(datasets.NAMES + ("csv:",))
                            elif name == "hidden":
                                suggest = SuggestFromList(activations.HIDDEN)
                            elif name == "features":
                                suggest = SuggestFromList(("x1,x2", "x1,x2,x1*x2", "x1^2,x2^2", "x1,x2,x1^2,x2^2,x1*x2"))
                            yield Input(to_text(name, value), placeholder="none" if name in NONE_OK else "",
                                        id=f"field-{name}", compact=True, suggester=suggest)
                        yield Static(HINTS.get(name, ""), classes="form-hint", id=f"hint-{name}")
                    yield Static("", classes="form-error", id=f"err-{name}")
            yield Static("", id="form-error")
            with Horizontal(id="form-buttons"):
                yield Button("Apply", id="form-apply", variant="primary", compact=True)
                yield Button("Cancel", id="form-cancel", compact=True)

    def on_mount(self) -> None:
        self.query_one("#field-dataset", Input).focus()
        self._fit()

    def on_resize(self) -> None:
        self._fit()

    def _fit(self) -> None:
        """The fields scroll in whatever height the title, the buttons and the box's border
        leave, so Apply and Cancel are on screen at any size (80x24 included)."""
        fields = self.query_one("#form-fields")
        box = self.query_one("#form-box")
        title = self.query_one("#form-title")
        error = self.query_one("#form-error")
        width = max(10, box.content_region.width or (self.size.width - 4))
        title_lines = max(1, title.size.height or -(-len(title.content.plain if isinstance(title.content, Text)
                                                          else str(title.content)) // width))
        overhead = 2 + title_lines + 1 + (error.size.height or 0) + 2   # border, title + margin, error, buttons + margin
        room = int(self.size.height * 0.98) - overhead
        fields.styles.max_height = max(3, min(32, room))

    def values(self) -> dict:
        out = {}
        for name in engine.RunConfig.fields():
            widget = self.query_one(f"#field-{name}")
            out[name] = widget.value if isinstance(widget, Input) else str(widget.value)
        return out

    def check(self) -> bool:
        """Validate every field and show the messages. True when the whole config is valid."""
        self.errors, self.config = validate(self.values(), self.base)
        for name in engine.RunConfig.fields():
            self._mark(name, self.errors.get(name))
        other = [m for f, m in self.errors.items() if f not in HINTS]
        self.query_one("#form-error", Static).update(Text("✖ " + "; ".join(other), style="red") if other else "")
        self.query_one("#form-apply", Button).disabled = bool(self.errors)
        return not self.errors

    def _mark(self, name, message):
        """Show (or clear) a field's error line under it."""
        error = self.query_one(f"#err-{name}", Static)
        error.update(Text("✖ " + message) if message else "")
        error.set_class(bool(message), "-shown")
        self.query_one(f"#row-{name}").set_class(bool(message), "-error")

    @on(Input.Changed)
    @on(Select.Changed)
    def _changed(self) -> None:
        self.check()

    @on(Input.Submitted)
    @on(Button.Pressed, "#form-apply")
    async def action_apply(self) -> None:
        if not self.check():
            n = len(self.errors)
            self.notify(f"{n} field{'s need' if n != 1 else ' needs'} fixing before the run can be rebuilt",
                        severity="warning")
            return
        try:
            await self.apply_fn(self.config)
        except engine.NetstepError as e:
            field = getattr(e, "field", None)
            self.errors = {field or "config": str(e)}
            if field in HINTS:
                self._mark(field, str(e))
            else:
                self.query_one("#form-error", Static).update(Text("✖ " + str(e), style="red"))
            return
        self.dismiss(self.config)

    @on(Button.Pressed, "#form-cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)
