"""The base of every dashboard panel: a bordered box that draws snapshots.

A panel's host (a PanelHost: the dashboard app, or a lesson screen over its own
run) hands it the latest Snapshot 10-30 times a second; a panel redraws only when
the snapshot is new, it is displayed, and (while playing) its own minimum interval
has passed, so an expensive panel (a plot, the decision boundary) costs a few frames
a second whatever the step rate. Any screen can place panels: the dashboard, the
lesson screen, the operation view. A panel reaches its host through `self.host`
and nothing else: the screen it sits on if that screen is a host, else the app.
"""

from __future__ import annotations

import math
import time
from typing import Protocol, runtime_checkable

from textual.containers import Vertical
from textual.geometry import Region
from textual.widget import Widget

from tui.widgets.quick_lines import QuickLines


@runtime_checkable
class PanelHost(Protocol):
    """What panels need from whoever runs the run they draw."""

    view: object            # tui.run.View: layer, log scale, precision...
    slowdown: float         # multiplies each panel's minimum interval while playing

    def latest_snapshot(self):  # the newest tui.run.Snapshot (or None before the first)
        ...

    def register_panel(self, panel) -> None:
        ...

    def unregister_panel(self, panel) -> None:
        ...


def _no_refresh(*regions, **kwargs):
    return None


_TITLE = Widget.__dict__["border_title"]
_SUBTITLE = Widget.__dict__["border_subtitle"]


class Panel(QuickLines, Vertical):
    """A dashboard panel. Subclasses implement draw(snapshot)."""

    MIN_INTERVAL = 0.0   # seconds between redraws while playing
    TITLE = ""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._drawn = None
        self._drawn_at = -math.inf
        self.border_title = self.TITLE

    # Textual repaints a widget's whole box whenever its border title is assigned, even to
    # the same text; panels set theirs on every draw, so only a change is passed on, and
    # it repaints only the border row it is on (the diagnostics' subtitle names the step:
    # a whole-panel repaint for it cost a fifth of a paused key's CPU).
    @property
    def border_title(self):
        return _TITLE.__get__(self, type(self))

    @border_title.setter
    def border_title(self, value):
        if self.__dict__.get("_title_set", ...) != value:
            self.__dict__["_title_set"] = value
            self._set_border_text(_TITLE, value, top=True)

    @property
    def border_subtitle(self):
        return _SUBTITLE.__get__(self, type(self))

    @border_subtitle.setter
    def border_subtitle(self, value):
        if self.__dict__.get("_subtitle_set", ...) != value:
            self.__dict__["_subtitle_set"] = value
            self._set_border_text(_SUBTITLE, value, top=False)

    def _set_border_text(self, descriptor, value, top: bool) -> None:
        width, height = self.outer_size
        if not (width and height and self.is_mounted):
            descriptor.__set__(self, value)   # not laid out yet: Textual's own way (a full repaint)
            return
        refresh = self.refresh
        self.refresh = _no_refresh             # the descriptor stores the text, then refreshes the box
        try:
            descriptor.__set__(self, value)
        finally:
            del self.refresh
        ox, oy = self.content_offset
        refresh(Region(-ox, (0 if top else height - 1) - oy, width, 1))

    @property
    def host(self) -> PanelHost | None:
        host = self.__dict__.get("_host")
        if host is None:
            screen = self.screen
            host = screen if isinstance(screen, PanelHost) else self.app if isinstance(self.app, PanelHost) else None
            self._host = host   # a panel never moves between screens
        return host

    def on_mount(self) -> None:
        if self.host is not None:
            self._host.register_panel(self)
        # redraw() reads the latest snapshot when it runs: one taken after mounting (a
        # screen pushed and then stepped at once) must not be overwritten by an older one.
        self.call_after_refresh(self.redraw)

    def on_unmount(self) -> None:
        host = self.__dict__.get("_host")
        if host is not None:
            host.unregister_panel(self)

    def on_resize(self) -> None:
        # Layout-dependent panels (heatmaps, the boundary grid) redraw for their new size.
        self.redraw()

    def show(self, snap, force: bool = False) -> bool:
        """Draw snap if it is new and due. Returns whether it drew."""
        if not self.display or not self.is_mounted:
            return False
        key = (snap.run_id, snap.version)
        if not force and key == self._drawn:
            return False
        now = time.monotonic()
        if not force and snap.playing and now - self._drawn_at < self.MIN_INTERVAL * self._slowdown():
            return False
        self._drawn = key
        self._drawn_at = now
        self.draw(snap)
        return True

    def redraw(self) -> None:
        """Draw the latest snapshot again (after a change of view: layer, scale...)."""
        host = self.host
        snap = host.latest_snapshot() if host is not None else None
        if snap is not None:
            self.show(snap, force=True)

    def draw(self, snap) -> None:  # pragma: no cover - every panel overrides it
        raise NotImplementedError

    def _slowdown(self) -> float:
        host = self.host
        return host.slowdown if host is not None else 1.0

    @property
    def view(self):
        return self.host.view
