"""`netstep class report --data DIR [--csv | --json]`: the class's progress, for grading.

Reads each student's folder under DIR (the folder `netstep serve` keeps) read-only;
no server needs to run. The table, the CSV and the JSON hold the same rows.
"""

from __future__ import annotations

import json
import sys


def add_parser(sub):
    from tui.commands.common import Parser

    c = sub.add_parser("class", help="the teacher's commands: the class's progress (report)")
    c.set_defaults(handler=run)
    csub = c.add_subparsers(dest="class_command", metavar="SUBCOMMAND", parser_class=Parser)
    r = csub.add_parser("report", help="every student's lesson progress, read from their folders")
    r.add_argument("--data", required=True, metavar="DIR",
                   help="the server's data folder (students' folders are DIR/users/<name>)")
    fmt = r.add_mutually_exclusive_group()
    fmt.add_argument("--csv", action="store_true", help="CSV on stdout: one header line, one line per student")
    fmt.add_argument("--json", action="store_true", help="one JSON list on stdout")
    return c


def _steps_of_lessons() -> dict:
    try:
        from tui.lessons import load_all
    except ImportError:
        return {}
    lessons, _ = load_all()
    return {lesson.id: len(lesson.steps) for lesson in lessons}


def run(args) -> int:
    from tui.commands.common import UserError
    from tui.classroom.report import report, to_csv, to_table

    if getattr(args, "class_command", None) != "report":
        raise UserError("netstep class: give a subcommand: report (see netstep class --help)")
    try:
        rows = report(args.data, _steps_of_lessons())
    except (FileNotFoundError, NotADirectoryError, PermissionError) as e:
        raise UserError(str(e) if isinstance(e, FileNotFoundError) else f"cannot read {args.data}: {e.strerror}") from None
    if args.json:
        json.dump([r.to_dict() for r in rows], sys.stdout, indent=2)
        sys.stdout.write("\n")
    elif args.csv:
        sys.stdout.write(to_csv(rows))
    else:
        sys.stdout.write(to_table(rows))
    return 0
