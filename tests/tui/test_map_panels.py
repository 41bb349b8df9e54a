"""The map panels (unit diagram, decision boundary, heatmaps) draw from arrays of colour codes
and rebuild only the lines whose codes changed (issue 14 item 1): the picture is the one the
old cell-by-cell drawing made (tests/tui/map_reference.py)."""

from __future__ import annotations

import os

import numpy as np
import pytest
from textual.geometry import Size

import engine
import engine.plane
from tests.tui.map_reference import boundary_cells, strip_cells, unit_diagram_cells
from tui.run.snapshot import facts_of
from tui.widgets import colours
from tui.widgets.boundary.boundary_map import BoundaryMap
from tui.widgets.network import unit_diagram as ud


class BareDiagram(ud.UnitDiagram):
    """A UnitDiagram of a given size outside an app, recording what it asks to repaint."""

    def __init__(self, width, height):
        super().__init__()
        self._fixed = Size(width, height)
        self.refreshed = []

    @property
    def size(self):
        return self._fixed

    def refresh(self, *regions, **kwargs):
        self.refreshed.append(regions)
        return self


def _run(sizes, dataset, hidden="tanh", seed=0, features=None, steps=30):
    changes = dict(dataset=dataset, sizes=sizes, hidden=hidden, seed=seed)
    if features:
        changes["features"] = features
    t = engine.build(engine.presets["default"].replace(**changes))
    for _ in range(steps):
        t.step()
    return t


def _plane(t, unit=None):
    facts = facts_of(t)
    lo, hi = engine.plane.extent(t.X)
    return facts, engine.plane.evaluate(t.net, lo, hi, 20, 30, unit=unit)


def _weights(t):
    return [np.array(layer.W) for layer in t.net.layers]


RUNS = [([2, 4, 1], "xor", "tanh", None), ([2, 8, 6, 3], "spiral", "relu", None),
        ([2, 16, 1], "moons", "sigmoid", None), ([2, 3, 3, 3, 3, 3, 3, 3], "spiral", "tanh", None),
        ([5, 6, 1], "circles", "tanh", ["x1", "x2", "x1^2", "x2^2", "x1*x2"])]


@pytest.mark.parametrize("sizes,dataset,hidden,features", RUNS)
@pytest.mark.parametrize("width,height", [(56, 30), (38, 18), (24, 9), (12, 5), (90, 12)])
def test_the_unit_diagram_draws_what_the_cell_by_cell_drawing_drew(sizes, dataset, hidden, features, width, height):
    t = _run(sizes, dataset, hidden, features=features)
    facts, plane = _plane(t)
    for layer, unit in [(1, None), (1, 0), (len(sizes) - 1, 1 if sizes[-1] > 1 else 0), (1, sizes[1] - 1)]:
        d = BareDiagram(width, height)
        d.set_plane(plane, facts, _weights(t), layer, unit)
        want = unit_diagram_cells(plane, facts, _weights(t), layer, unit, width, height)
        got = [strip_cells(s) for s in d._strips]
        assert got == want, (layer, unit)
        assert all(s.cell_length == width for s in d._strips)


def test_the_unit_diagram_rebuilds_only_changed_lines_and_reuses_its_braille():
    t = _run([2, 8, 6, 3], "spiral", "relu")
    facts, plane = _plane(t)
    d = BareDiagram(56, 30)
    drawn = []
    original = ud._draw_wires
    ud._draw_wires = lambda *a: drawn.append(a) or original(*a)
    try:
        W = _weights(t)
        d.set_plane(plane, facts, W, 1, 2)
        assert len(drawn) == 3 and d.refreshed == [()]   # the first picture: the three gaps, every line
        strips = list(d._strips)
        d.refreshed.clear()
        nudged = [w * (1 + 1e-9) for w in W]               # no weight moves a colour level
        d.set_plane(plane, facts, nudged, 1, 2)
        assert len(drawn) == 3 and d.refreshed == []       # the braille from the cache, nothing repainted
        assert all(a is b for a, b in zip(strips, d._strips))
        W2 = [w.copy() for w in W]
        W2[1][0, 0] = -W2[1][0, 0] if abs(W2[1][0, 0]) > 0.3 * np.abs(W2[1]).max() else 2 * np.abs(W2[1]).max()
        d.set_plane(plane, facts, W2, 1, 2)
        assert len(drawn) == 4                             # one gap's lines changed: that gap redrawn
        changed = {y for regions in d.refreshed for r in regions for y in range(r.y, r.y + r.height)}
        assert changed and len(changed) < 30
        for y in range(30):
            assert (d._strips[y] is strips[y]) == (y not in changed)
        want = unit_diagram_cells(plane, facts, W2, 1, 2, 56, 30)
        assert [strip_cells(s) for s in d._strips] == want
    finally:
        ud._draw_wires = original


class BareBoundary(BoundaryMap):
    def __init__(self, width, height):
        super().__init__()
        self._fixed = Size(width, height)
        self.refreshed = []

    @property
    def size(self):
        return self._fixed

    def refresh(self, *regions, **kwargs):
        self.refreshed.append(regions)
        return self


def _points(rng, n, rows, cols, K):
    return list(zip(rng.integers(-2, rows + 2, n).tolist(), rng.integers(-2, cols + 2, n).tolist(),
                    rng.integers(0, K, n).tolist()))


