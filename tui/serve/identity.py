"""Who a key is: the authorized_keys file, the folder each key owns, and the host key.

Identity is the key, as in OpenSSH: a key's folder is named from its fingerprint
(`key-` and 16 hex digits of its SHA-256), or by the key's comment when that comment is a
plain name no other line uses. Names starting with `key-` are kept for fingerprints, so a
comment can never name another key's folder; a name (or key) that two lines claim is given
to the first and the later line is skipped, with a warning. Two keys never share a folder.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import asyncssh

from tui.datadir import safe_name
from tui.serve.config import ServeError

log = logging.getLogger("netstep.serve")

DERIVED = "key-"


@dataclass(frozen=True)
class KeyEntry:
    name: str          # the student's folder name
    fingerprint: str   # as OpenSSH prints it (SHA256:...)


@dataclass
class Identity:
    name: str          # NETSTEP_USER
    folder: Path       # NETSTEP_DATA_DIR
    guest: bool        # folder is thrown away at disconnect
    how: str           # for the log
    key: bytes | None = None   # the public key blob, for the per-key limit
    teacher: bool = False      # a key from --teachers: the session is the class view


def derived_name(key) -> str:
    return DERIVED + hashlib.sha256(key.public_data).hexdigest()[:16]


def _read_key(words: list[str]):
    """The key on an authorized_keys line, skipping any leading OpenSSH options."""
    for start in range(len(words) - 1):
        try:
            return asyncssh.import_public_key(" ".join(words[start:]))
        except (asyncssh.KeyImportError, ValueError):
            continue
    return None


def _comment_name(comment: str) -> str | None:
    """The folder a comment asks for, or None when it asks for none usable (then the
    fingerprint names it). Sanitised as every folder name is; `key-...` is reserved."""
    name = safe_name(comment, fallback="") if comment else ""
    if not name or name.casefold().startswith(DERIVED):
        return None
    return name


def parse_authorized_keys(text: str, source: str, problems: list[str] | None = None) -> dict[bytes, KeyEntry]:
    """OpenSSH authorized_keys text -> {public key blob: entry}.

    Lines that hold no key, or that claim a name or key an earlier line has, are skipped and
    described in `problems` (and the log). Leading OpenSSH options (from=..., command=...)
    are skipped: this server has its own rules.
    """
    problems = [] if problems is None else problems
    entries: dict[bytes, KeyEntry] = {}
    owner: dict[str, int] = {}          # folder name (case-folded) -> line that has it
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        key = _read_key(line.split())
        if key is None:
            problems.append(f"{source} line {lineno} is not an OpenSSH public key "
                            "(expected: ssh-ed25519 AAAA... name); skipped")
            continue
        blob = key.public_data
        if blob in entries:
            problems.append(f"{source} line {lineno} repeats the key of {entries[blob].name}; skipped")
            continue
        comment = key.get_comment() or ""
        name = _comment_name(comment)
        if comment and name is None:
            log.warning("%s line %d: the comment %r is no folder name (names starting key- are "
                        "kept for fingerprints); its folder is named from the key instead", source, lineno, comment)
        name = name or derived_name(key)
        if name.casefold() in owner:
            problems.append(f"{source} line {lineno} asks for the folder {name!r} that line "
                            f"{owner[name.casefold()]} has; skipped (give each key its own name)")
            continue
        owner[name.casefold()] = lineno
        entries[blob] = KeyEntry(name, key.get_fingerprint("sha256"))
    for problem in problems:
        log.warning("authorized keys: %s", problem)
    return entries


class AuthorizedKeys:
    """The --authorized-keys file, re-read when it changes (students added mid-class).

    As OpenSSH does: a bad line is skipped, and when the file is gone or unreadable nobody
    gets in until it is back (each change is logged once).
    """

    def __init__(self, path, what: str = "authorized keys"):
        self.path = Path(path)
        self.what = what           # how messages name the file ("teachers' keys" for --teachers)
        self._stamp = None
        self.entries: dict[bytes, KeyEntry] = {}
        self.problems: list[str] = []
        self._load(strict=True)

    def _load(self, strict: bool) -> None:
        try:
            stat = self.path.stat()
            stamp = (stat.st_mtime_ns, stat.st_size, stat.st_ino)
            if stamp == self._stamp:
                return
            text = self.path.read_text(encoding="utf-8", errors="replace")
        except OSError as e:
            message = f"cannot read {self.what} {self.path}: {e.strerror or e}"
            if strict:
                raise ServeError(message) from None
            if self._stamp != "gone":
                log.warning("%s; nobody can log in with a key until it is back", message)
            self._stamp, self.entries = "gone", {}
            return
        problems: list[str] = []
        entries = parse_authorized_keys(text, str(self.path), problems)
        if strict and not entries:
            why = problems[0] if problems else f"{self.path} holds no public keys"
            raise ServeError(f"{why}; no usable keys (one 'ssh-ed25519 AAAA... name' per line)")
        if self._stamp is not None:
            log.info("authorized keys: re-read %s, %d keys%s", self.path, len(entries),
                     f", {len(problems)} lines skipped" if problems else "")
        self._stamp, self.entries, self.problems = stamp, entries, problems

    def lookup(self, key) -> KeyEntry | None:
        self._load(strict=False)
        return self.entries.get(key.public_data)


def load_host_key(path: Path):
    """(the server's private host key at `path`, True if it is new and not saved yet).

    A new key (ed25519) is made in memory only; `save_host_key` writes it once the server
    listens, so a start that fails (a bad --host, a busy port) leaves nothing behind.
    """
    if not path.exists():
        return asyncssh.generate_private_key("ssh-ed25519", comment="netstep host key"), True
    try:
        mode = path.stat().st_mode & 0o777
        if mode & 0o077:
            log.warning("host key %s is readable by others (mode %03o); run: chmod 600 %s", path, mode, path)
        return asyncssh.read_private_key(str(path)), False
    except (OSError, asyncssh.KeyImportError, ValueError) as e:
        raise ServeError(f"cannot read host key {path}: {getattr(e, 'strerror', None) or e}") from None


def save_host_key(path: Path, key) -> None:
    """Write a new host key to `path` (mode 0600), atomically and only if none is there yet."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd, tmp = tempfile.mkstemp(prefix=".host-key-", dir=path.parent)  # mode 0600
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(key.export_private_key("openssh"))
                f.flush()
                os.fsync(f.fileno())
            os.link(tmp, path)   # atomic and exclusive
            log.info("host key: generated %s (%s)", path, key.get_fingerprint("sha256"))
        except FileExistsError:
            log.warning("host key: another server wrote %s first; this one uses its own key until restarted", path)
        finally:
            os.unlink(tmp)
    except OSError as e:
        raise ServeError(f"cannot write host key {path}: {e.strerror or e}") from None
