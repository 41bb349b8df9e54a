"""`netstep lessons [--json | --check]` and `netstep lesson [ID]`.

- `lessons`: one line per lesson: id, title, your progress.
- `lessons --json`: one JSON document, a list of {"id", "title", "steps", ...}.
- `lessons --check`: every lesson run headless from its first step to its last, pressing
  each step's keys until its check holds; exit 0 only when every check was met.
- `lesson ID`: the app, inside that lesson (no ID: the lesson list). Unknown ID: exit 2.

A lesson file that fails validation is skipped with one line on stderr (and fails --check).
"""

from __future__ import annotations

import sys

from tui.commands.common import UserError, print_json


def add_parser(sub):
    ls = sub.add_parser("lessons", help="list the lessons with your progress")
    ls.add_argument("--json", action="store_true", help="print the lessons as JSON")
    ls.add_argument("--check", action="store_true",
                    help="run every lesson to its end, headless and through its screen at 120x40 and 80x24")
    ls.add_argument("--no-screens", dest="screens", action="store_false",
                    help="with --check: skip the on-screen part (every panel a step needs is visible)")
    ls.set_defaults(handler=run)
    le = sub.add_parser("lesson", help="open the app in a lesson")
    le.add_argument("id", nargs="?", help="lesson id (see `netstep lessons`); without one, the lesson list")
    le.set_defaults(handler=run)


def _load():
    from tui.lessons import load_all

    lessons, errors = load_all()
    for message in errors:
        print(f"netstep: {message}", file=sys.stderr)
    return lessons, errors


def _progress():
    from tui.store import open_store

    store, problem = open_store()
    if problem:
        print(f"netstep: {problem}", file=sys.stderr)
    try:
        return store.all()
    finally:
        store.close()


def run(args) -> int:
    if args.command == "lesson":
        return _open(args)
    if args.check:
        return _check(args)
    lessons, _ = _load()
    progress = _progress()
    if args.json:
        out = []
        for lesson in lessons:
            p = progress.get(lesson.id)
            out.append({"id": lesson.id, "title": lesson.title, "steps": len(lesson.steps), "summary": lesson.summary,
                        "progress": None if p is None else {"step": p.step + 1, "reached": p.reached + 1,
                                                            "done": p.done, "checks_met": len(p.checks)}})
        print_json(out, indent=2)
        return 0
    width = max([len(l.id) for l in lessons] + [2])
    title_width = max([len(l.title) for l in lessons] + [5])
    print(f"{'ID':<{width}}  {'TITLE':<{title_width}}  PROGRESS")
    for lesson in lessons:
        p = progress.get(lesson.id)
        label = "not started" if p is None else p.label(len(lesson.steps))
        print(f"{lesson.id:<{width}}  {lesson.title:<{title_width}}  {label}")
    if sys.stdout.isatty():
        print(f"\nOpen one with `netstep lesson ID`, e.g. `netstep lesson {lessons[0].id if lessons else 'xor'}`.")
    return 0


def _check(args) -> int:
    from tui.lessons.session import check_lesson

    lessons, errors = _load()
    results = []
    for lesson in lessons:
        r = check_lesson(lesson)
        results.append(r)
        if not args.json:
            if r["ok"]:
                trained = sum(s["training_steps"] for s in r["steps"])
                n = len(r["steps"])
                print(f"ok    {lesson.id:<16} {n} step{'s' if n != 1 else ''} met, {trained} training steps, "
                      f"{r['seconds']:.2f} s")
            else:
                print(f"FAIL  {lesson.id:<16} {_failure(r)}")
            sys.stdout.flush()
    if getattr(args, "screens", True):
        _check_screens(lessons, results, args.json)
    ok = not errors and all(r["ok"] for r in results) and bool(results)
    if args.json:
        print_json({"ok": ok, "lessons": results, "skipped": errors}, indent=2)
    else:
        failed = sum(not r["ok"] for r in results) + len(errors)
        print(f"{len(results) - sum(not r['ok'] for r in results)} of {len(results) + len(errors)} lessons pass"
              + (f"; {failed} failed" if failed else ""))
    return 0 if ok else 1


def _check_screens(lessons, results, quiet) -> None:
    """Every lesson whose headless run passed, through the real screen at each size: the
    panels each step shows or names must be on screen (tui/lessons/verify.py)."""
    from tui.lessons.verify import SIZES, check_screens_of

    for lesson, r in zip(lessons, results):
        if not r["ok"]:
            continue
        problems = check_screens_of(lesson, SIZES)
        r["screens"] = problems
        if problems:
            r["ok"] = False
            r["error"] = f"on screen: {problems[0]}" + (f" (and {len(problems) - 1} more)" if len(problems) > 1 else "")
        if not quiet:
            sizes = " and ".join(f"{w}x{h}" for w, h in SIZES)
            print(f"{'ok' if not problems else 'FAIL':<5} {lesson.id:<16} on screen at {sizes}"
                  + ("" if not problems else f": {r['error']}"))
            sys.stdout.flush()


def _failure(result) -> str:
    if result["error"]:
        return result["error"]
    step = result["steps"][-1]
    where = f"step {step['step']} ({step['title']!r})"
    unmet = "; ".join(c["detail"] for c in step["conditions"] if not c["ok"])
    if unmet:
        return f"{where} never met its check after {step['training_steps']} training steps: {unmet}"
    false = "; ".join(c["detail"] for c in step.get("claims", []) if not c["ok"])
    if false:
        return f"{where}: the text claims something the run does not show: {false}"
    return f"{where}: the text's placeholders cannot be filled from the run: {', '.join(step.get('unfilled', []))}"


def _open(args) -> int:
    lessons, errors = _load()
    ids = [l.id for l in lessons]
    lesson_id = getattr(args, "id", None)
    if lesson_id is not None and lesson_id not in ids:
        raise UserError(f"unknown lesson {lesson_id!r}; allowed: {', '.join(ids)}")
    from tui.lessons.app import run_app

    return run_app(lesson_id, lessons, errors)
