"""`netstep` with no command (and `python -m tui`): the trainer app on the given run."""

from __future__ import annotations

from tui.commands.common import build_trainer, run_config


def run(args) -> int:
    # The run is built before Textual is imported: a bad flag exits 2 with one line, fast.
    trainer = build_trainer(run_config(args))
    from tui.commands.share_cmd import advance
    advance(trainer, args)  # a --state string's step count: open the run where it stood
    from tui.app import OPEN_LESSONS, NetstepApp

    if NetstepApp(trainer).run() == OPEN_LESSONS:
        from tui.lessons.app import run_app

        return run_app()
    return 0
