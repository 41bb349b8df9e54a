"""Shown instead of the panels when the terminal is smaller than the compact layout needs."""

from __future__ import annotations

from textual.widgets import Static


class SizeNotice(Static):
    """'Make the terminal larger': what is needed and what there is."""

    def set_size(self, width: int, height: int, need_w: int, need_h: int) -> None:
        self.update(
            f"[b]Make the terminal larger[/b]\n\n"
            f"netstep needs at least [b]{need_w}×{need_h}[/b];\nthis one is [b]{width}×{height}[/b].\n\n"
            f"[dim]Training keeps its state; q quits.[/]"
        )
