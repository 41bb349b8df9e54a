"""One notification per topic: a new message on the same topic replaces the old toast
instead of stacking under it (pressing + five times past the cap shows one message)."""

from __future__ import annotations

from textual.notifications import Notification, Notify


def notify_once(app, topic: str, message: str, *, title: str = "", severity="information", timeout=None) -> None:
    shown = app.__dict__.setdefault("_notify_topics", {})
    old = shown.get(topic)
    if old is not None and old in app._notifications:
        app._unnotify(old, refresh=False)
    note = Notification(message, title, severity, app.NOTIFICATION_TIMEOUT if timeout is None else timeout)
    shown[topic] = note
    app.post_message(Notify(note))
