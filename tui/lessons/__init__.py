"""Guided lessons: lesson files (TOML data in this package), their loader, the check
vocabulary and a headless session that drives the engine for each step.

Nothing imported here touches Textual; the lesson screens live in tui/screens/lesson*.py.
"""

from .loader import KEYS, PANELS, Lesson, LessonError, Step, load_all, load_file, parse

__all__ = ["KEYS", "PANELS", "Lesson", "LessonError", "Step", "load_all", "load_file", "parse"]
