"""The pure parts of `netstep serve`: folder names, path confinement, key files, commands, exits."""

from __future__ import annotations

import hashlib
import signal
from pathlib import Path

import asyncssh
import pytest

from tui.datadir import confine, data_root, inside, safe_name
from tui.serve import AuthorizedKeys, ServeConfig, ServeError, Server, describe_exit, parse_authorized_keys
from tui.serve.identity import derived_name


@pytest.mark.parametrize("text, expected", [
    ("alice", "alice"),
    ("Alice Smith", "Alice-Smith"),
    ("alice@laptop", "alice-laptop"),
    ("../../etc/passwd", "etc-passwd"),
    ("..", "user"),
    (".", "user"),
    ("", "user"),
    (None, "user"),
    ("/", "user"),
    (".hidden", "hidden"),
    ("a/b\\c", "a-b-c"),
    ("x" * 100, "x" * 48),
    ("élève", "élève"),
    ("e\u0301le\u0300ve", "élève"),       # one name however it was typed
    ("日本", "日本"),
    ("a\x00b", "a-b"),
])
def test_safe_name_is_one_harmless_component(text, expected):
    name = safe_name(text)
    assert name == expected
    assert "/" not in name and not name.startswith(".") and name not in ("", ".", "..")


def test_inside_never_leaves_its_root(tmp_path):
    root = tmp_path / "users"
    root.mkdir()
    assert inside(root, "../../etc") == root / "etc"
    assert inside(root, "..") == root / "user"
    (root / "evil").symlink_to("/etc")
    with pytest.raises(ValueError):
        inside(root, "evil")


