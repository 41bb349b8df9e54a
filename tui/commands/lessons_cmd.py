"""`netstep lessons` (placeholder until its issue lands)."""

from tui.cli import UserError


def run(args) -> int:
    raise UserError("'lessons' is not available yet in this build")
