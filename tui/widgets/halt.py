"""One short line for a run the overflow guard stopped, the same in every panel."""

from __future__ import annotations


def halt_line(halted) -> str:
    """'stopped at step 121: the loss overflowed; u rewinds' from the guard's record."""
    return f"stopped at step {halted.step}: {halt_reason(halted)}"


def halt_reason(halted) -> str:
    """'the loss overflowed; u rewinds': what the guard saw, and the way out."""
    q = getattr(halted, "quantity", "") or ""
    what = {"L": "the loss", "gradient norm": "|grad|"}.get(q, q or "a value")
    kind = str(getattr(halted, "kind", "") or "")
    how = "overflowed" if kind.startswith("inf") else f"became {kind}" if kind else "overflowed"
    return f"{what} {how}; u rewinds"
