"""`netstep serve --web` in a real browser: Debian's headless Chromium over the DevTools protocol.

The page a student's link opens shows the dashboard, a key pressed in the browser steps the
run, and a wrong link gets HTTP 403 and starts nothing.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os

import pytest
from browser_helpers import Browser, chromium_path
from serve_helpers import WAIT, gone, make_keys

from tui.serve import Server, ServeConfig
from tui.serve.web import WebFront
from tui.serve.web_links import issue, link

pytestmark = [
    pytest.mark.skipif(chromium_path() is None, reason="no chromium on PATH: the browser test needs it "
                                                       "(apt-get install chromium; .ci/run does)"),
    pytest.mark.skipif(not hasattr(os, "pidfd_open"), reason="netstep serve needs Linux pidfds"),
    pytest.mark.skipif(importlib.util.find_spec("tui.app") is None, reason="the Textual app is not built"),
]


@contextlib.asynccontextmanager
async def web_server(tmp_path, **overrides):
    make_keys(tmp_path / "keys")
    settings = dict(port=0, web=0, authorized_keys=str(tmp_path / "keys" / "authorized_keys"),
                    data_dir=str(tmp_path / "data"), kill_grace=2.0)   # the real session command
    settings.update(overrides)
    server = Server(ServeConfig(**settings))
    front = WebFront(server)
    await front.listen()
    await server.start()
    try:
        yield server, front
    finally:
        await front.close()
        await server.close()


async def test_a_students_link_opens_the_dashboard_and_a_key_steps_it(tmp_path):
    async with web_server(tmp_path) as (server, front), Browser.launch() as browser:
        url = f"http://127.0.0.1:{front.port}"
        secrets = issue(tmp_path / "data", ["alice", "bob"])

        # A wrong link: 403, no websocket, no process.
        wrong = link(url, secrets["bob"][:-1] + ("B" if secrets["bob"][-1] == "A" else "A"))
        assert await browser.open(wrong) == 403
        assert browser.sockets == [] and not front.sessions

        assert await browser.open(link(url, secrets["alice"])) == 200
        await browser.wait_for(r"\bstep 0\b")
        await browser.wait_for(r"(?s)Network · 2-\d+-1.*Loss \(all data\).*space step")   # the dashboard
        (session,) = front.sessions
        assert session.name == "alice" and session.identity.folder == tmp_path / "data" / "users" / "alice"
        pid = session.app.pid
        # The secret is in no URL the page opened; the websocket holds a one-time ticket.
        assert browser.sockets and all(secrets["alice"] not in u for u in browser.sockets)

        await browser.click(300, 300)       # focus the terminal, as a student would
        await browser.press(" ", text=" ", code="Space", keycode=32)
        await browser.wait_for(r"\bstep 1\b")
        await browser.press(" ", text=" ", code="Space", keycode=32)
        await browser.wait_for(r"\bstep 2\b")

        # Leaving the page ends the session and its whole process group.
        await browser.open("about:blank")
        assert await gone(pid, WAIT)
        await browser.until(lambda: not front.sessions, what="the session ended")
