"""How every session child starts, over SSH (server.py) or in a browser (web.py): one
environment and one launcher spec, so a setting added for one kind of session (a limit, the
nice level, the sandbox, an environment variable) cannot miss the other.

The child is `python -I -S session_child.py SPEC ARGV...`: SPEC (JSON) carries the rlimits, the
nice level and the Landlock rules that session_child.py applies before it execs the app.
"""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path

from tui.serve.sandbox import session_rules

LAUNCHER = Path(__file__).with_name("session_child.py")

_ENV_VALUE_OK = re.compile(r"[A-Za-z0-9._@:/+ -]{0,128}")
_CLIENT_ENV = ("LANG", "LC_ALL", "LC_CTYPE", "LC_MESSAGES", "COLORTERM", "TZ")
_SERVER_ENV = ("PATH", "VIRTUAL_ENV", "TZ")   # never PYTHONPATH: it may name the server's folder


def child_env(config, identity, term: str, client_env: dict | None = None) -> dict[str, str]:
    """The child's whole environment: the server's few, the client's locale (checked), the
    student's folders, and the per-session thread and memory settings."""
    env = {k: os.environ[k] for k in _SERVER_ENV if k in os.environ}
    env.setdefault("PATH", os.defpath)
    for k in _CLIENT_ENV:
        v = (client_env or {}).get(k)
        if isinstance(v, bytes):
            v = v.decode("utf-8", "replace")
        if isinstance(v, str) and _ENV_VALUE_OK.fullmatch(v):
            env[k] = v
    env.setdefault("LANG", "C.UTF-8")
    roots = package_roots()
    if roots:
        env["PYTHONPATH"] = os.pathsep.join(roots)
    env.update({
        "TERM": term,
        "HOME": str(identity.folder),
        "TMPDIR": str(identity.folder / ".tmp"),
        "PYTHONDONTWRITEBYTECODE": "1",
        # Nothing from the student's folder is imported: not the working directory (-P),
        # not ~/.local (-s), whichever Python the app starts.
        "PYTHONSAFEPATH": "1",
        "PYTHONNOUSERSITE": "1",
        "NETSTEP_DATA_DIR": str(identity.folder),
        "NETSTEP_CONFINE_DIR": str(identity.folder),
        "NETSTEP_USER": identity.name,
        "NETSTEP_SERVED": "1",
        # One BLAS thread and few malloc arenas per child: 16 students on 2 cores share
        # better single-threaded, and the address-space limit is not eaten by arenas.
        "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
        "MALLOC_ARENA_MAX": "2",
    })
    budget = config.engine_budget_bytes()
    if budget:
        env["NETSTEP_MEMORY_BUDGET"] = str(budget)
    (identity.folder / ".tmp").mkdir(mode=0o700, exist_ok=True)
    return env


def launch_spec(config, rules, folder, tty: str | None, reads=()) -> dict:
    """What session_child.py applies: limits, nice, and (when sandboxed) the shared rules plus
    the student's folder and, on SSH, its pty; `tty` None is a browser session's pipes."""
    spec = {"parent": os.getpid(), "limits": config.rlimits(), "nice": config.nice}
    if tty is None:
        spec["tty"] = False
    if rules is not None:
        spec["sandbox"] = session_rules(rules, str(folder), tty) + list(reads)
    return spec


def launch_argv(spec: dict, command: list[str], extra=()) -> list[str]:
    return [sys.executable, "-I", "-S", str(LAUNCHER), json.dumps(spec), *command, *extra]


def package_roots() -> list[str]:
    """Folders on the server's import path that hold netstep's packages (a source checkout run
    with PYTHONPATH or from its folder); an installed netstep needs none."""
    import importlib.util

    roots = []
    for package in ("tui", "engine"):
        spec = importlib.util.find_spec(package)
        for location in (spec.submodule_search_locations or []) if spec else []:
            root = os.path.dirname(os.path.realpath(location))
            if root in {os.path.realpath(p) for p in sys.path if p} and root not in roots:
                roots.append(root)
    return roots
