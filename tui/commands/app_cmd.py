"""`netstep` with no command (and `python -m tui`): the trainer app on the given run.

Two ways in. A run named by a preset alone (`netstep`, `netstep --preset NAME`) has
nothing the user could have mistyped but the name, checked here against PRESETS: the
app opens at once on the dashboard's frame and builds the run in a worker after the
first frame (the engine and NumPy cost ~0.35 s to import, more than the rest of the
start). Any other run flag is checked first, as before: a bad value is one line and
exit 2 before any screen, so those runs are built before Textual is imported.
"""

from __future__ import annotations

import sys

from tui.commands.common import EXIT_USAGE, Parser, add_run_options, build_trainer, run_config

# engine.presets' names (tests/tui/test_first_frame.py checks they agree). A name not
# here takes the checked path, so a new preset is only slower to open, never wrong.
PRESETS = ("seed", "default", "circles", "moons", "spiral", "digits")


def quick_preset(argv) -> str | None:
    """The preset the arguments name when they name nothing else (then the run is built
    after the first frame), or None."""
    if not argv:
        return "default"
    if len(argv) == 2 and argv[0] == "--preset":
        name = argv[1]
    elif len(argv) == 1 and argv[0].startswith("--preset="):
        name = argv[0].split("=", 1)[1]
    else:
        return None
    return name if name in PRESETS else None


def run_quick(argv) -> int:
    """The app on the dashboard's frame at once; the run is built in its worker."""
    from tui.app import NetstepApp

    def build():
        # The same parsing and checks as the other path, so both build the same run.
        p = Parser(prog="netstep")
        add_run_options(p)
        args = p.parse_args(argv)
        return build_trainer(run_config(args))

    app = NetstepApp(build=build, preset=quick_preset(argv))
    app.run()
    if app.build_error is not None:   # such as digits whose bundled data is unreadable
        message = str(app.build_error)
        print(message if message.startswith("netstep") else f"netstep: {message}", file=sys.stderr)
        return EXIT_USAGE
    return app.return_code or 0


def run(args) -> int:
    # The run is built before Textual is imported: a bad flag exits 2 with one line, fast.
    trainer = build_trainer(run_config(args))
    from tui.commands.share_cmd import advance
    advance(trainer, args)  # a --state string's step count: open the run where it stood
    from tui.app import NetstepApp

    NetstepApp(trainer).run()  # L opens the lessons inside the app, over the run
    return 0

