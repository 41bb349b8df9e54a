"""The `g` gradient check view: every entry for small networks, sampled entries per parameter for large ones."""

from __future__ import annotations

import engine
from tests.tui.app_helpers import make_app, text_of, wait_for
from tui import fmt
from tui.screens.gradcheck import MAX_EXAMPLES, GradcheckScreen

SIZE = (120, 40)


async def open_check(pilot, app):
    await pilot.press("g")
    await pilot.pause()
    screen = app.screen
    assert isinstance(screen, GradcheckScreen)
    await wait_for(pilot, lambda: screen.report is not None, "the gradient check")
    await pilot.pause()
    return screen


def rows(table):
    return [[cell for cell in table.get_row_at(i)] for i in range(table.row_count)]


async def test_small_network_lists_every_entry_with_the_engines_numbers():
    app = make_app("seed")
    async with app.run_test(size=SIZE) as pilot:
        t = app.state.trainer
        expected = engine.gradcheck(t.net, t.X[:MAX_EXAMPLES], t.Y[:MAX_EXAMPLES], t.loss, l2=t.l2)
        screen = await open_check(pilot, app)
        assert screen.every_entry
        table = screen.query_one("#gc-entries")
        shown = rows(table)
        assert len(shown) == t.net.n_params == len(expected.entries) == 13
        for row, e in zip(shown, expected.entries):
            assert str(row[0]) == f"{e.param}[{','.join(map(str, e.index))}]"
            # the UI's one formatter (tui.fmt), 7 significant digits; f shows every digit
            assert str(row[1]) == fmt.num(e.analytic, sig=7) and str(row[2]) == fmt.num(e.numeric, sig=7)
            assert str(row[3]) == fmt.num(e.error, sig=3)
            result = row[4]
            if e.kink:
                assert str(result) == "kink" and "yellow" in str(result.style)
            elif e.error < expected.threshold:
                assert str(result) == "pass" and "green" in str(result.style)
            else:
                assert str(result) == "FAIL" and "red" in str(result.style)
        # The seed run has a dead hidden unit: its bias probes cross the ReLU kink and are flagged.
        assert any(e.kink for e in expected.entries)
        assert any(str(r[4]) == "kink" for r in shown)
        assert "Every entry of every parameter (13)" in text_of(screen.query_one("#gc-summary"))
        await pilot.press("f")  # every digit
        await pilot.pause()
        for row, e in zip(rows(table), expected.entries):
            assert str(row[1]) == repr(e.analytic) and str(row[2]) == repr(e.numeric)
            assert str(row[3]) == repr(float(e.error))


async def test_large_network_shows_the_sampled_entries_of_the_chosen_parameter():
    app = make_app(dataset="spiral", sizes=[2, 32, 32, 3], output="softmax", loss="cross_entropy")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_check(pilot, app)
        report = screen.report
        assert not screen.every_entry
        assert report.sampled["W2"] == (200, 1024)
        summary = screen.query_one("#gc-table")
        assert [str(r[2]) for r in rows(summary)][2] == "200/1024"
        entries = screen.query_one("#gc-entries")
        assert {str(r[0]).split("[")[0] for r in rows(entries)} == {"W1"}
        assert entries.row_count == 64
        await pilot.press("down", "down")  # W2
        await pilot.pause()
        shown = rows(entries)
        assert len(shown) == 200 and {str(r[0]).split("[")[0] for r in shown} == {"W2"}
        checked = {f"W2[{i},{j}]" for (i, j) in (e.index for e in report.entries if e.param == "W2")}
        assert {str(r[0]) for r in shown} == checked
        errors = [float(str(r[3])) for r in shown if str(r[4]) != "kink"]
        assert errors == sorted(errors, reverse=True)  # worst first
        assert "W2: 200 of 1024 entries (a seeded sample)" in text_of(screen.query_one("#gc-summary"))


async def test_a_parameter_whose_every_entry_is_a_kink_is_not_checked_never_ok():
    # The seed run: all three entries of b1 sit on ReLU kinks; the engine compares none of them.
    app = make_app("seed")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_check(pilot, app)
        report = screen.report
        assert len(report.kinks["b1"]) == report.sampled["b1"][0] == 3
        table = {str(r[0]): r for r in rows(screen.query_one("#gc-table"))}
        b1 = table["b1"]
        assert [str(c) for c in b1[2:6]] == ["0/3", "—", "3", "not checked"]
        assert "yellow" in str(b1[5].style)
        assert str(table["W1"][5]) == "pass"
        summary = text_of(screen.query_one("#gc-summary"))
        assert "every entry on a ReLU kink: b1 (3 kinks)" in summary
        assert "course's 1e-5" in summary     # why the threshold is not the course's


import pytest  # noqa: E402


@pytest.mark.parametrize("width", [100, 40])   # 40: the lesson screen's panel column at 80x24
async def test_the_lesson_panel_shows_not_checked_with_the_kink_count(width):
    from textual.app import App

    from tui.lessons.widgets.gradcheck_panel import GradcheckPanel

    t = engine.build(engine.presets["seed"])
    report = engine.gradcheck(t.net, t.X, t.Y, t.loss)

    class Snap:
        gradcheck = report
        backward = "engine"

    class Host(App):
        def compose(self):
            yield GradcheckPanel(id="gc")

    app = Host()
    async with app.run_test(size=(width, 30)) as pilot:
        panel = app.query_one("#gc", GradcheckPanel)
        panel.draw(Snap())
        await pilot.pause()
        text = text_of(panel.body)
    b1 = next(line for line in text.splitlines() if line.startswith("b1 "))
    assert "not checked" in b1 and "0/3" in b1 and " ok" not in b1 and "0.00" not in b1
    flat = " ".join(text.split())
    assert "every entry on a ReLU kink: b1 (3 kinks)" in flat
    assert "course's 1e-5" in flat
    assert "…" not in text                      # no number is cut, whatever the width
    assert panel.border_subtitle == "passed"
