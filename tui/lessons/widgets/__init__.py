"""Panels only lessons show (one per module). They draw the same snapshots as the
dashboard's panels, with the lesson-only fields of a LessonSnapshot (tui/run/snapshot.py)."""
