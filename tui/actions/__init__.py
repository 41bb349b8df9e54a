"""The trainer app's actions, by area (mixed into tui.app.NetstepApp)."""
