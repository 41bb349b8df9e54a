"""`netstep demo` (placeholder until its issue lands)."""

from tui.cli import UserError


def run(args) -> int:
    raise UserError("'demo' is not available yet in this build")
