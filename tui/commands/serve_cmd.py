"""`netstep serve` (placeholder until its issue lands)."""

from tui.cli import UserError


def run(args) -> int:
    raise UserError("'serve' is not available yet in this build")
