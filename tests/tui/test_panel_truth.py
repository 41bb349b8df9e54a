"""Panels that tell the truth (issue 12 items 5, 10, 12) and draw little (issue 14 item 1)."""

from __future__ import annotations

import numpy as np
from rich.segment import Segment

from tests.tui.app_helpers import make_app, status, text_of, wait_for
from tui.widgets import colours
from tui.widgets.diagnostics.diagnostics_panel import _dead_lines
from tui.widgets.names import unit, units

BLOWUP = dict(sizes=[2, 8, 1], hidden="relu", output="linear", loss="mse", lr=20.0)


def test_units_are_named_as_the_course_names_them():
    assert [unit(0, 0, 2), unit(1, 2, 2), unit(2, 0, 2)] == ["x1", "h3", "y"]
    assert unit(2, 1, 2, n_out=3) == "y2"
    assert unit(1, 0, 3) == "h1 of layer 1"
    assert units(1, range(8), 2) == "h1, h2 and 6 more"
    assert units(1, [0, 4], 2) == "h1 and h5"
    assert units(2, [1], 3) == "h2 (layer 2)"


def test_dead_units_are_listed_in_words_not_as_a_code():
    rows = [{"layer": 1, "dead_units": [1, 2, 3, 4, 5, 6, 7, 8]}, {"layer": 2, "dead_units": []}]
    lines = [t.plain for t in _dead_lines(rows, 2)]
    assert lines == ["dead: h1, h2 and 6 more"]


async def test_the_weights_inspector_names_the_units_it_joins():
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("space")
        await pilot.pause()
        inspector = text_of(app.screen.query_one("#inspector"))
        assert "W1[0,0]  x1 → h1" in inspector and "input 1" not in inspector
        await pilot.press("right_square_bracket")   # layer 2: hidden unit to the output
        await pilot.pause()
        assert "W2[0,0]  h1 → y" in text_of(app.screen.query_one("#inspector"))


async def test_while_the_guard_holds_the_run_every_panel_says_so():
    app = make_app(**BLOWUP)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("p")
        await wait_for(pilot, lambda: app.state.trainer.halted is not None and not app.state.playing, "the guard")
        await pilot.pause(0.3)
        app.redraw()
        await pilot.pause()
        halted = app.state.trainer.halted
        line = f"stopped at step {halted.step}"
        screen = app.screen
        titles = [text_of(w) for w in screen.query(".map-title")]
        dW_title = next(t for t in titles if t.startswith("dW1"))
        assert line in dW_title and "no step yet" not in dW_title
        assert "u rewinds" in text_of(screen.query_one("#map-dW"))
        assert "gradient —" in text_of(screen.query_one("#inspector"))
        assert line in text_of(screen.query_one("#net-diagram")).replace("\n", " ")
        diag = text_of(screen.query_one("#diag-body"))
        assert line in diag.replace("\n", " ") and "refused step" in diag
        dW_row = next(r for r in diag.splitlines() if r.startswith("|dW| "))
        assert set(dW_row.split()[1:]) == {"—"}     # not "0" beside |grad| 9.8e154
        assert "STOPPED" in status(app)


def _old_half_strip(L, cursor_top=None):
    """The heatmap's colour mode drawn cell by cell, as before: the reference."""
    segs = []
    for c in range(L.shape[1]):
        top = colours.CURSOR_RGB if cursor_top == c else int(L[0, c])
        style = colours.half_style(top, int(L[1, c]))
        segs.append(Segment("▀", style))
    return segs


