"""Moved: the run controller lives in tui/run/ (controller.py, snapshot.py, view.py).

These names stay importable for code written against the old module."""

from tui.run import RateMeter, RunController, Snapshot, View  # noqa: F401
from tui.run.controller import CHUNK_SECONDS, EDIT_ROWS, EVAL_INTERVAL, MAX_EDIT, SPEEDS  # noqa: F401

RunState = RunController
