"""The app's widgets, grouped by area; one widget per module."""
