"""The `g` gradient check view: every entry for small networks, sampled entries per parameter for large ones."""

from __future__ import annotations

import engine
from tests.tui.app_helpers import make_app, text_of, wait_for
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
            assert str(row[1]) == f"{e.analytic:.6e}" and str(row[2]) == f"{e.numeric:.6e}"
            assert str(row[3]) == f"{e.error:.2e}"
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
