"""The compare screen\x27s widgets: the race\x27s loss curves, its table, one boundary per variant."""
