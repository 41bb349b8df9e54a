"""The issue-17 lessons: what their texts promise holds (the race, the bent plane, the exported file)."""

from __future__ import annotations

import re
import subprocess
import sys

from tui.lessons import checks, load_all
from tui.lessons.probe import Probe
from tui.lessons.session import LessonSession
from tui.cli import main


def _lesson(name):
    lessons, errors = load_all()
    assert not errors
    return {lesson.id: lesson for lesson in lessons}[name]


def test_write_it_yourself_the_typed_command_prints_the_lessons_own_final_loss(tmp_path, monkeypatch, capsys):
    lesson = _lesson("write-it-yourself")
    session = LessonSession(lesson)
    session.start(0)
    session.simulate()                                    # the learner's keys until the check holds
    assert session.met() and session.trainer.step_count == 500
    loss = session.trainer.evaluate(record=False)["loss"]
    # The last step tells the learner what to type: run exactly that.
    command = re.search(r"`(netstep export-code [^`]+)`", lesson.steps[-1].text).group(1)
    monkeypatch.chdir(tmp_path)
    assert main(command.split()[1:]) == 0
    capsys.readouterr()
    out = subprocess.run([sys.executable, "-I", "net.py"], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert abs(float(out.stdout.strip().splitlines()[-1]) - loss) < 1e-12 * max(1.0, loss) + 1e-15


def test_bent_plane_separable_only_after_training_and_never_with_two_units():
    lesson = _lesson("bent-plane")
    session = LessonSession(lesson)
    session.start(0)
    session.simulate()
    assert session.trainer.step_count == 1 and not separable(session).ok   # one step in: still two rings
    assert session.met() and session.advance()
    session.simulate()                                   # p until one line separates them
    assert separable(session).ok and session.met() and session.trainer.step_count < 600
    assert session.advance()
    session.simulate()
    assert session.trainer.step_count == 300
    assert not separable(session).ok                     # two tanh units: never


def separable(session):
    return checks.CONDITIONS["separable"].evaluate(Probe(session), True)
