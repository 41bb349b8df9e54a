"""One run controller for the dashboard, the operation view and the lessons (no Textual here)."""

from tui.run.controller import CHUNK_SECONDS, EVAL_INTERVAL, SPEEDS, TICK_HZ, RunController
from tui.run.rate import RateMeter
from tui.run.snapshot import LayerFacts, LessonSnapshot, RunFacts, Snapshot, facts_of
from tui.run.view import View

__all__ = ["CHUNK_SECONDS", "EVAL_INTERVAL", "SPEEDS", "TICK_HZ", "LayerFacts", "LessonSnapshot", "RateMeter",
           "RunController", "RunFacts", "Snapshot", "View", "facts_of"]
