"""The key footer, with whole keys only: what does not fit is left out, never cut mid-word.

Textual's Footer lays its keys in a row and clips the row at the command-palette key
docked on the right, so at 80 columns the last visible key reads "? he" or "[] laye".
This footer, after every layout of its keys, hides the first key that would reach
under the palette key (or past the edge) and every key after it. Every key stays in
the help screen (?) and the command palette.
"""

from __future__ import annotations

from textual.widgets import Footer

from tui.widgets.quick_lines import QuickLines


class FitFooter(QuickLines, Footer):
    """A Footer that shows only the keys that fit whole."""

    _tries = 0

    async def recompose(self) -> None:
        await super().recompose()
        self._later()

    def on_mount(self) -> None:
        self._later()

    def bindings_changed(self, screen) -> None:
        super().bindings_changed(screen)
        # Textual's Footer composes its keys only while the app has focus. A browser session
        # starts blurred, and the dashboard replaces the first frame after that: its footer
        # would stay empty until a key changed the bindings. An empty footer composes anyway.
        if not screen.app.app_focus and not self.children and self.is_attached and screen is self.screen:
            self.call_after_refresh(self.recompose)

    def on_resize(self) -> None:
        for child in self.children:   # measure again from everything shown
            child.display = True
        self._later()

    def _later(self) -> None:
        self._tries = 0
        self.call_after_refresh(self._fit)

    def _fit(self) -> None:
        if not self.is_mounted or not self.children:
            return
        if not self.children[0].region.width:
            # Not laid out yet (a recompose or a resize in flight): look again shortly.
            self._tries += 1
            if self._tries < 40:
                self.set_timer(0.05, self._fit)
            return
        palette = [c for c in self.children if c.has_class("-command-palette")]
        right = self.region.right - sum(c.outer_size.width for c in palette)
        keys = [c for c in self.children if c not in palette]
        for i, child in enumerate(keys):
            # No region at all: the compositor found it entirely past the edge.
            if child.display and (not child.region.width or child.region.right > right):
                # A group's keys ("[]") and its label ("layer") go together.
                start = i - 1 if i and type(child).__name__ == "FooterLabel" else i
                for hidden in keys[start:]:
                    hidden.display = False
                return
