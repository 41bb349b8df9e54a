"""`netstep class report --data DIR [--csv | --json]`: the class's progress, for grading.

Reads each student's folder under DIR (the folder `netstep serve` keeps) read-only;
no server needs to run. The table, the CSV and the JSON hold the same rows.

`netstep class links --authorized-keys FILE --url URL [--data DIR] [--revoke NAME]`: each
student's secret link for `netstep serve --web` (see tui/serve/web_links.py).
"""

from __future__ import annotations

import json
import sys


def add_parser(sub):
    from tui.commands.common import Parser

    c = sub.add_parser("class", help="the teacher's commands: the class's progress (report), browser links (links)")
    c.set_defaults(handler=run)
    csub = c.add_subparsers(dest="class_command", metavar="SUBCOMMAND", parser_class=Parser)
    r = csub.add_parser("report", help="every student's lesson progress, read from their folders")
    r.add_argument("--data", required=True, metavar="DIR",
                   help="the server's data folder (students' folders are DIR/users/<name>)")
    fmt = r.add_mutually_exclusive_group()
    fmt.add_argument("--csv", action="store_true", help="CSV on stdout: one header line, one line per student")
    fmt.add_argument("--json", action="store_true", help="one JSON list on stdout")
    _add_links_parser(csub)
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
        raise UserError("netstep class: give a subcommand: report or links (see netstep class --help)")
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


# -- links: the students' secret links for browser access (netstep serve --web)


def _add_links_parser(csub):
    lk = csub.add_parser("links", help="each student's secret link for the browser (netstep serve --web)")
    lk.add_argument("--authorized-keys", required=True, metavar="FILE",
                    help="the students' public keys, as given to netstep serve (the names come from it)")
    lk.add_argument("--url", required=True, metavar="URL",
                    help="the address students open, as the server is reached: http://HOST:PORT (PORT = --web)")
    lk.add_argument("--data", metavar="DIR", default=None,
                    help="the server's data folder (default: $NETSTEP_DATA_DIR, else ~/.local/share/netstep)")
    lk.add_argument("--revoke", metavar="NAME", action="append", default=[],
                    help="make NAME's link invalid now and print a new one (repeatable)")
    lk.set_defaults(handler=run_links)
    return lk


def _check_url(url: str) -> str:
    from urllib.parse import urlsplit

    from tui.commands.common import UserError

    try:
        parts = urlsplit(url)
        parts.port    # raises on a bad port
    except ValueError as e:
        raise UserError(f"--url {url!r} is not a URL ({e}); expected http://HOST:PORT") from None
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment \
            or parts.path not in ("", "/") or parts.username or parts.password:
        raise UserError(f"--url {url!r} must be http://HOST:PORT or https://HOST[:PORT] (no path, "
                        f"query or user), the address students' browsers reach the server at")
    return url.rstrip("/")


def run_links(args) -> int:
    from pathlib import Path

    from tui.commands.common import UserError
    from tui.datadir import data_root
    from tui.serve.identity import parse_authorized_keys
    from tui.serve.web_links import LinkError, issue, link, revoke

    url = _check_url(args.url)
    try:
        text = Path(args.authorized_keys).read_text(encoding="utf-8", errors="replace")
    except OSError as e:
        raise UserError(f"cannot read --authorized-keys {args.authorized_keys}: {e.strerror or e}") from None
    problems: list[str] = []
    names = [entry.name for entry in parse_authorized_keys(text, args.authorized_keys, problems).values()]
    for problem in problems:
        print(f"netstep: warning: {problem}", file=sys.stderr)
    if not names:
        raise UserError(f"{args.authorized_keys} holds no public keys (one 'ssh-ed25519 AAAA... name' per line)")
    root = Path(args.data).expanduser() if args.data else data_root()
    unknown = [n for n in args.revoke if n not in names]
    if unknown:
        shown = ", ".join(names[:8]) + (", ..." if len(names) > 8 else "")
        raise UserError(f"--revoke {unknown[0]}: no student of that name in {args.authorized_keys} "
                        f"(names: {shown})")
    try:
        for name in args.revoke:
            revoke(root, name)
            print(f"netstep: revoked {name}'s link; the new one is below", file=sys.stderr)
        secrets = issue(root, names)
    except LinkError as e:
        raise UserError(str(e)) from None
    for name in names:
        sys.stdout.write(f"{name}\t{link(url, secrets[name])}\n")
    return 0
