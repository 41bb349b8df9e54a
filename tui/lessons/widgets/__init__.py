"""Panels only lessons show (one per module). They draw the same snapshots as the
dashboard's panels, with the lesson-only fields LessonLive adds."""
