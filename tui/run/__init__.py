"""One run controller for the dashboard, the operation view and the lessons (no Textual here).

The names below are imported on first use (PEP 562): `from tui.run.view import View`
must not import the controller, the engine and NumPy, which the app's first frame
does not wait for (tui/app.py builds the run after it).
"""

import importlib

_WHERE = {
    "CHUNK_SECONDS": "controller", "EVAL_INTERVAL": "controller", "SPEEDS": "controller", "TICK_HZ": "controller",
    "RunController": "controller", "RateMeter": "rate", "LayerFacts": "snapshot", "LessonSnapshot": "snapshot",
    "RunFacts": "snapshot", "Snapshot": "snapshot", "facts_of": "snapshot", "View": "view",
}

__all__ = ["CHUNK_SECONDS", "EVAL_INTERVAL", "SPEEDS", "TICK_HZ", "LayerFacts", "LessonSnapshot", "RateMeter",
           "RunController", "RunFacts", "Snapshot", "View", "facts_of"]


def __getattr__(name):
    where = _WHERE.get(name)
    if where is None:
        raise AttributeError(f"module 'tui.run' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"tui.run.{where}"), name)
    globals()[name] = value   # the next read is a plain lookup
    return value
