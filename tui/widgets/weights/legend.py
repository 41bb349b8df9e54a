"""The diverging colour scale as a bar: negative in blue, zero dark, positive in orange."""

from __future__ import annotations

from rich.text import Text
from textual.widget import Widget

from tui.widgets import colours


class ColourLegend(Widget):
    """−max ▇▇▇▇ 0 ▇▇▇▇ +max, scaled to the width; max is each map's own largest |value|."""

    def render(self):
        width = self.size.width
        text = Text(no_wrap=True, overflow="crop")
        if width < 12:
            return text
        left, right = "−max ", " +max"
        bar = max(3, min(2 * colours.LEVELS + 1, width - len(left) - len(right)))
        text.append(left, style="dim")
        for i in range(bar):
            lv = int(round((i / (bar - 1) * 2 - 1) * colours.LEVELS))
            text.append("█", style=colours.plain_style(fg=colours.level_rgb(lv)))
        text.append(right, style="dim")
        if width >= len(left) + bar + len(right) + 14:
            text.append("  per map", style="dim italic")
        return text
