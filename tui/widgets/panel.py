"""The base of every dashboard panel: a bordered box that draws snapshots.

The app hands each panel on the current screen the latest Snapshot 10-30 times a
second; a panel redraws only when the snapshot is new, it is displayed, and (while
playing) its own minimum interval has passed, so an expensive panel (a plot, the
decision boundary) costs a few frames a second whatever the step rate. Any screen can
place panels: the dashboard, the lesson screen, the operation view.
"""

from __future__ import annotations

import math
import time

from textual.containers import Vertical
from textual.widget import Widget

_TITLE = Widget.__dict__["border_title"]
_SUBTITLE = Widget.__dict__["border_subtitle"]


class Panel(Vertical):
    """A dashboard panel. Subclasses implement draw(snapshot)."""

    MIN_INTERVAL = 0.0   # seconds between redraws while playing
    TITLE = ""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._drawn = None
        self._drawn_at = -math.inf
        self.border_title = self.TITLE

    # Textual repaints a widget's whole box whenever its border title is assigned, even to
    # the same text; panels set theirs on every draw, so only a change is passed on.
    @property
    def border_title(self):
        return _TITLE.__get__(self, type(self))

    @border_title.setter
    def border_title(self, value):
        if self.__dict__.get("_title_set", ...) != value:
            self.__dict__["_title_set"] = value
            _TITLE.__set__(self, value)

    @property
    def border_subtitle(self):
        return _SUBTITLE.__get__(self, type(self))

    @border_subtitle.setter
    def border_subtitle(self, value):
        if self.__dict__.get("_subtitle_set", ...) != value:
            self.__dict__["_subtitle_set"] = value
            _SUBTITLE.__set__(self, value)

    def on_mount(self) -> None:
        registry = getattr(self.app, "panel_registry", None)
        if registry is not None:
            registry.add(self)
        # redraw() reads the latest snapshot when it runs: one taken after mounting (a
        # screen pushed and then stepped at once) must not be overwritten by an older one.
        self.call_after_refresh(self.redraw)

    def on_unmount(self) -> None:
        registry = getattr(self.app, "panel_registry", None)
        if registry is not None:
            registry.discard(self)

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
        if not force and snap.playing and now - self._drawn_at < self.MIN_INTERVAL * getattr(self.app, "slowdown", 1.0):
            return False
        self._drawn = key
        self._drawn_at = now
        self.draw(snap)
        return True

    def redraw(self) -> None:
        """Draw the latest snapshot again (after a change of view: layer, scale...)."""
        snap = getattr(getattr(self.app, "state", None), "latest", None)
        if snap is not None:
            self.show(snap, force=True)

    def draw(self, snap) -> None:  # pragma: no cover - every panel overrides it
        raise NotImplementedError

    @property
    def view(self):
        return self.app.view
