"""`netstep demo NAME [--json]` (contract): one JSON document, the story and table, exit 2 on an unknown name."""

import json
import re
import subprocess
import sys

import pytest

from engine import scenarios
from tui.cli import main


def _reject(constant):
    raise AssertionError(f"{constant} in JSON output")


@pytest.mark.parametrize("name", scenarios.NAMES)
def test_demo_json_for_every_name(name, capsys):
    assert main(["demo", name, "--json"]) == 0
    out = capsys.readouterr().out
    # Exactly one document (json.loads rejects trailing text), and no NaN or Infinity in it.
    doc = json.loads(out, parse_constant=_reject)
    assert set(doc) == {"name", "broken", "fixed", "explanation"} and doc["name"] == name
    for side in ("broken", "fixed"):
        assert set(doc[side]) == {"config", "metrics"}
        assert {"loss", "accuracy"} <= set(doc[side]["metrics"])


def test_demo_text_shows_the_story_and_the_broken_vs_fixed_table(capsys):
    assert main(["demo", "symmetry"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("netstep demo symmetry:")
    table = [line.split() for line in out.splitlines() if re.match(r"accuracy +[0-9]", line)]
    assert table == [["accuracy", "50.0%", "75.0%", "100.0%"]]
    assert "broken" in out and "fixed" in out and "init zeros" in out


def test_unknown_demo_exits_2_with_one_line_listing_the_names():
    p = subprocess.run([sys.executable, "-m", "tui", "demo", "nope", "--json"], capture_output=True, text=True)
    assert p.returncode == 2 and p.stdout == ""
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and "nope" in lines[0]
    assert all(name in lines[0] for name in scenarios.NAMES)


def test_demo_json_stdout_holds_nothing_else_even_when_numbers_overflow():
    p = subprocess.run([sys.executable, "-m", "tui", "demo", "exploding", "--json"], capture_output=True, text=True)
    assert p.returncode == 0 and p.stderr == ""
    doc = json.loads(p.stdout, parse_constant=_reject)
    assert doc["broken"]["metrics"]["weights_kept"] is True
