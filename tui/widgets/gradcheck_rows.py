"""What a gradient-check report says per parameter, read the same way by every view
(the `g` dialog and the lesson panel).

A parameter whose every probed entry sat on a kink was not checked at all: its error
is None and it is shown as "not checked" with its kink count, never as "ok" with an
error of 0. Today's engine reports such a parameter with error 0.0 and every probed
index in report.kinks; a report that already says None is read as it is.
"""

from __future__ import annotations

from tui import fmt

COURSE_THRESHOLD = 1e-5


class ParamRow:
    __slots__ = ("name", "error", "probed", "total", "kinks", "_threshold")

    def __init__(self, name, error, probed, total, kinks, threshold):
        self.name, self.error, self.probed, self.total, self.kinks = name, error, probed, total, kinks
        self._threshold = threshold

    @property
    def checked(self) -> int:
        """Entries actually compared (probed, less those on a kink)."""
        return max(0, self.probed - self.kinks)

    @property
    def status(self) -> str:
        """'not checked', 'ok' or 'wrong'."""
        if self.error is None:
            return "not checked"
        return "ok" if self.error < self._threshold else "wrong"


def _kink_count(report, name) -> int:
    for attr in ("kink_counts", "kinks"):
        k = getattr(report, attr, None)
        if isinstance(k, dict) and name in k:
            v = k[name]
            return v if isinstance(v, int) else len(v)
    return 0


def rows(report) -> list[ParamRow]:
    out = []
    for name, err in report.errors.items():
        probed, total = getattr(report, "sampled", {}).get(name, (0, 0))
        kinks = _kink_count(report, name)
        if err is not None and probed and kinks >= probed:
            err = None   # nothing was compared: "0 error" would be a claim the check never made
        out.append(ParamRow(name, err, probed, total, kinks, report.threshold))
    return out


def verdict(report, param_rows) -> tuple[str, str]:
    """(word, style) for the whole check, counting only what was checked."""
    checked = [r for r in param_rows if r.error is not None]
    if not checked:
        return "NOT CHECKED", "bold yellow"
    ok = all(r.error < report.threshold for r in checked)
    return ("PASSED", "bold green") if ok else ("FAILED", "bold red")


def skipped_note(param_rows) -> str:
    """'b1 not checked: every entry sits on a ReLU kink (3)' or ''."""
    skipped = [r for r in param_rows if r.error is None]
    if not skipped:
        return ""
    names = ", ".join(f"{r.name} ({r.kinks} kink{'s' if r.kinks != 1 else ''})" for r in skipped)
    return f"not checked, every entry on a ReLU kink: {names}"


def threshold_note(threshold) -> str:
    """Why the threshold is what it is, against the course's 1e-5."""
    if threshold == COURSE_THRESHOLD:
        return f"threshold {fmt.num(threshold)}, as in the course"
    return (f"threshold {fmt.num(threshold)}, stricter than the course's 1e-5: these differences are "
            f"fourth-order in float64, about 1e-10 accurate, so a right backward pass lands far below it")
