"""A module imported on first use, for names the app's first frame does not need.

`engine = lazy("engine")` at the top of a UI module keeps `engine.NetstepError`,
`engine.io.save(...)` and the like working in its methods, while importing the module
(and with it the engine and NumPy, ~0.35 s) waits until one of them first runs:
the dashboard is painted before that (tui/app.py builds the run in a worker).
"""

from __future__ import annotations

import importlib


class LazyModule:
    """Stands for a module; the first attribute read imports it (then every read is one getattr)."""

    __slots__ = ("_name",)

    def __init__(self, name: str):
        self._name = name

    def __getattr__(self, attr):
        return getattr(importlib.import_module(self._name), attr)

    def __repr__(self) -> str:
        return f"<lazy module {self._name!r}>"


def lazy(name: str) -> LazyModule:
    return LazyModule(name)
