"""A cheaper Widget.render_lines for a widget whose lines under a repaint did not change.

Textual's compositor, for each frame, takes the box around every region that changed
and asks every visible widget overlapping that box for its lines there, not only the
widgets that changed (Textual 8 `_compositor._get_renders`; an opaque background does not
let it skip one). A step changes the status line at the top and lines at the bottom, so
every panel, container and text widget on screen is asked, every step. For lines it has
cached, Widget.render_lines still resolves the widget's colours through all its
ancestors, its border title styles, the app's line filters and padding: 0.1-0.5 ms a
widget, 6 ms a paused key for the dashboard's ~30 widgets (issue 14).

QuickLines (listed before the Textual base class) answers from what the last full render
returned when every line asked for is still in Textual's own line cache, unchanged (the
same strip object, not marked dirty) and the widget is as wide as then: exactly what
Textual would return, as Textual itself serves those lines from that cache. Anything
else (a dirty line, a resize, a horizontal crop, a link under the mouse) goes the usual way.

A widget that sets PLAIN_LINES (its render_line returns strips as wide as the widget) and has
no border, outline, padding, tint, text opacity, hatch or opacity on its way to the screen
also skips Textual's styling of its changed lines, which for such a box returns the line
unchanged (textual/_styles_cache.py StylesCache.render_line, content case): the lines go
into Textual's own line cache (so Textual's refresh and resize rules still apply), then
through the app's line filters, as Widget.render_lines does.

Both read Textual's StylesCache (_cache, _dirty_lines, _width: Textual 8.2); with a Textual
that has no such cache they stand aside. tests/tui/test_quick_lines.py checks every such
widget on the dashboard against Textual's own render.
"""

from __future__ import annotations

from textual._styles_cache import StylesCache
from textual.geometry import Region
from textual.strip import Strip

_USABLE = all(hasattr(StylesCache(), name) for name in ("_cache", "_dirty_lines", "_width"))


class QuickLines:
    """Mixin: serve unchanged lines without Textual's per-widget styling work."""

    PLAIN_LINES = False
    _plain = None

    def render_lines(self, crop: Region) -> list[Strip]:
        if not _USABLE:
            return super().render_lines(crop)
        styles_cache = self._styles_cache
        cache = styles_cache._cache
        x, y0, width, height = crop
        full_width = x == 0 and width == styles_cache._width
        served = self.__dict__.get("_served")
        if full_width and served is not None and not self.BLANK:
            dirty = styles_cache._dirty_lines
            out = []
            for y in range(y0, y0 + height):
                raw = cache.get(y)
                got = served.get(y)
                if raw is None or got is None or got[0] is not raw or y in dirty:
                    break
                out.append(got[1])
            else:
                if not (self.auto_links and self.hover_style._link_id):
                    return out
        strips = self._render_lines_uncached(crop)
        if full_width and width == styles_cache._width:
            if served is None:
                served = self.__dict__["_served"] = {}
            elif len(served) > 4 * max(64, height):
                served.clear()   # bounded: lines of an old, taller layout
            for y, strip in zip(range(y0, y0 + height), strips):
                raw = cache.get(y)
                if raw is not None:
                    served[y] = (raw, strip)
        return strips

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._plain = None

    def _plain_box(self) -> bool:
        if self._plain is None:
            s = self.styles
            self._plain = self.PLAIN_LINES and not (
                s.border or s.outline or any(s.padding) or s.text_opacity != 1.0 or s.tint.a
                or (s.has_rule("hatch") and s.hatch != "none") or self.BLANK)
        return self._plain

    def _render_lines_uncached(self, crop: Region) -> list[Strip]:
        x, y0, width, height = crop
        if not (x == 0 and self._plain_box() and width == self.outer_size.width == self.size.width):
            return super().render_lines(crop)
        styles_cache = self._styles_cache
        if width != styles_cache._width:
            styles_cache.clear()
            styles_cache._width = width
        cache, dirty = styles_cache._cache, styles_cache._dirty_lines
        strips = []
        checked = False
        for y in range(y0, y0 + height):
            strip = cache.get(y)
            if strip is None or y in dirty:
                if not checked:
                    if self.opacity != 1.0:   # a fading ancestor: Textual blends every line
                        return super().render_lines(crop)
                    checked = True
                strip = self.render_line(y)
                if strip.cell_length != width:   # as Textual fits a content line
                    inner = styles_cache.get_inner_outer(*self.background_colors)[0]
                    strip = strip.adjust_cell_length(width, inner.rich_style)
                cache[y] = strip
            strips.append(strip)
        dirty.difference_update(range(y0, y0 + height))
        filters = self.app.get_line_filters()
        if filters:
            background = self.background_colors[1]
            for line_filter in filters:
                strips = [strip.apply_filter(line_filter, background) for strip in strips]
        return strips
