"""`netstep` with no command: the trainer app (the TUI issue replaces this)."""

from __future__ import annotations

import sys

from tui.cli import build_trainer, run_config


def run(args) -> int:
    trainer = build_trainer(run_config(args))
    print(f"netstep: the trainer app is coming; meanwhile try `netstep train` ({trainer.config.describe()})",
          file=sys.stderr)
    return 0
