"""Send to class: pick a lesson or a run (preset); every connected student is told, and opens
it with O when they choose (nothing on their screen is taken from them)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option


def choices() -> list[tuple[str, str, str]]:
    """(kind, id, label) for every lesson, then every preset."""
    import engine
    from tui.lessons import load_all

    lessons, _ = load_all()
    out = [("lesson", lesson.id, f"lesson  {lesson.id}: {lesson.title}") for lesson in lessons]
    out += [("preset", name, f"run     {name}") for name in engine.presets]
    return out


class SendScreen(ModalScreen):
    BINDINGS = [Binding("escape", "dismiss_none", "cancel")]

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.items = choices()

    def compose(self) -> ComposeResult:
        with Vertical(id="send-box"):
            yield Static("Send to every connected student (they press O to open it):", id="send-title")
            yield OptionList(*[Option(label, id=f"{kind}:{ident}") for kind, ident, label in self.items],
                             id="send-list")

    def on_mount(self) -> None:
        self.query_one(OptionList).focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        kind, ident = event.option.id.split(":", 1)
        self.dismiss({kind: ident})

    def action_dismiss_none(self) -> None:
        self.dismiss(None)
