"""`netstep` with no command (and `python -m tui`): the trainer app on the given run."""

from __future__ import annotations

from tui.commands.common import build_trainer, run_config


def run(args) -> int:
    # The run is built before Textual is imported: a bad flag exits 2 with one line, fast.
    trainer = build_trainer(run_config(args))
    from tui.commands.share_cmd import advance
    advance(trainer, args)  # a --state string's step count: open the run where it stood
    from tui.app import NetstepApp

    NetstepApp(trainer).run()  # L opens the lessons inside the app, over the run
    return 0
