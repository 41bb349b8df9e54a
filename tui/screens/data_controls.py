"""D: the data, live. Noise, test split, batch size and number of samples, a key each.

Every change regenerates the data from the run's seed and rebuilds the run at once
(undoable with ctrl+z on the dashboard); the panels behind the box show the result.
Only the options the dataset has are offered (XOR's four points have only a batch size).
"""

from __future__ import annotations

import inspect

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static

import engine
import engine.datasets as datasets

# (field, label, keys down/up, the values stepped through). batch_size None is the full batch.
FIELDS = (
    ("noise", "noise", "n N", (0.0, 0.05, 0.1, 0.15, 0.2, 0.3, 0.5, 0.75, 1.0)),
    ("test_fraction", "test split", "t T", (0.0, 0.1, 0.2, 0.25, 0.3, 0.4, 0.5)),
    ("batch_size", "batch size", "b B", (1, 2, 4, 8, 16, 32, 64, 128, None)),
    ("n_samples", "samples", "m M", (20, 50, 100, 200, 300, 500, 1000)),
)


def current(config, name):
    """The run's value of one data control (the dataset's default when the config leaves it out)."""
    if name == "batch_size":
        return config.batch_size
    if name in config.dataset_options:
        return config.dataset_options[name]
    fn = getattr(datasets, config.dataset, None)
    if fn is None:
        return None
    p = inspect.signature(fn).parameters.get(name)
    return None if p is None or p.default is inspect.Parameter.empty else p.default


def offered(config):
    """The controls this run's dataset has."""
    has = datasets.OPTIONS.get(config.dataset.split(":")[0] if ":" in config.dataset else config.dataset, ())
    return [f for f in FIELDS if f[0] == "batch_size" or f[0] in has]


def stepped(values, now, delta):
    """The next value of `values` from `now` in direction delta (now need not be one of them)."""
    if now in values:
        i = values.index(now) + delta
        return values[max(0, min(len(values) - 1, i))]
    if now is None:   # not on the list: from the nearest end
        return values[-1 if delta < 0 else 0]
    nums = [v for v in values if v is not None]
    higher = [v for v in nums if v > now]
    lower = [v for v in nums if v < now]
    return (higher[0] if higher else nums[-1]) if delta > 0 else (lower[-1] if lower else nums[0])


class DataControls(ModalScreen):
    """A small box of data controls over the dashboard; esc or D closes it."""

    CSS_PATH = "data_controls.tcss"
    BINDINGS = [
        Binding("escape,D", "close", "close"),
        Binding("n", "change('noise', -1)", show=False), Binding("N", "change('noise', 1)", show=False),
        Binding("t", "change('test_fraction', -1)", show=False),
        Binding("T", "change('test_fraction', 1)", show=False),
        Binding("b", "change('batch_size', -1)", show=False), Binding("B", "change('batch_size', 1)", show=False),
        Binding("m", "change('n_samples', -1)", show=False), Binding("M", "change('n_samples', 1)", show=False),
    ]

    def compose(self) -> ComposeResult:
        with Vertical(id="data-box"):
            yield Static(id="data-title")
            yield Static(id="data-rows")
            yield Static("[dim]key: less · shift: more · same seed · esc closes[/]", id="data-help")

    def on_mount(self) -> None:
        self.show_values()

    def show_values(self) -> None:
        config = self.app.state.config
        self.query_one("#data-title", Static).update(f"[b]Data[/] · {config.dataset} · seed {config.seed}")
        lines = []
        names = {f[0] for f in offered(config)}
        for name, label, keys, _ in FIELDS:
            if name not in names:
                lines.append(f"[dim]{keys}  {label:<11} (not an option of {config.dataset})[/]")
                continue
            value = current(config, name)
            shown = "full batch" if name == "batch_size" and value is None else f"{value:g}" if isinstance(
                value, float) else str(value)
            lines.append(f"[b]{keys}[/]  {label:<11} [b]{shown}[/]")
        self.query_one("#data-rows", Static).update("\n".join(lines))

    async def action_change(self, name: str, delta: int) -> None:
        config = self.app.state.config
        if name not in {f[0] for f in offered(config)}:
            self.app.notify(f"{config.dataset} has no {name.replace('_', ' ')} to change", timeout=3)
            return
        values = next(f[3] for f in FIELDS if f[0] == name)
        now = current(config, name)
        value = stepped(values, now, delta)
        if value == now:
            return
        try:
            if name == "batch_size":
                new = config.replace(batch_size=value)
            else:
                new = config.replace(dataset_options={**config.dataset_options, name: value})
        except engine.NetstepError as e:
            self.app.notify(str(e), title="Data not changed", severity="error", timeout=6)
            return
        label = next(f[1] for f in FIELDS if f[0] == name)
        shown = "full batch" if value is None else f"{value:g}"
        await self.app.reshape(new, f"{label} {shown}: data regenerated from seed {config.seed}")
        self.show_values()

    def action_close(self) -> None:
        self.dismiss(None)
