"""A lesson's snapshot: the run controller's fields plus what only lessons show.

The run controller (tui/run) takes every snapshot, for the dashboard and the lessons
alike; a lesson session hands it `lesson_snapshot` as its `extras`, which adds the
step's verdicts, the current operation, the gradient-check report, the comparison run
and the first examples' numbers. Called by whoever owns the run at that moment (the
worker between chunks while playing, the UI after a key). No Textual here.
"""

from __future__ import annotations

import numpy as np

from tui.lessons import checks, facts
from tui.run.snapshot import LessonSnapshot

OUTPUT_ROWS = 8          # examples shown in the outputs panel


def lesson_snapshot(session, fields: dict) -> LessonSnapshot:
    s = session
    t = s.trainer
    with np.errstate(all="ignore"):
        verdicts = tuple(s.verdicts())
        rows = min(OUTPUT_ROWS, len(t.X))
        _, cache = t.net.copy().forward(t.X[:rows])
        compare = s.compare
        compare_metrics = None
        if compare is not None:
            known = s.compare_metrics
            if known is None or known.get("step") != compare.step_count:
                known = s.compare_metrics = compare.evaluate(record=False)
            compare_metrics = dict(known)
    outputs = {"X": t.X[:rows].copy(), "Y": t.Y[:rows].copy(), "total": len(t.X),
               **{k: v.copy() for k, v in cache.items() if k != "X"}}
    stepper = s.stepper
    return LessonSnapshot(
        **fields,
        lesson_index=s.index, verdicts=verdicts, note=s.note,
        op=stepper.current, cycle_ops=tuple(stepper.cycle_ops()),
        gradcheck=s.state.gradcheck, backward=s.backward, outputs=outputs,
        compare_config=None if compare is None else compare.config,
        compare_curve=None if compare is None else compare.history.curve(), compare_metrics=compare_metrics,
        steps_in_step=s.steps_in_step, budget_left=s.budget_left,
        text=facts.render(s.step.text.strip(), checks.Probe(s)),
    )
