"""A served student's app and its class: where it is (published), what the teacher says (shown).

`attach(app)` is called by the trainer app and the lessons app when they mount; outside
`netstep serve` (no NETSTEP_STATUS_FD) it does nothing. Served, it publishes once a second,
only when something changed, the lesson and step on screen, whether the step's check holds,
the steps trained and whether it is playing; and it shows what the server says: "watched by
<teacher>" on the status line (and a notice), what the teacher sent (press O to open it; the
run on screen is not touched until then), and when the server is busy, a playing run draws
less often (each keypress is still answered at once).
"""

from __future__ import annotations

import os
import threading

from tui.serve.channel import ChildEnd

PUBLISH_EVERY = 1.0
BUSY_SLOWDOWN = 3.0     # a playing session's panels draw 3x less often while the server is busy
BACKGROUND_NICE = 19    # the training threads of a served app: any keypress anywhere comes first


def _lesson_screen(app):
    from tui.screens.lesson import LessonScreen

    for screen in reversed(app.screen_stack):
        if isinstance(screen, LessonScreen):
            return screen
    return None


def status_of(app) -> dict:
    """Where this app is now, as the class view shows it."""
    screen = _lesson_screen(app)
    if screen is not None:
        session = screen.session
        snap = screen.latest_snapshot()
        verdicts = getattr(snap, "verdicts", ()) or ()
        controller = screen.controller
        trainer = getattr(controller, "trainer", None)
        return {"kind": "status", "screen": "lesson", "lesson": screen.lesson.id, "title": screen.lesson.title,
                "step": session.index + 1, "steps": len(screen.lesson.steps),
                "check": all(v.ok for _, v in verdicts) if verdicts else None,
                "trained": getattr(trainer, "step_count", None), "playing": bool(screen.playing)}
    state = getattr(app, "state", None)
    snap = getattr(state, "latest", None)
    return {"kind": "status", "screen": "dashboard", "lesson": None, "title": None, "step": None, "steps": None,
            "check": None, "trained": getattr(snap, "step", None),
            "playing": bool(state is not None and (state.playing or state.worker_active))}


def background_priority(done: set) -> int:
    """Lower the priority of this app's worker threads (the training loop runs in one) to
    BACKGROUND_NICE: an idle machine still gives them every free cycle, a busy one serves
    the threads answering keys first (the event loop, Textual's input and output threads),
    in this session and in every other. Linux nice is per thread. Returns threads changed."""
    changed = 0
    for thread in threading.enumerate():
        tid = thread.native_id
        if not thread.name.startswith("asyncio_") or tid is None or tid in done:
            continue
        try:
            os.setpriority(os.PRIO_PROCESS, tid, max(os.getpriority(os.PRIO_PROCESS, tid), BACKGROUND_NICE))
        except OSError:
            pass
        done.add(tid)
        changed += 1
    return changed


class Link:
    def __init__(self, app, end: ChildEnd):
        self.app = app
        self.end = end
        self.sent: dict | None = None
        self.busy = False
        self.watched_by: list = []
        self.typing: list = []
        self._published = None
        self._reniced: set = set()

    def start(self) -> None:
        self.app.set_interval(PUBLISH_EVERY, self.publish)
        self.end.listen(lambda message: self.app.call_from_thread(self.receive, message))
        self.publish()

    def publish(self) -> None:
        try:
            status = status_of(self.app)
        except Exception:   # a screen half built: next second
            return
        if status != self._published and self.end.send(status):
            self._published = status
        if status.get("playing"):
            background_priority(self._reniced)
        if self.busy and status.get("playing"):
            for host in (self.app, _lesson_screen(self.app)):
                if host is not None and hasattr(host, "slowdown"):
                    host.slowdown = max(host.slowdown, BUSY_SLOWDOWN)

    def receive(self, message: dict) -> None:
        kind = message.get("kind")
        if kind == "watched":
            was = bool(self.watched_by)
            self.watched_by = [str(n) for n in message.get("by") or []]
            self.typing = [str(n) for n in message.get("typing") or []]
            self.app.classroom_notice = self.notice()
            self._redraw_status()
            if self.typing:
                self.app.notify(f"{', '.join(self.typing)} is typing on your screen", title="Your teacher",
                                timeout=6)
            elif self.watched_by and not was:
                self.app.notify(f"{', '.join(self.watched_by)} is watching your screen", title="Your teacher",
                                timeout=6)
            elif was and not self.watched_by:
                self.app.notify("no longer watched", timeout=3)
        elif kind == "sent":
            what = message.get("lesson") or message.get("preset")
            if not isinstance(what, str):
                return
            self.sent = {k: message[k] for k in ("lesson", "preset", "by") if k in message}
            thing = f"lesson {what}" if message.get("lesson") else f"the run {what}"
            self.app.notify(f"{message.get('by', 'Your teacher')} sent {thing}: press O to open it",
                            title="From your teacher", timeout=30)
        elif kind == "load":
            self.busy = bool(message.get("busy"))
        elif kind == "repaint":   # a teacher starts watching and the server's copy is stale
            self.app.screen.refresh()

    def notice(self) -> str:
        if self.typing:
            return f"{', '.join(self.typing)} is typing"
        if self.watched_by:
            return f"watched by {', '.join(self.watched_by)}"
        return ""

    def _redraw_status(self) -> None:
        for screen in self.app.screen_stack:
            for bar in screen.query("StatusBar"):
                bar.redraw()

    async def open_sent(self) -> None:
        sent = self.sent
        app = self.app
        if sent is None:
            app.notify("Nothing has been sent by your teacher yet.", timeout=3)
            return
        if sent.get("lesson"):
            await _open_lesson(app, sent["lesson"])
        else:
            await _open_preset(app, sent["preset"])


async def _open_lesson(app, lesson_id: str) -> None:
    from tui.lessons import load_all
    from tui.screens.lesson import LessonScreen
    from tui.store import open_store

    lessons, _ = load_all()
    lesson = next((l for l in lessons if l.id == lesson_id), None)
    if lesson is None:
        app.notify(f"lesson {lesson_id!r} is not on this server", severity="error", timeout=6)
        return
    if hasattr(app, "pause"):
        await app.pause()
    if getattr(app, "store", None) is None:
        app.store, problem = open_store()
        if problem:
            app.notify(problem, title="Progress", severity="warning", timeout=10)
    app.push_screen(LessonScreen(lesson, app.store))


async def _open_preset(app, name: str) -> None:
    import engine

    if not hasattr(app, "state") or name not in engine.presets:
        app.notify(f"the run {name!r} opens on the dashboard (netstep without a lesson)", timeout=6)
        return
    from tui.screens.main import MainScreen
    from tui.screens.ops import OpScreen

    while len(app.screen_stack) > 1 and not isinstance(app.screen, (MainScreen, OpScreen)):
        app.pop_screen()
    if await app._rebuild(lambda: app.state.rebuild(engine.presets[name]), None):
        app.notify(f"opened the run {name}", timeout=3)


def attach(app) -> Link | None:
    """Join the app to its class (served sessions only)."""
    end = ChildEnd.from_env()
    if end is None:
        return None
    link = Link(app, end)
    app.classroom = link
    app.classroom_notice = ""
    if not hasattr(app, "action_open_sent"):   # the lessons app has no key table of its own
        app.action_open_sent = link.open_sent
        app.bind("O", "open_sent", description="open what the teacher sent", show=False)
    link.start()
    return link


async def open_sent(app) -> None:
    link = getattr(app, "classroom", None)
    if link is None:
        app.notify("O opens what a teacher sends to the class (in a served session).", timeout=3)
        return
    await link.open_sent()
