"""`netstep serve --web`: students' links (hashed, stable, revocable, written atomically), the
HTTP and websocket refusals (403, nothing spawned), and browser sessions confined and limited
as SSH sessions are. A stand-in app (web_standin.py) speaks Textual's web-driver protocol;
tests/tui/test_serve_web_browser.py runs the real app in Chromium.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import aiohttp
import pytest
from serve_helpers import WAIT, gone, make_keys, refusal_after_login, until

import tui.serve.web_app as web_app
from tui.cli import main
from tui.serve import Server, ServeConfig
from tui.serve.landlock import abi as landlock_abi
from tui.serve.web import WebFront
from tui.serve.web_links import (KEY_FILE, LINKS_FILE, LOCK_FILE, LinkError, LinkTable, digest, issue, link,
                                 read_table, revoke)

STANDIN = str(Path(__file__).with_name("web_standin.py"))

needs_pidfd = pytest.mark.skipif(not hasattr(os, "pidfd_open"), reason="netstep serve needs Linux pidfds")


def altered(secret: str) -> str:
    """The secret with its last character changed (always changed: never by chance the same)."""
    return secret[:-1] + ("B" if secret[-1] == "A" else "A")


# -- links


def test_links_are_stable_kept_hashed_and_revocable(tmp_path):
    first = issue(tmp_path, ["alice", "bob"])
    assert issue(tmp_path, ["alice", "bob"]) == first            # stable across calls
    assert first["alice"] != first["bob"] and len(first["alice"]) == 43
    stored = (tmp_path / LINKS_FILE).read_text()
    for secret in first.values():
        assert secret not in stored and secret not in (tmp_path / KEY_FILE).read_text()
    table = read_table(tmp_path)
    assert table["alice"]["sha256"] == hashlib.sha256(first["alice"].encode()).hexdigest()
    assert (tmp_path / LINKS_FILE).stat().st_mode & 0o777 == 0o600
    assert (tmp_path / KEY_FILE).stat().st_mode & 0o777 == 0o600

    links = LinkTable(tmp_path)
    assert links.name_for(first["alice"]) == "alice" and links.name_for(first["bob"]) == "bob"
    assert links.name_for(altered(first["alice"])) is None and links.name_for("") is None

    revoke(tmp_path, "bob")
    assert links.name_for(first["bob"]) is None                 # at once, before any new link
    second = issue(tmp_path, ["alice", "bob"])
    assert second["alice"] == first["alice"] and second["bob"] != first["bob"]
    assert links.name_for(second["bob"]) == "bob" and links.name_for(first["bob"]) is None
    assert issue(tmp_path, ["alice", "bob"]) == second


def test_a_failed_write_leaves_the_old_links_file_whole(tmp_path, monkeypatch):
    issue(tmp_path, ["alice"])
    before = (tmp_path / LINKS_FILE).read_bytes()

    def fail(*args):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(LinkError, match="No space left"):
        revoke(tmp_path, "alice")
    assert (tmp_path / LINKS_FILE).read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([KEY_FILE, LINKS_FILE, LOCK_FILE])   # no temp file


def test_class_links_command(tmp_path, capsys):
    make_keys(tmp_path / "keys")
    keys = str(tmp_path / "keys" / "authorized_keys")
    data = str(tmp_path / "data")
    argv = ["class", "links", "--authorized-keys", keys, "--url", "http://10.0.0.5:8080/", "--data", data]
    assert main(argv) == 0
    out = capsys.readouterr().out
    lines = [line.split("\t") for line in out.splitlines()]
    assert [name for name, _ in lines] == ["alice", "bob"]      # names as identity.py derives them
    for name, url in lines:
        assert re.fullmatch(r"http://10\.0\.0\.5:8080/s/[A-Za-z0-9_-]{43}", url)
        assert LinkTable(data).name_for(url.rsplit("/", 1)[1]) == name
    assert main(argv) == 0 and capsys.readouterr().out == out
    assert main(argv + ["--revoke", "bob"]) == 0
    again = capsys.readouterr()
    assert again.out.splitlines()[0] == out.splitlines()[0] and again.out.splitlines()[1] != out.splitlines()[1]
    assert "revoked bob" in again.err

    for bad, words in ((["--url", "ftp://x"], "--url"), (["--url", "http://x/path"], "--url"),
                       (["--revoke", "mallory"], "mallory"),
                       (["--authorized-keys", str(tmp_path / "none")], "cannot read")):
        args = argv + bad
        assert main(args) == 2
        err = capsys.readouterr().err
        assert words in err and err.count("\n") == 1 and "Traceback" not in err


@pytest.mark.parametrize("args, message", [
    (("--web", "8080", "--allow-anonymous"), "--web needs --authorized-keys FILE"),
    (("--web", "99999", "--authorized-keys", "KEYS"), "--web must be a port 0..65535"),
    (("--web", "2222", "--port", "2222", "--authorized-keys", "KEYS"), "also the SSH --port"),
    (("--web", "eighty", "--authorized-keys", "KEYS"), "invalid int value"),
    (("--web", "BUSY", "--port", "0", "--authorized-keys", "KEYS"), "cannot listen on 127.0.0.1:BUSY for --web"),
])
def test_bad_web_settings_stop_the_start_in_one_line_and_leave_no_host_key(tmp_path, args, message):
    make_keys(tmp_path / "keys")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy = str(taken.getsockname()[1])
        args = [a.replace("KEYS", str(tmp_path / "keys" / "authorized_keys")).replace("BUSY", busy) for a in args]
        done = subprocess.run([sys.executable, "-m", "tui", "serve", *args], capture_output=True, text=True,
                              env=dict(os.environ, NETSTEP_DATA_DIR=str(tmp_path / "data")), timeout=WAIT)
    assert done.returncode == 2, done.stderr
    assert message.replace("BUSY", busy) in done.stderr and "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 or "usage:" in done.stderr
    assert not (tmp_path / "data" / "ssh_host_ed25519_key").exists()


# -- the server


@contextlib.asynccontextmanager
async def web_server(tmp_path: Path, **overrides):
    make_keys(tmp_path / "keys")
    settings = dict(port=0, web=0, authorized_keys=str(tmp_path / "keys" / "authorized_keys"),
                    data_dir=str(tmp_path / "data"), command=[sys.executable, STANDIN], kill_grace=1.0,
                    max_per_key=0)
    settings.update(overrides)
    server = Server(ServeConfig(**settings))
    front = WebFront(server)
    await front.listen()
    await server.start()
    front.url = f"http://127.0.0.1:{front.port}"
    front.secrets = issue(tmp_path / "data", ["alice", "bob"])
    server.test_keys = {n: str(tmp_path / "keys" / n) for n in ("alice", "bob", "eve")}
    try:
        async with aiohttp.ClientSession() as http:
            front.http = http
            yield server, front
    finally:
        await front.close()
        await server.close()


class Tab:
    """A browser tab, minus the browser: the page, then its websocket, its output as text."""

    def __init__(self, ws):
        self.ws = ws
        self.text = ""
        self.closed = False

    @classmethod
    async def open(cls, front, who: str = "alice", width: int = 100, height: int = 30):
        url = await page_ws_url(front, front.secrets[who])
        ws = await front.http.ws_connect(f"{url}?width={width}&height={height}", origin=front.url)
        return cls(ws)

    async def wait_for(self, pattern: str, timeout: float = WAIT) -> re.Match:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not (found := re.search(pattern, self.text)):
            if self.closed:
                raise AssertionError(f"closed before {pattern!r}:\n{self.text}")
            assert loop.time() < deadline, f"{pattern!r} never came:\n{self.text}"
            try:
                message = await asyncio.wait_for(self.ws.receive(), max(0.1, deadline - loop.time()))
            except asyncio.TimeoutError:
                continue
            if message.type == aiohttp.WSMsgType.BINARY:
                self.text += message.data.decode("utf-8", "replace")
            elif message.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.CLOSING):
                self.closed = True
        return found

    async def until_closed(self, timeout: float = WAIT) -> None:
        with contextlib.suppress(AssertionError):
            await self.wait_for(r"(?!x)x", timeout)
        assert self.closed, f"still open:\n{self.text}"

    async def pid(self) -> int:
        return int((await self.wait_for(r"WEBSTANDIN pid=(\d+)")).group(1))

    async def send(self, keys: str) -> None:
        await self.ws.send_str(json.dumps(["stdin", keys]))


async def page_ws_url(front, secret: str) -> str:
    async with front.http.get(link(front.url, secret)) as r:
        assert r.status == 200, r.status
        assert r.headers["Referrer-Policy"] == "no-referrer"
        return re.search(r'data-session-websocket-url="([^"]+)"', await r.text()).group(1)


@pytest.fixture
def spawned(monkeypatch):
    """Every process the web front starts."""
    started = []
    real = web_app.subprocess.Popen

    def spy(*args, **kw):
        started.append(args[0])
        return real(*args, **kw)

    monkeypatch.setattr(web_app.subprocess, "Popen", spy)
    return started


@needs_pidfd
async def test_no_valid_link_no_session(tmp_path, spawned):
    async with web_server(tmp_path) as (server, front):
        alice = front.secrets["alice"]
        for path in ("/", "/s/", "/s/" + altered(alice), "/s/" + alice + "x", "/ws", "/ws/made-up",
                     "/s/../s/" + alice.lower(), "/download/x"):
            async with front.http.get(front.url + path) as r:
                assert r.status == 403, path
                assert "not a valid link" in await r.text()
        async with front.http.post(link(front.url, alice)) as r:
            assert r.status == 403
        # The websocket checks too: no ticket, a made-up one, or one from another site's page.
        for url in (front.url + "/ws", front.url + "/ws/" + alice):
            with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
                await front.http.ws_connect(url)
            assert refused.value.status == 403
        ws_url = await page_ws_url(front, alice)
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await front.http.ws_connect(ws_url, origin="http://evil.example")
        assert refused.value.status == 403
        assert spawned == [] and not front.sessions and not server.logged_in


@needs_pidfd
async def test_a_ticket_opens_one_session_once_and_expires(tmp_path, spawned):
    async with web_server(tmp_path, login_grace=1.0) as (server, front):
        url = await page_ws_url(front, front.secrets["alice"])
        ws = await front.http.ws_connect(url + "?width=90&height=20", origin=front.url)
        tab = Tab(ws)
        await tab.wait_for(r"user=alice .*size=90x20")
        with pytest.raises(aiohttp.WSServerHandshakeError):      # used once: gone
            await front.http.ws_connect(url, origin=front.url)
        stale = await page_ws_url(front, front.secrets["bob"])
        await asyncio.sleep(1.5)
        with pytest.raises(aiohttp.WSServerHandshakeError):
            await front.http.ws_connect(stale, origin=front.url)
        assert len(spawned) == 1
        await tab.send("q")
        await tab.until_closed()


@needs_pidfd
async def test_a_browser_session_is_the_ssh_sessions_child(tmp_path, spawned):
    async with web_server(tmp_path, cpu_limit=77) as (server, front):
        tab = await Tab.open(front, "alice")
        pid = await tab.pid()
        folder = tmp_path / "data" / "users" / "alice"
        await tab.wait_for(rf"user=alice cwd={re.escape(str(folder))}")
        await tab.wait_for(rf"data={re.escape(str(folder))} confine={re.escape(str(folder))} budget=\d+ "
                           r"driver=textual.drivers.web_driver:WebDriver")
        await tab.wait_for(r"limits as=\d+ cpu=77 nice=10 sid=True tty=False")
        (argv,) = spawned
        from tui.serve.server import LAUNCHER

        assert argv[:4] == [sys.executable, "-I", "-S", str(LAUNCHER)]    # the SSH path's launcher
        spec = json.loads(argv[4])
        assert spec["tty"] is False and ("RLIMIT_CPU", 77, 87) in [tuple(x) for x in spec["limits"]]
        if landlock_abi():
            assert (str(folder.resolve()), "write") in [tuple(x) for x in spec["sandbox"]]
            (folder.parent / "bob").mkdir()
            await tab.send("f")
            await tab.wait_for(r"PROBE mate=DENIED links=DENIED own=ok root=DENIED")
        await tab.send("ab")
        await tab.wait_for(r"keys=2")
        await tab.send("q")
        await tab.until_closed()
        assert await gone(pid)
        await until(lambda: not front.sessions and not server.logged_in)


@needs_pidfd
async def test_sessions_count_with_ssh_against_the_limits(tmp_path):
    async with web_server(tmp_path, max_sessions=1) as (server, front):
        ws_url = await page_ws_url(front, front.secrets["bob"])   # a page opened while there was room
        tab = await Tab.open(front, "alice")
        await tab.pid()
        async with front.http.get(link(front.url, front.secrets["bob"])) as r:   # now said on the page
            assert r.status == 503 and "the only session is in use" in await r.text()
        second = Tab(await front.http.ws_connect(ws_url, origin=front.url))     # and on its websocket
        await second.wait_for(r"the only session is in use")
        await second.until_closed()
        assert "in use" in await refusal_after_login(server, "bob")   # SSH sees the browser's session
        await tab.send("q")
        await tab.until_closed()
        await until(lambda: not server.logged_in)
    async with web_server(tmp_path / "2", max_per_key=1) as (server, front):
        tab = await Tab.open(front, "alice")
        await tab.pid()
        async with front.http.get(link(front.url, front.secrets["alice"])) as r:
            assert r.status == 503 and "alice is already logged in 1 times" in await r.text()
        other = await Tab.open(front, "bob")
        await other.pid()
        for t in (tab, other):
            await t.send("q")
            await t.until_closed()


@needs_pidfd
async def test_idle_sessions_close_and_stubborn_apps_are_killed(tmp_path):
    async with web_server(tmp_path, idle_timeout=1.0) as (server, front):
        tab = await Tab.open(front, "alice")
        pid = await tab.pid()
        await tab.send("h")                  # ignores the quit request and SIGTERM
        await tab.wait_for("STUBBORN")
        await tab.until_closed()
        assert await gone(pid)
        await until(lambda: not front.sessions and not server.logged_in)


@needs_pidfd
async def test_closing_the_tab_or_the_server_ends_the_child(tmp_path):
    async with web_server(tmp_path) as (server, front):
        tab = await Tab.open(front, "alice")
        pid = await tab.pid()
        await tab.ws.close()
        assert await gone(pid)
        tab = await Tab.open(front, "bob")
        pid = await tab.pid()
    assert await gone(pid)


@needs_pidfd
async def test_revoked_links_and_removed_keys_stop_working_at_once(tmp_path, spawned):
    async with web_server(tmp_path) as (server, front):
        revoke(tmp_path / "data", "bob")
        async with front.http.get(link(front.url, front.secrets["bob"])) as r:
            assert r.status == 403
        url = await page_ws_url(front, front.secrets["alice"])
        keys = tmp_path / "keys" / "authorized_keys"
        keys.write_text("".join(line + "\n" for line in keys.read_text().splitlines() if not line.endswith("alice")))
        with pytest.raises(aiohttp.WSServerHandshakeError):      # a page opened before still gets nothing
            await front.http.ws_connect(url, origin=front.url)
        async with front.http.get(link(front.url, front.secrets["alice"])) as r:
            assert r.status == 403
        assert spawned == []


@needs_pidfd
async def test_no_secret_or_ticket_in_the_log(tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    async with web_server(tmp_path) as (server, front):
        url = await page_ws_url(front, front.secrets["alice"])
        tab = Tab(await front.http.ws_connect(url, origin=front.url))
        await tab.pid()
        async with front.http.get(front.url + "/s/" + "A" * 43) as r:
            assert r.status == 403
        await tab.send("q")
        await tab.until_closed()
    ticket = url.rsplit("/", 1)[1]
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "web session alice" in text or "as alice" in text
    for secret in (*front.secrets.values(), ticket, digest(front.secrets["alice"])):
        assert secret not in text


@needs_pidfd
async def test_a_crash_goes_to_the_log_not_the_browser(tmp_path, caplog):
    caplog.set_level(logging.INFO)
    command = [sys.executable, "-P", "-s", "-B", "-m", "tui.serve.app_main", "--script", STANDIN]
    async with web_server(tmp_path, command=command) as (server, front):
        tab = await Tab.open(front, "alice")
        await tab.pid()
        await tab.send("!")
        await tab.until_closed()
        await until(lambda: not front.sessions)
    assert "Traceback" not in tab.text and "on purpose" not in tab.text
    (end,) = [r.getMessage() for r in caplog.records if r.getMessage().startswith("web session end")]
    assert "app crashed (status 70)" in end and "RuntimeError: standin crashed on purpose" in end


@needs_pidfd
async def test_a_paste_flood_is_cut_by_the_ssh_input_gate(tmp_path, caplog):
    caplog.set_level(logging.INFO)
    async with web_server(tmp_path) as (server, front):
        tab = await Tab.open(front, "alice")
        await tab.pid()
        await tab.send("z" + "x" * 200_000)
        await asyncio.sleep(0.3)             # the gate refills: the next key passes
        await tab.send("=")
        total = int((await tab.wait_for(r"total=(\d+)")).group(1))
        assert 60_000 < total < 100_000      # the first 64 KB (and what refilled meanwhile), not 200 KB
        await tab.send("q")
        await tab.until_closed()
    (end,) = [r.getMessage() for r in caplog.records if r.getMessage().startswith("web session end")]
    assert "bytes of input dropped (flood)" in end


@needs_pidfd
async def test_ssh_and_browser_children_start_with_the_same_settings(tmp_path, monkeypatch):
    """One launch (tui/serve/launch.py) for both: same launcher, limits, nice, sandbox, environment
    and classroom pipes; only the terminal differs (a pty and its device rule, or pipes)."""
    from serve_helpers import Term, connect

    started = []
    real = subprocess.Popen

    def spy(argv, *args, **kw):
        started.append((argv, kw["env"]))
        return real(argv, *args, **kw)

    monkeypatch.setattr(subprocess, "Popen", spy)       # both paths: pty_child and web_app
    async with web_server(tmp_path, cpu_limit=77, nice=7) as (server, front):
        async with await connect(server, "alice") as conn:
            await Term.open(conn, 100, 30)
            await until(lambda: len(started) == 1)
            tab = await Tab.open(front, "alice")
            await tab.pid()
            await tab.send("q")
            await tab.until_closed()
    (ssh_argv, ssh_env), (web_argv, web_env) = started
    ssh_spec, web_spec = json.loads(ssh_argv[4]), json.loads(web_argv[4])
    assert ssh_argv[:4] == web_argv[:4] and ssh_argv[5:] == web_argv[5:]
    assert web_spec.pop("tty") is False and "tty" not in ssh_spec
    assert ssh_spec["nice"] == 7 and ("RLIMIT_CPU", 77, 87) in [tuple(x) for x in ssh_spec["limits"]]
    if landlock_abi():
        assert ssh_spec["sandbox"][-1][1] == "device"
        ssh_spec["sandbox"].pop()
    assert ssh_spec == web_spec
    transport = {"TEXTUAL_DRIVER", "TEXTUAL_COLOR_SYSTEM", "TERM_PROGRAM", "COLUMNS", "ROWS", "NETSTEP_ERROR_FD",
                 "NETSTEP_STATUS_FD", "NETSTEP_CONTROL_FD"}
    assert {"NETSTEP_STATUS_FD", "NETSTEP_CONTROL_FD", "NETSTEP_MEMORY_BUDGET"} <= set(ssh_env) & set(web_env)
    assert {k: v for k, v in ssh_env.items() if k not in transport} == \
        {k: v for k, v in web_env.items() if k not in transport}
