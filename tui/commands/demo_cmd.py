"""`netstep demo NAME`: a pathology demo run headless: the story, then broken vs fixed.

The runs and every number come from engine.scenarios; this module only lays them out.
"""

from __future__ import annotations

import shutil
import textwrap

from tui.commands.common import UserError, print_json


def add_parser(sub):
    from engine import scenarios

    d = sub.add_parser("demo", help="run a pathology demo headless: broken run, fixed run, explanation")
    d.add_argument("name", help=", ".join(scenarios.NAMES))
    d.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    d.set_defaults(handler=run)


def _table(result) -> list[str]:
    header, rows = result.table()
    roles = ["", *[r.role for r in result.runs]]
    widths = [max(len(str(row[i])) for row in [header, roles, *rows]) for i in range(len(header))]
    lines = []
    for row in (header, roles):
        lines.append("  ".join(str(c).ljust(w) if i == 0 else str(c).rjust(w)
                               for i, (c, w) in enumerate(zip(row, widths))).rstrip())
    lines.append("  ".join("-" * w for w in widths))
    for row in rows:
        lines.append("  ".join(str(c).ljust(w) if i == 0 else str(c).rjust(w)
                               for i, (c, w) in enumerate(zip(row, widths))).rstrip())
    return lines


def render(result, width=None) -> str:
    """The demo as text: title, the story with its measured numbers, the table and the runs."""
    width = width or min(100, max(60, shutil.get_terminal_size((100, 24)).columns))
    out = [f"netstep demo {result.name}: {result.title}", ""]
    for para in result.explanation.split("\n"):
        out.extend(textwrap.wrap(para, width=width))
        out.append("")
    out.extend(_table(result))
    out.append("")
    out.append("runs:")
    label_w = max(len(r.label) for r in result.runs)
    for r in result.runs:
        c = r.config
        line = f"  {r.label.ljust(label_w)}  {r.role:6s}  {c.describe()}, {c.epochs} epochs, seed {c.seed}"
        if c.clip is not None:
            line += f", clip {c.clip:g}"
        if r.setup:
            line += f"; {r.setup}"
        out.append(line)
    return "\n".join(out)


def run(args) -> int:
    from engine import scenarios

    name = args.name
    if name not in scenarios.SCENARIOS:
        raise UserError(f"unknown demo {name!r}; allowed: {', '.join(scenarios.NAMES)}")
    result = scenarios.run(name)
    if args.json:
        print_json(result.to_dict())
        return 0
    print(render(result))
    return 0
