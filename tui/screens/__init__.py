"""The app's screens: the dashboard and its dialogs."""