async def test_the_heatmap_draws_runs_with_prebuilt_styles_and_repaints_only_changed_lines():
    from textual.app import App

    from tui.widgets.weights.heatmap import Heatmap

    class Host(App):
        def compose(self):
            yield Heatmap("W", id="map")

    rng = np.random.default_rng(0)
    M = rng.normal(size=(64, 64))
    M[:, 20:40] = 0.0        # a wide run of one colour
    scale = float(np.abs(M).max())
    M[10, 3] = 0.5 * scale
    app = Host()
    async with app.run_test(size=(70, 34)) as pilot:
        hm = app.query_one(Heatmap)
        hm.styles.height = 32
        await pilot.pause()
        hm.set_matrix(M, cursor=(0, 5), numbers=False, cell_w=1)
        await pilot.pause()
        strip = hm.render_line(0)
        segs = [s for s in strip if s.text.strip()]
        assert len(segs) < 64                           # a run of equal colours is one segment
        from tui.widgets.weights.heatmap import levels
        L = levels(M, float(np.abs(M).max()))
        want = _old_half_strip(L[:2], cursor_top=5)
        got = [(ch, seg.style) for seg in segs for ch in seg.text][:64]
        assert [(s.text, s.style) for s in want] == got   # the same colours as cell-by-cell drawing
        refreshed = []
        original = hm.refresh
        hm.refresh = lambda *regions, **kw: refreshed.append(regions) or original(*regions, **kw)
        M2 = M.copy()
        M2[10, 3] += 1e-9          # same colour levels everywhere: nothing to repaint
        hm.set_matrix(M2, cursor=(0, 5), numbers=False, cell_w=1)
        assert refreshed == []
        M2[10, 3] = -0.5 * scale      # one cell changes colour: only its line (rows 10-11 -> line 5)
        hm.set_matrix(M2, cursor=(0, 5), numbers=False, cell_w=1)
        assert [tuple((r.y, r.height) for r in regions) for regions in refreshed] == [((5, 1),)]


async def test_at_80x24_the_footer_shows_whole_keys_only():
    from tui.widgets.footer import FitFooter

    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause(0.5)
        footer = app.screen.query_one(FitFooter)
        await wait_for(pilot, lambda: any(not c.display for c in footer.children), "the footer fitting")
        palette = next(c for c in footer.children if c.has_class("-command-palette"))
        shown = [c for c in footer.children if c.display and c is not palette]
        assert shown and all(0 < c.region.width and c.region.right <= palette.region.x for c in shown)
        labels = [type(c).__name__ for c in footer.children if c.display]
        assert labels[-2] != "KeyGroup"   # a group's keys never show without their label


async def test_at_80x24_the_config_form_shows_apply_and_whole_hints():
    from tui.screens.config_form import ConfigForm

    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("c")
        await pilot.pause(0.5)
        form = app.screen
        assert isinstance(form, ConfigForm)
        apply = form.query_one("#form-apply")
        assert 0 < apply.region.width and apply.region.bottom <= 24
        hint = form.query_one("#hint-dataset")
        assert "csv:PATH" in text_of(hint).replace("\n", " ")   # wrapped, not cut with …


async def test_the_served_save_refusal_is_shown_whole_at_80x24(monkeypatch, tmp_path):
    from tui.screens.path_prompt import PathPrompt

    monkeypatch.setenv("NETSTEP_SERVED", "1")
    monkeypatch.setenv("NETSTEP_DATA_DIR", str(tmp_path))
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("ctrl+s")
        await pilot.pause()
        prompt = app.screen
        assert isinstance(prompt, PathPrompt)
        prompt.query_one("#prompt-input").value = "../elsewhere.npz"
        await pilot.press("enter")
        await pilot.pause()
        shown = text_of(prompt.query_one("#prompt-error")).replace("\n", " ")
        assert "type a plain name such as run.npz" in " ".join(shown.split())


async def test_the_lesson_outputs_panel_is_readable_at_80x24(tmp_path):
    from tui.lessons import load_all
    from tui.lessons.app import LessonApp
    from tui.store import ProgressStore

    store = ProgressStore(tmp_path / "progress.sqlite3", user="pilot")
    store.record("forward", 1, met=[0])
    found, _ = load_all()
    app = LessonApp("forward", lessons=found, errors=[], store=store)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: getattr(app.screen, "busy", True) is False, "the lesson step")
        await pilot.pause(0.3)
        panel = app.screen.query_one("#panel-outputs")
        await wait_for(pilot, lambda: "Z1 h1" in text_of(panel.body), "the outputs table")
        lines = text_of(panel.body).splitlines()
        # every hidden unit the step talks about, with the output and the target whole
        assert "Z1 h3" in lines[0] and lines[0].split()[-2:] in (["output", "target"], ["ŷ", "y"])
        assert "…" not in "\n".join(lines[:5])
        assert len(lines[0]) <= panel.body.size.width
    store.close()
