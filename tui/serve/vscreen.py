"""A virtual screen per session (pyte), fed from the session's pty output.

The server keeps one for every student's session so a teacher who starts watching sees the
whole screen at once, not only what changes from then on. `dump()` turns it into lines of
(text, style) runs, the style in Rich's syntax, ready for the class view to draw.

pyte costs about 1.5 ms of the server's CPU per KB, and a playing session writes tens of KB a
second: fed all the time, 32 sessions would cost the server a core. So output is queued and
fed only when a teacher looks; a queue that grows past KEEP is dropped and the screen marked
stale, and the next teacher to watch asks the session's app for one full repaint
(the "repaint" message on its channel) into a fresh screen. Watched, every byte is fed.
"""

from __future__ import annotations

import pyte

KEEP = 64 << 10    # bytes of unwatched output kept to feed later; past this the screen goes stale

_NAMES = {"brown": "yellow", "brightbrown": "bright_yellow"}


def _color(c: str) -> str | None:
    if not c or c == "default":
        return None
    if c in _NAMES:
        return _NAMES[c]
    if c.startswith("bright"):
        return "bright_" + c[6:]
    if len(c) == 6 and all(ch in "0123456789abcdefABCDEF" for ch in c):
        return "#" + c.lower()
    return c


def style_of(char) -> str:
    parts = []
    if char.bold:
        parts.append("bold")
    if char.italics:
        parts.append("italic")
    if char.underscore:
        parts.append("underline")
    if char.reverse:
        parts.append("reverse")
    fg, bg = _color(char.fg), _color(char.bg)
    if fg:
        parts.append(fg)
    if bg:
        parts.append("on " + bg)
    return " ".join(parts)


class VScreen:
    def __init__(self, cols: int, rows: int):
        self.screen = pyte.Screen(cols, rows)
        self.stream = pyte.ByteStream(self.screen)
        self._queue = bytearray()
        self.version = 0          # bumps with every byte of output (the watcher sends on change)
        self.stale = False        # output was dropped: only a full repaint makes the screen true again
        self.watched = False

    @property
    def size(self) -> tuple[int, int]:
        return self.screen.columns, self.screen.lines

    def feed(self, data: bytes) -> None:
        self.version += 1
        if self.stale:
            return
        self._queue += data
        if len(self._queue) > KEEP and not self.watched:
            self._queue.clear()
            self.stale = True

    def restart(self) -> None:
        """A fresh, blank screen, for the full repaint asked of the app."""
        self._queue.clear()
        self.screen.reset()
        self.stale = False
        self.version += 1

    def flush(self) -> None:
        if self._queue:
            data, self._queue = bytes(self._queue), bytearray()
            self.stream.feed(data)

    def resize(self, cols: int, rows: int) -> None:
        self.flush()
        self.screen.resize(rows, cols)
        self.version += 1

    def text(self) -> str:
        self.flush()
        return "\n".join(line.rstrip() for line in self.screen.display)

    def dump(self, full: bool = True) -> dict:
        """{"cols", "rows", "full", "lines": {row: [[text, style], ...]}, "cursor": [x, y]}: every
        row, or (full=False) only those pyte marked changed since the last dump."""
        self.flush()
        s = self.screen
        rows = range(s.lines) if full else sorted(y for y in s.dirty if 0 <= y < s.lines)
        s.dirty.clear()
        lines = {}
        for y in rows:
            row = s.buffer[y]
            runs: list[list[str]] = []
            for x in range(s.columns):
                char = row[x]
                style = style_of(char)
                if runs and runs[-1][1] == style:
                    runs[-1][0] += char.data
                else:
                    runs.append([char.data, style])
            lines[str(y)] = runs
        return {"cols": s.columns, "rows": s.lines, "full": full, "lines": lines, "cursor": [s.cursor.x, s.cursor.y]}
