"""The step's check: each condition with a tick or a cross and what the engine says now,
the hint while it does not hold, and the keys to press."""

from __future__ import annotations

from rich.console import Group
from rich.text import Text
from textual.widgets import Static

from tui.lessons.loader import KEYS
from tui.widgets.panel import Panel


class CheckPanel(Panel):
    TITLE = "Your move"

    def __init__(self, lesson, **kwargs):
        super().__init__(**kwargs)
        self.lesson = lesson

    def compose(self):
        self.body = Static(id="check-body")
        yield self.body

    def draw(self, snap) -> None:
        step = self.lesson.steps[snap.lesson_index]
        parts = []
        if step.keys:
            t = Text("Press ", style="bold")
            for i, k in enumerate(step.keys):
                if i:
                    t.append("  then  ", style="dim")
                t.append(f" {k} ", style="reverse bold")
                t.append(f" {KEYS[k]}", style="dim")
            parts.append(t)
        verdicts = snap.verdicts
        met = all(v.ok for _, v in verdicts)
        for _, v in verdicts:
            line = Text()
            line.append("✓ " if v.ok else "✗ ", style="bold green" if v.ok else "bold red")
            line.append(v.detail)
            parts.append(line)
        last = snap.lesson_index == len(self.lesson.steps) - 1
        if met:
            if last:
                parts.append(Text("Lesson complete. Press escape for the lesson list, q to quit.", style="bold green"))
            else:
                parts.append(Text("Ready: press → for the next step.", style="bold green"))
        elif step.hint:
            parts.append(Text("Hint: " + step.hint, style="yellow"))
        if snap.halted is not None and not met:
            parts.append(Text(snap.halted.message, style="red"))
        elif snap.budget_left == 0 and not met:
            parts.append(Text(f"This step has used its {step.max_steps} training steps: press r to start it over.",
                              style="red"))
        self.set_class(met, "-met")
        self.border_subtitle = "check met" if met and verdicts else ("" if met else "not yet")
        self.body.update(Group(*parts))
