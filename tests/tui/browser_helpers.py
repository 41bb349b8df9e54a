"""A headless Chromium driven over the Chrome DevTools protocol (aiohttp's websocket client),
for the `netstep serve --web` test: open a page, press keys, and read the app's screen.

The page draws the terminal on a canvas, so the screen is read where the browser receives it:
every websocket frame the page gets (Network.webSocketFrameReceived) is fed into a pyte
screen of the size the page asked for (its websocket URL and its resize messages).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import itertools
import json
import os
import re
import shutil
import subprocess
import tempfile
from urllib.parse import parse_qs, urlsplit

import aiohttp
import pyte

WAIT = 60.0


def chromium_path() -> str | None:
    return next(filter(None, (shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome"))), None)


class Browser:
    def __init__(self, proc, session, ws, profile):
        self.proc, self.session, self.ws, self.profile = proc, session, ws, profile
        self._ids = itertools.count(1)
        self._waiting: dict[int, asyncio.Future] = {}
        self.events: list[dict] = []
        self.screen = pyte.Screen(80, 24)
        self.stream = pyte.ByteStream(self.screen)
        self.sockets: list[str] = []          # websocket URLs the page opened
        self.documents: dict[str, int] = {}   # URL -> HTTP status of each page loaded
        self._reader = asyncio.create_task(self._read())

    @classmethod
    @contextlib.asynccontextmanager
    async def launch(cls, width: int = 1280, height: int = 800):
        profile = tempfile.mkdtemp(prefix="netstep-chromium-")
        args = [chromium_path(), "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
                "--no-default-browser-check", "--disable-extensions", "--mute-audio",
                f"--user-data-dir={profile}", "--remote-debugging-port=0", f"--window-size={width},{height}",
                "about:blank"]
        # --no-sandbox: Chromium's own sandbox refuses to run as root (CI containers).
        proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                start_new_session=True)
        session = aiohttp.ClientSession()
        browser = None
        try:
            port_file = os.path.join(profile, "DevToolsActivePort")
            loop = asyncio.get_running_loop()
            deadline = loop.time() + WAIT
            while not (os.path.exists(port_file) and open(port_file).read().strip()):
                assert proc.poll() is None, "chromium exited at start"
                assert loop.time() < deadline, "chromium never opened its DevTools port"
                await asyncio.sleep(0.1)
            port = int(open(port_file).read().split()[0])
            async with session.get(f"http://127.0.0.1:{port}/json/list") as r:
                page = next(t for t in await r.json() if t["type"] == "page")
            ws = await session.ws_connect(page["webSocketDebuggerUrl"], max_msg_size=0)
            browser = cls(proc, session, ws, profile)
            await browser.call("Network.enable")
            await browser.call("Page.enable")
            yield browser
        finally:
            if browser is not None:
                browser._reader.cancel()
            await session.close()
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, 9)
            proc.wait()
            shutil.rmtree(profile, ignore_errors=True)

    async def _read(self) -> None:
        async for message in self.ws:
            data = json.loads(message.data)
            if "id" in data:
                future = self._waiting.pop(data["id"], None)
                if future is not None and not future.done():
                    future.set_result(data)
                continue
            self._event(data["method"], data.get("params", {}))

    def _event(self, method: str, params: dict) -> None:
        self.events.append({"method": method, "params": params})
        if method == "Network.webSocketCreated":
            self.sockets.append(params["url"])
            query = parse_qs(urlsplit(params["url"]).query)
            if "width" in query:
                self._resize(int(query["width"][0]), int(query["height"][0]))
        elif method == "Network.webSocketFrameSent":
            payload = params["response"]["payloadData"]
            if payload.startswith('["resize"'):
                size = json.loads(payload)[1]
                self._resize(size["width"], size["height"])
        elif method == "Network.webSocketFrameReceived":
            frame = params["response"]
            data = base64.b64decode(frame["payloadData"]) if frame["opcode"] == 2 else frame["payloadData"].encode()
            if frame["opcode"] == 2:
                self.stream.feed(data)
        elif method == "Network.responseReceived" and params.get("type") == "Document":
            self.documents[params["response"]["url"]] = params["response"]["status"]

    def _resize(self, cols: int, rows: int) -> None:
        if (cols, rows) != (self.screen.columns, self.screen.lines):
            self.screen.resize(rows, cols)

    async def call(self, method: str, **params) -> dict:
        n = next(self._ids)
        future = self._waiting[n] = asyncio.get_running_loop().create_future()
        await self.ws.send_str(json.dumps({"id": n, "method": method, "params": params}))
        reply = await asyncio.wait_for(future, WAIT)
        assert "error" not in reply, reply
        return reply.get("result", {})

    async def open(self, url: str) -> int | None:
        """Navigate and wait for the page's load; returns the document's HTTP status."""
        before = len(self.events)
        await self.call("Page.navigate", url=url)
        await self.until(lambda: any(e["method"] == "Page.loadEventFired" for e in self.events[before:]))
        return self.documents.get(url)

    def text(self) -> str:
        return "\n".join(line.rstrip() for line in self.screen.display)

    async def until(self, condition, timeout: float = WAIT, what: str = "") -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not condition():
            if loop.time() > deadline:
                raise AssertionError(f"never happened: {what}\n--- the page's terminal:\n{self.text()}")
            await asyncio.sleep(0.05)

    async def wait_for(self, pattern: str, timeout: float = WAIT) -> re.Match:
        await self.until(lambda: re.search(pattern, self.text()), timeout, f"{pattern!r} on screen")
        return re.search(pattern, self.text())

    async def click(self, x: int, y: int) -> None:
        for kind in ("mousePressed", "mouseReleased"):
            await self.call("Input.dispatchMouseEvent", type=kind, x=x, y=y, button="left", clickCount=1)

    async def press(self, key: str, text: str | None = None, code: str | None = None, keycode: int = 0) -> None:
        """A real key press, as the keyboard makes it (keydown with its text, keyup)."""
        down = dict(type="keyDown", key=key, code=code or key, windowsVirtualKeyCode=keycode)
        if text is not None:
            down["text"] = text
        await self.call("Input.dispatchKeyEvent", **down)
        await self.call("Input.dispatchKeyEvent", type="keyUp", key=key, code=code or key,
                        windowsVirtualKeyCode=keycode)
