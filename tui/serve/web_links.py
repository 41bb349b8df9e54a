"""Students' secret links for browser access (`netstep serve --web`, `netstep class links`).

A link is `URL/s/SECRET`. The data folder keeps, per student name, only the SHA-256 of the
secret and a generation number (`web_links.json`): the web server checks a link by hashing
it, so that file alone lets nobody in. For the teacher to print the same link again (the link
is stable until revoked), the secret is derived, not stored: HMAC-SHA256 of the name and its
generation under `web_links.key`, 32 random bytes made once (mode 0600) and read by
`netstep class links` only, never by the web server. Revoking a name bumps its generation and
forgets its hash: the old link stops working at once and the next `links` prints a new one.
Deleting the key makes every link new (the hashes are refreshed to match).

A plain fast hash is right here: each secret is 256 random-looking bits, not a password to
brute-force, so scrypt would only slow every page load. Standard library only.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import hashlib
import hmac
import json
import os
import secrets
from pathlib import Path

from engine.safefile import replace_atomically

LINKS_FILE = "web_links.json"
KEY_FILE = "web_links.key"
LOCK_FILE = "web_links.lock"   # two `class links` at once must not lose a revocation
LINK_PATH = "/s/"          # a link is URL + LINK_PATH + secret
SECRET_CHARS = 43          # base64url of 32 bytes, unpadded
_SECRET_ALPHABET = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


class LinkError(Exception):
    """A problem with the links files the teacher can fix (unreadable, not ours)."""


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("ascii", "replace")).hexdigest()


def derive(key: bytes, name: str, generation: int) -> str:
    mac = hmac.new(key, f"netstep-web-link\0{name}\0{generation}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode()


def well_formed(secret: str) -> bool:
    return len(secret) == SECRET_CHARS and set(secret) <= _SECRET_ALPHABET


def _write_atomic(path: Path, data: bytes) -> None:
    """Owner-only, fsynced, renamed over `path`: never half a file."""
    replace_atomically(path, lambda f: f.write(data), private=True, prefix=f".{path.name}-")


def _load_key(root: Path, create: bool) -> bytes | None:
    path = root / KEY_FILE
    try:
        text = path.read_text(encoding="ascii").strip()
        key = bytes.fromhex(text)
        if len(key) < 32:
            raise ValueError
        return key
    except FileNotFoundError:
        if not create:
            return None
    except (OSError, ValueError, UnicodeError) as e:
        raise LinkError(f"cannot read {path} ({getattr(e, 'strerror', None) or 'not a links key'}); "
                        f"delete it to make every link new") from None
    key = secrets.token_bytes(32)
    try:
        root.mkdir(parents=True, exist_ok=True, mode=0o700)
        _write_atomic(path, key.hex().encode() + b"\n")
    except OSError as e:
        raise LinkError(f"cannot write {path}: {e.strerror or e}") from None
    return key


def read_table(root: Path) -> dict[str, dict]:
    """{name: {"sha256": hex or None, "generation": n}} from the data folder ({} if none yet)."""
    path = Path(root) / LINKS_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError, UnicodeError) as e:
        raise LinkError(f"cannot read {path} ({getattr(e, 'strerror', None) or 'not a links file'})") from None
    students = data.get("students") if isinstance(data, dict) else None
    if not isinstance(students, dict):
        raise LinkError(f"{path} is not a netstep links file")
    table = {}
    for name, entry in students.items():
        if isinstance(entry, dict) and isinstance(entry.get("generation", 0), int):
            sha = entry.get("sha256")
            table[name] = {"sha256": sha if isinstance(sha, str) else None,
                           "generation": entry.get("generation", 0)}
    return table


def _write_table(root: Path, table: dict[str, dict]) -> None:
    body = json.dumps({"version": 1, "students": dict(sorted(table.items()))}, indent=1) + "\n"
    try:
        root.mkdir(parents=True, exist_ok=True, mode=0o700)
        _write_atomic(root / LINKS_FILE, body.encode())
    except OSError as e:
        raise LinkError(f"cannot write {root / LINKS_FILE}: {e.strerror or e}") from None


@contextlib.contextmanager
def _locked(root: Path):
    try:
        root.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(root / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as e:
        raise LinkError(f"cannot use {root}: {e.strerror or e}") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def revoke(root, name: str) -> None:
    """Invalidate `name`'s link now; the next `issue` makes a new one."""
    root = Path(root)
    with _locked(root):
        table = read_table(root)
        entry = table.get(name, {"generation": 0})
        table[name] = {"sha256": None, "generation": entry["generation"] + 1}
        _write_table(root, table)


def issue(root, names) -> dict[str, str]:
    """{name: secret} for every name, the same each call until revoked; hashes kept in step."""
    root = Path(root)
    with _locked(root):
        key = _load_key(root, create=True)
        table = read_table(root)
        out, changed = {}, False
        for name in names:
            entry = table.get(name, {"sha256": None, "generation": 0})
            secret = derive(key, name, entry["generation"])
            if entry["sha256"] != digest(secret):
                table[name] = {"sha256": digest(secret), "generation": entry["generation"]}
                changed = True
            out[name] = secret
        if changed:
            _write_table(root, table)
    return out


def link(url: str, secret: str) -> str:
    return url.rstrip("/") + LINK_PATH + secret


class LinkTable:
    """The server's view: which student a secret belongs to, re-read when the file changes.

    A file that cannot be read lets nobody in until it is fixed (logged by the caller).
    """

    def __init__(self, root):
        self.path = Path(root) / LINKS_FILE
        self._stamp = None
        self._by_hash: dict[str, str] = {}
        self.problem: str | None = None

    def _refresh(self) -> None:
        try:
            st = self.path.stat()
            stamp = (st.st_mtime_ns, st.st_size, st.st_ino)
        except OSError:
            stamp = None
        if stamp == self._stamp and self._stamp is not None:
            return
        self._stamp = stamp
        try:
            table = read_table(self.path.parent)
            self.problem = None
        except LinkError as e:
            table, self.problem = {}, str(e)
        self._by_hash = {e["sha256"]: name for name, e in table.items() if e["sha256"]}

    def __len__(self) -> int:
        self._refresh()
        return len(self._by_hash)

    def name_for(self, secret: str) -> str | None:
        """The student whose link this secret is, or None. Compared as hashes: the lookup's
        timing says nothing about the secret."""
        if not well_formed(secret):
            return None
        self._refresh()
        return self._by_hash.get(digest(secret))