@pytest.mark.parametrize("K,n_points,n_test", [(2, 4, 0), (3, 200, 30), (10, 50, 5), (2, 61, 0)])
def test_the_boundary_draws_what_the_cell_by_cell_drawing_drew(K, n_points, n_test):
    rng = np.random.default_rng(K + n_points)
    rows, cols = 24, 50
    classes = np.repeat(rng.integers(0, K, (rows, cols // 5)), 5, axis=1)   # runs of one class
    conf = np.repeat(rng.integers(0, colours.LEVELS + 1, (rows, cols // 5)), 5, axis=1)
    conf[:, 7] = rng.integers(0, colours.LEVELS + 1, rows)
    points, hollow = _points(rng, n_points, rows, cols, K), _points(rng, n_test, rows, cols, K)
    b = BareBoundary(cols, rows // 2)
    b.set_field(classes, conf, points, hollow)
    assert [strip_cells(s) for s in b._strips] == boundary_cells(classes, conf, points, hollow)
    assert all(s.cell_length == cols for s in b._strips)
    before = list(b._strips)
    b.refreshed.clear()
    conf2 = conf.copy()
    conf2[9, 3] = (conf2[9, 3] + 1) % (colours.LEVELS + 1)    # one pixel: line 4 only
    b.set_field(classes, conf2, points, hollow)
    assert [tuple((r.y, r.height) for r in regions) for regions in b.refreshed] == [((4, 1),)]
    assert [y for y in range(rows // 2) if b._strips[y] is not before[y]] == [4]
    assert [strip_cells(s) for s in b._strips] == boundary_cells(classes, conf2, points, hollow)


@pytest.mark.parametrize("shape,cw,cursor", [((64, 64), 1, (0, 5)), ((64, 32), 2, (37, 31)), ((7, 5), 4, (6, 2)),
                                             ((9, 70), 1, (8, 69)), ((5, 3), 3, None)])
async def test_the_heatmap_colours_equal_the_cell_by_cell_drawing(shape, cw, cursor):
    from textual.app import App

    from tests.tui.map_reference import heatmap_colour_cells
    from tui.widgets.weights.heatmap import Heatmap, levels

    class Host(App):
        def compose(self):
            yield Heatmap("W", id="map")

    rng = np.random.default_rng(shape[0])
    M = rng.normal(size=shape)
    M[:, 1:3] = 0.0
    app = Host()
    async with app.run_test(size=(66, 20)) as pilot:
        hm = app.query_one(Heatmap)
        hm.styles.height = 18
        await pilot.pause()
        for _ in range(2):     # and again after a step that moves every entry a little
            hm.set_matrix(M, cursor=cursor, numbers=False, cell_w=cw)
            await pilot.pause()
            L = levels(M, float(np.abs(M).max()))
            want = heatmap_colour_cells(L, hm._view(), cursor, cw, 66)
            got = [strip_cells(hm.render_line(y))[:len(want[y])] for y in range(len(want))]
            assert got == want
            assert all(hm.render_line(y).cell_length == 66 for y in range(18))
            M = M + rng.normal(scale=0.05, size=shape)


async def test_a_new_theme_reaches_the_heatmap_padding_and_the_confusion_cells():
    from textual.app import App

    from tui.widgets.boundary.confusion_matrix import ConfusionMatrix
    from tui.widgets.weights.heatmap import Heatmap

    class Host(App):
        def compose(self):
            yield Heatmap("W", id="map")
            yield ConfusionMatrix(id="cm")

    app = Host()
    async with app.run_test(size=(60, 20)) as pilot:
        hm, cm = app.query_one(Heatmap), app.query_one(ConfusionMatrix)
        hm.styles.height = 4
        await pilot.pause()
        hm.set_matrix(np.arange(12.0).reshape(3, 4), numbers=False, cell_w=2)   # 8 of 60 cells: the rest is padding
        cm.set_counts(np.array([[3, 1], [0, 4]]), "caption")
        await pilot.pause()
        before = list(hm.render_line(0))[-1].style.bgcolor, list(cm.render_line(1))[-1].style.bgcolor
        assert before == (hm.rich_style.bgcolor, cm.rich_style.bgcolor)
        app.theme = "textual-light" if app.theme != "textual-light" else "nord"
        await pilot.pause()
        after = list(hm.render_line(0))[-1].style.bgcolor, list(cm.render_line(1))[-1].style.bgcolor
        assert after == (hm.rich_style.bgcolor, cm.rich_style.bgcolor) and after != before


def test_a_chosen_unit_and_layer_drawn_by_changed_lines_equal_a_full_repaint():
    """On a real terminal: the unit diagram's marked unit, its bold weight lines and the
    boundary's unit map, drawn by changed lines over steps, equal a full repaint."""
    pytest.importorskip("pyte")
    from tests.tui.test_partial_repaint import Screen, _command

    term = Screen(_command() + ["--preset", "moons"], 120, 40)
    try:
        term.settle("PAUSED")
        for key, step in ((b">", 0), (b" ", 1), (b">", 1), (b" ", 2), (b"]", 2), (b" ", 3)):
            os.write(term.master, key)
            term.settle(f"step {step} " if step else None)
        assert "unit 1" in term.text()
        partial, partial_colours = term.text(), term.colours()
        term.resize(100, 40)
        term.settle()
        term.resize(120, 40)
        term.settle(lambda: (term.text(), term.colours()) == (partial, partial_colours))
        assert term.text() == partial
        assert term.colours() == partial_colours
    finally:
        term.close()