def test_data_root_rule(monkeypatch, tmp_path):
    monkeypatch.setenv("NETSTEP_DATA_DIR", str(tmp_path / "d"))
    assert data_root() == tmp_path / "d"
    monkeypatch.delenv("NETSTEP_DATA_DIR")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "x"))
    assert data_root() == tmp_path / "x" / "netstep"
    monkeypatch.delenv("XDG_DATA_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "h"))
    assert data_root() == tmp_path / "h" / ".local" / "share" / "netstep"


def test_confine_served_paths_to_the_users_folder(monkeypatch, tmp_path):
    folder = tmp_path / "users" / "alice"
    folder.mkdir(parents=True)
    (tmp_path / "users" / "bob").mkdir()
    monkeypatch.setenv("NETSTEP_DATA_DIR", str(folder))
    monkeypatch.setenv("HOME", str(folder))
    monkeypatch.delenv("NETSTEP_SERVED", raising=False)
    assert confine("../bob/run.npz") == Path("../bob/run.npz")      # locally: the user's business

    monkeypatch.setenv("NETSTEP_SERVED", "1")
    assert confine("run.npz") == folder / "run.npz"
    assert confine("  runs/a.csv ") == folder / "runs" / "a.csv"
    assert confine("~/run.npz") == folder / "run.npz"
    assert confine(str(folder / "x.npz")) == folder / "x.npz"
    (folder / "out").symlink_to(tmp_path / "users" / "bob")
    for bad in ("../bob/run.npz", "/etc/passwd", "..", ".", "out/run.npz", "a/../../bob/x"):
        with pytest.raises(ValueError, match="your own folder"):
            confine(bad)


def _key(comment=None):
    key = asyncssh.generate_private_key("ssh-ed25519", comment=comment)
    return key, key.export_public_key().decode()


def test_authorized_keys_names_come_from_comments():
    (a, line_a), (b, line_b), (c, line_c) = _key("alice"), _key("../../root"), _key()
    entries = parse_authorized_keys("\n".join(["# class of 2026", line_a, 'from="10.0.0.0/8",no-pty ' + line_b,
                                              "", line_c]), "keys")
    assert entries[a.public_data].name == "alice"
    assert entries[b.public_data].name == "root"                 # sanitised, options skipped
    assert entries[c.public_data].name == derived_name(c) == "key-" + hashlib.sha256(c.public_data).hexdigest()[:16]
    assert entries[a.public_data].fingerprint == a.get_fingerprint("sha256")


def test_a_comment_never_names_another_keys_folder():
    """Finding 1: a key whose comment is another key's derived folder name got that folder."""
    first, line_first = _key()                        # no comment: key-<16 hex of its SHA-256>
    thief, line_thief = _key(derived_name(first))     # asks for exactly that folder by comment
    upper, line_upper = _key(derived_name(first).upper())
    entries = parse_authorized_keys(line_first + line_thief + line_upper, "keys")
    names = [entries[k.public_data].name for k in (first, thief, upper)]
    assert names == [derived_name(first), derived_name(thief), derived_name(upper)]
    assert len(set(names)) == 3
    entries = parse_authorized_keys(line_thief + line_first, "keys")   # whichever line comes first
    assert entries[thief.public_data].name != entries[first.public_data].name


def test_a_name_two_lines_claim_goes_to_the_first_and_the_later_line_is_skipped(caplog):
    (one, line_one), (two, line_two), (three, line_three) = _key("twin"), _key("twin"), _key("TWIN")
    problems = []
    entries = parse_authorized_keys(line_one + line_two + line_three + line_one, "keys", problems)
    assert entries[one.public_data].name == "twin"
    assert two.public_data not in entries and three.public_data not in entries   # never merged
    assert len(problems) == 3 and "skipped" in caplog.text
    assert "line 2 asks for the folder 'twin' that line 1 has" in problems[0]
    assert "repeats the key of twin" in problems[2]


def test_bad_lines_are_skipped_and_a_file_of_none_is_refused(tmp_path):
    good, line_good = _key("alice")
    path = tmp_path / "keys"
    path.write_text("not a key at all\n" + line_good)
    keys = AuthorizedKeys(path)
    assert [e.name for e in keys.entries.values()] == ["alice"] and "line 1 is not an OpenSSH" in keys.problems[0]
    for text, message in (("not a key at all\n", "keys line 1 is not an OpenSSH public key"),
                          ("# only comments\n\n", "holds no public keys")):
        path.write_text(text)
        with pytest.raises(ServeError, match=message):
            AuthorizedKeys(path)


def test_reload_skips_a_bad_line_and_denies_everyone_when_the_file_is_gone(tmp_path, caplog):
    (a, line_a), (b, line_b) = _key("alice"), _key("bob")
    path = tmp_path / "keys"
    path.write_text(line_a)
    keys = AuthorizedKeys(path)
    assert keys.lookup(a).name == "alice" and keys.lookup(b) is None
    path.write_text(line_a + "ssh-ed25519 AAAAbroken\n" + line_b)   # one bad line: the rest still counts
    assert keys.lookup(b).name == "bob" and keys.lookup(a).name == "alice"
    assert "line 2 is not an OpenSSH public key" in caplog.text
    path.unlink()                                                  # gone: nobody gets in
    assert keys.lookup(a) is None and keys.lookup(b) is None
    assert "nobody can log in with a key" in caplog.text
    path.write_text(line_b)                                        # back: read again
    assert keys.lookup(b).name == "bob" and keys.lookup(a) is None


def test_only_lesson_commands_are_accepted(tmp_path):
    server = Server(ServeConfig(allow_anonymous=True, data_dir=str(tmp_path)))
    assert server.resolve_command(None) == ([], None)
    assert server.resolve_command("  ") == ([], None)
    assert server.resolve_command("lesson xor-1") == (["lesson", "xor-1"], None)
    for bad in ("lesson ../x", "lesson", "lesson a b", "bash", "sh -c 'rm -rf /'", "lesson 'a;b'",
                "scp -t .", "internal-sftp", "lesson $(id)"):
        args, refusal = server.resolve_command(bad)
        assert args == [] and "not available" in refusal


def test_exit_descriptions():
    assert describe_exit(0, 60) == ("app exited", None)
    assert "status 3" in describe_exit(3, 60)[1]
    reason, line = describe_exit(-signal.SIGXCPU, 60)
    assert "CPU time limit (60 s)" in reason and "used up its CPU time" in line
    assert "SIGSEGV" in describe_exit(-signal.SIGSEGV, 60)[1]


def test_config_rules():
    with pytest.raises(ServeError, match="--authorized-keys"):
        ServeConfig().validate()
    ServeConfig(allow_anonymous=True).validate()
    limits = dict((name, (soft, hard)) for name, soft, hard in ServeConfig(cpu_limit=5, memory_limit=512).rlimits())
    assert limits["RLIMIT_CPU"][0] == 5 and limits["RLIMIT_AS"] == (512 << 20, 512 << 20)
    assert limits["RLIMIT_CORE"] == (0, 0)
    assert "RLIMIT_CPU" not in dict((n, 0) for n, *_ in ServeConfig(cpu_limit=0).rlimits())
    command = ServeConfig().command      # the app, never importing from the student's folder
    assert command[-2:] == ["-m", "tui.serve.app_main"] and "-P" in command and "-s" in command


def test_confine_refuses_code_names_and_the_progress_database(monkeypatch, tmp_path):
    folder = tmp_path / "users" / "alice"
    folder.mkdir(parents=True)
    monkeypatch.setenv("NETSTEP_DATA_DIR", str(folder))
    monkeypatch.setenv("NETSTEP_SERVED", "1")
    for bad in ("numpy.py", "runs/x.PY", "evil.pth", "m.pyc", "lib.so", "progress.sqlite3", "progress.sqlite3-wal"):
        with pytest.raises(ValueError, match="not allowed|keeps your progress"):
            confine(bad)
    assert confine("run.npz") == folder / "run.npz" and confine("py.csv") == folder / "py.csv"
