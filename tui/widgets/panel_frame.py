"""A panel's frame before its run exists: the border, the real title, one line of text."""

from __future__ import annotations

from textual.widgets import Static

from tui.widgets.panel import Panel


class PanelFrame(Panel):
    """Looks like the panel it stands for (the Panel styles) but draws no snapshot and
    joins no host: the dashboard's real panels replace it once the run is built."""

    def __init__(self, title: str, message: str = "", **kwargs):
        self.TITLE = title
        super().__init__(**kwargs)
        self._message = message

    @property
    def host(self):
        return None   # not registered: nothing hands it snapshots

    def compose(self):
        yield Static(self._message, classes="frame-message")

    def draw(self, snap) -> None:
        pass
