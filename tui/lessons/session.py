"""A lesson in progress: the live run, the step the learner is on, and what each key does.

LessonSession is headless. The lesson screen calls it for every keypress and
`netstep lessons --check` drives it the same way, so the checker exercises exactly
the code the learner's keys run.

Entering a step: a step with a `run` builds a fresh run (and the comparison run, if
any), then applies the step's `change`. Moving forward with the check met keeps the
learner's live run. Jumping to a step (resuming, going back, starting a step over)
rebuilds the run from the latest step with a run and replays the steps in between
headless, pressing their keys until their checks hold, so step k always starts from
the state its text describes.
"""

from __future__ import annotations

import threading
import time

import numpy as np

from . import checks, facts
from .loader import Lesson, Step

KEY_REPEATS = 60         # presses of a non-training key the checker may make
OP_REPEATS = 400


class SessionError(RuntimeError):
    """A step asked for something the run cannot do (wrong weight shape, missing demo...)."""


_DATA_CACHE: dict = {}


def _load_data(config):
    import engine
    from engine.config import load_data

    key = (config.dataset, tuple(sorted((k, repr(v)) for k, v in config.dataset_options.items())), config.seed)
    data = _DATA_CACHE.get(key)
    if data is None:
        data = load_data(config)
        if len(_DATA_CACHE) > 16:
            _DATA_CACHE.clear()
        _DATA_CACHE[key] = data
    return engine.build(config, data=data)


def course_backward():
    """The course's own backward pass (dZ2 = A2 - Y whatever the loss), from the
    gradient-check bug-hunt scenario. It lives with the scenario, never in the
    engine's real path."""
    try:
        from engine import scenarios
    except ImportError:
        raise SessionError("the course's backward pass comes with engine.scenarios, which this build lacks") from None
    for name in ("course_backward", "buggy_backward", "tutorial_backward"):
        fn = getattr(scenarios, name, None)
        if callable(fn):
            return fn
    raise SessionError("engine.scenarios has no course backward pass (course_backward)")


class StepState:
    """What the learner has done in the current step."""

    def __init__(self, trainer, grad_norms):
        self.entry_step = trainer.step_count if trainer is not None else 0
        self.gradcheck = None       # GradcheckReport of the latest g in this step
        self.ops_seen = 0
        self.phases_seen: list[str] = []
        self.grad_norms = grad_norms  # the run's gradient norm per step (shared across steps of one run)


class LessonSession:
    """A lesson over one RunController (tui/run): the dashboard's stepping, playing, op
    mode and snapshots, plus the lesson's steps, budgets and checks.

    The comparison run of a step, if any, is a second trainer that the controller's
    on_step hook steps in lockstep with the learner's run."""

    def __init__(self, lesson: Lesson):
        self.lesson = lesson
        self.index = 0
        self.controller = None       # the RunController, made by the first step with a run
        self.compare = None
        self.backward = "engine"
        self.grad_norms: list[float] = []
        self.state = StepState(None, self.grad_norms)
        self.compare_metrics = None
        self.lock = threading.RLock()
        self.note = ""       # the latest thing a key did, for the status line
        self.headless = True  # `lessons --check` and replays: p plays one look's worth, as a learner would
        self._watching = False
        self._look_at = None

    # ----- the run (the controller's) ---------------------------------------------------

    @property
    def trainer(self):
        return self.controller.trainer if self.controller is not None else None

    @property
    def stepper(self):
        return self.controller.stepper if self.controller is not None else None

    @property
    def metrics(self):
        """The latest full-data evaluate() of the run (also in its history)."""
        return self.controller.metrics if self.controller is not None else None

    @property
    def version(self) -> int:
        return self.controller.version if self.controller is not None else 0

    def _moved(self):
        if self.controller is not None:
            self.controller.version += 1

    # ----- where we are --------------------------------------------------------------

    @property
    def step(self) -> Step:
        return self.lesson.steps[self.index]

    @property
    def is_last(self) -> bool:
        return self.index == len(self.lesson.steps) - 1

    @property
    def steps_in_step(self) -> int:
        return self.trainer.step_count - self.state.entry_step

    @property
    def budget_left(self) -> int:
        return max(0, self.step.max_steps - self.steps_in_step)

    def play_done(self, verdicts=None) -> bool:
        """Whether playing should pause: every condition that training moves holds (the
        others, such as a gradient check, wait for their own keys)."""
        if not self.step.check:
            return False
        verdicts = self.verdicts() if verdicts is None else verdicts
        return all(v.ok for name, v in verdicts if "p" in checks.CONDITIONS[name].keys)

    def verdicts(self):
        with self.lock:
            return checks.evaluate(self.step.check, self)

    def met(self) -> bool:
        with self.lock:
            return checks.holds(self.step.check, self)

    # ----- entering steps --------------------------------------------------------------

    def start(self, index=0):
        """Enter step `index` from scratch: rebuild its run and replay the steps before it."""
        with self.lock:
            index = max(0, min(int(index), len(self.lesson.steps) - 1))
            first = self.lesson.run_index(index)
            headless, self.headless = self.headless, True   # a replay presses keys as the checker does
            try:
                for i in range(first, index):
                    self._setup(self.lesson.steps[i])
                    self.index = i
                    self.simulate()
            finally:
                self.headless = headless
            self.index = index
            self._setup(self.step)
            self._moved()

    def advance(self) -> bool:
        """Move to the next step keeping the live run, if the current check holds."""
        with self.lock:
            if self.is_last or not self.met():
                return False
            self.index += 1
            try:
                self._setup(self.step)
            except Exception:
                self.index -= 1   # still on the step we were on (its run may need rebuilding: start())
                raise
            self._moved()
            return True

    def _setup(self, step: Step):
        if step.run is not None:
            self._build(step.run)
        self._apply_change(step.change)
        self.state = StepState(self.trainer, self.grad_norms)
        self.note = ""

    def _build(self, run):
        from tui.run.controller import RunController

        with np.errstate(all="ignore"):
            trainer = _load_data(run.config)
            self.compare = _load_data(run.compare_config) if run.compare_config is not None else None
        if self.controller is None:
            self.controller = RunController(trainer, stop_at_epochs=False)
            self.controller.on_step = self._on_step
            self.controller.watcher = self
        else:
            self.controller.install(trainer)
        self.backward = run.backward
        self.grad_norms = []
        self.compare_metrics = None

    def _apply_change(self, change):
        c = self.controller
        runs = [t for t in (self.trainer, self.compare) if t is not None]
        weights = "weights" in change or "scale_weights" in change
        if weights:
            with np.errstate(all="ignore"):
                c.stepper.abandon()  # an open cycle's numbers would be stale
        for t in runs:
            if "lr" in change:
                t.lr = change["lr"]
            if "l2" in change:
                t.l2 = change["l2"]
            if "clip" in change:
                t.clip = change["clip"]
            if "scale_weights" in change:
                for name, W in t.net.params.items():
                    if name.startswith("W"):
                        W *= change["scale_weights"]
            for name, value in change.get("weights", {}).items():
                if name not in t.net.params:
                    raise SessionError(f"change.weights.{name}: the network has {', '.join(t.net.params)}")
                try:
                    t.net.params[name] = np.array(value)
                except ValueError as e:
                    raise SessionError(f"change.weights.{name}: {e}") from None
        if "lr" in change:
            c.config = c.trainer.config = c.config.replace(lr=c.trainer.lr)
            if self.compare is not None:
                self.compare.config = self.compare.config.replace(lr=self.compare.lr)
        c.touched(weights)
        self._evaluate_compare()

    def _evaluate_compare(self):
        if self.compare is not None:
            with np.errstate(all="ignore"):
                self.compare_metrics = self.compare.evaluate()

    # ----- what the controller asks of a lesson ----------------------------------------

    def _on_step(self, result):
        """Every accepted step of the learner's run (step, play or a cycle walked op by op)."""
        self.grad_norms.append(result.grad_norm)
        compare = self.compare
        if compare is not None and compare.halted is None:
            compare.step()  # its losses are in its own (bounded) history

    def look_every(self) -> int:
        """Steps between two looks at the check while playing: one epoch for minibatch
        runs, else 25 steps (a look costs one pass over the data)."""
        return max(25, self.trainer.steps_per_epoch)

    def next_stop(self, step_count) -> int | None:
        """Where play must stop and look (the controller's watcher): the step's budget, the
        step a steps_at_least condition names, and the next look at the check."""
        stops = [self.state.entry_step + self.step.max_steps]
        for name, value in self.step.check.items():
            if name == "steps_at_least" and step_count < value:
                stops.append(value)   # land on the step the check names
        if self._look_at is None or self._look_at <= step_count:
            self._look_at = step_count + self.look_every()
        stops.append(self._look_at)
        return min(stops)

    def at_stop(self) -> str | None:
        """At a stop: why play ends here ("budget", "met", "paused"), or None to go on."""
        self._look_at = None
        if self._watching and self.play_done():
            return "met"
        if self.budget_left == 0:
            return "budget"
        return "paused" if self.headless else None

    # ----- keys ------------------------------------------------------------------------

    def press(self, key) -> str:
        """Do what `key` does (p: play until the next look at the check). Returns a short note."""
        with self.lock:
            c = self.controller
            if key == "space":
                n = self.train(1)
                self.note = "one step" if n else self._stuck_note()
            elif key == "p":
                before = self.trainer.step_count
                self.play()
                n = self.trainer.step_count - before
                self.note = f"{n} steps" if n else self._stuck_note()
            elif key == "n":
                self.next_op()
            elif key == "b":
                self.prev_op()
            elif key == "g":
                self.gradcheck()
            elif key == "r":
                self.start(self.index)
                self.note = "this step starts over"
            elif key in ("+", "-"):
                self.set_lr(self.trainer.lr * (2.0 if key == "+" else 0.5))
            elif key == "t":
                speed = c.cycle_speed()
                self.note = "play speed: " + ("full" if speed is None else f"at most {speed} steps a second")
            else:
                raise SessionError(f"unknown key {key!r}")
            self._moved()
            return self.note

    def _stuck_note(self) -> str:
        if self.trainer.halted is not None:
            return self.trainer.halted.message
        if self.budget_left == 0:
            return f"this step has used its {self.step.max_steps} training steps: press r to start it over"
        return ""

    def train(self, n) -> int:
        """Up to n training steps (both runs when comparing); stops at a refused step or the budget."""
        with self.lock:
            n = min(int(n), self.budget_left)
            before = self.trainer.step_count
            for _ in range(n):
                if not self.controller.step().ok:
                    break
            return self.trainer.step_count - before

    def play(self, should_stop=lambda: False) -> str:
        """Play the run through the controller's play loop until it stops: the check holds
        (when it did not at the start), the budget is used, the guard refuses a step, the
        learner pauses (should_stop, or the controller's playing flag) or, headless, at the
        next look at the check. Returns the reason. Run it on the thread that owns the run."""
        with self.lock:
            if self.budget_left == 0 or self.trainer.halted is not None:
                return "halted" if self.trainer.halted is not None else "budget"
            self.controller.leave_ops()
            # Pause by itself only when training makes the check hold, not when it already did
            # (then p just trains on, for the learner to explore).
            self._watching = not self.play_done()
            self._look_at = None
        return self.controller.play_loop(should_stop)

    def set_lr(self, lr):
        with self.lock:
            try:
                self.controller.set_lr(lr)
            except ValueError as e:   # past the trainer's cap: the dashboard's rule and message
                self.note = str(e)
                return
            if self.compare is not None:
                self.compare.lr = self.trainer.lr
                self.compare.config = self.compare.config.replace(lr=self.compare.lr)
            self.note = f"learning rate {self.trainer.lr:g}"

    def gradcheck(self):
        import engine

        with self.lock:
            self.controller.finish_ops()
            t = self.trainer
            backward = course_backward() if self.backward == "course" else None
            with np.errstate(all="ignore"):
                masks = engine.gradcheck_masks(t.net, len(t.X), t.dropout, t.seed)  # dropout: one fixed set
                report = engine.gradcheck(t.net, t.X, t.Y, t.loss, l2=t.l2, backward=backward, l1=t.l1, dropout=masks)
            self.state.gradcheck = report
            worst = report.worst  # over the compared entries (a parameter all on kinks is None)
            self.note = f"gradient check {'passed' if report.passed else 'failed'} (largest relative error {worst:.3g})"
            return report

    def next_op(self):
        with self.lock:
            c = self.controller
            if self.budget_left == 0 and not c.stepper.in_cycle:
                self.note = self._stuck_note()
                return None
            op = c.next_op()
            if op is None:
                self.note = self._stuck_note()
                return None
            self.state.ops_seen += 1
            if op.phase not in self.state.phases_seen:
                self.state.phases_seen.append(op.phase)
            self.note = op.equation
            return op

    def prev_op(self):
        with self.lock:
            op = self.controller.prev_op()
            self.note = op.equation if op is not None else ""
            return op

    # ----- headless ------------------------------------------------------------------------

    def simulate(self):
        """Press the step's keys, repeating each while it can still move an unmet condition.

        Returns the final verdicts. This is what `netstep lessons --check` runs for
        every step, and what replays earlier steps when the learner jumps ahead.
        """
        with self.lock:
            for key in self.step.keys:
                presses = 0
                self.press(key)
                while True:
                    unmet = [name for name, v in self.verdicts() if not v.ok]
                    if not any(key in checks.CONDITIONS[name].keys for name in unmet):
                        break
                    if key in ("space", "p"):
                        if self.trainer.halted is not None or self.budget_left == 0:
                            break
                    elif key in ("n", "b"):
                        if presses >= OP_REPEATS:
                            break
                    elif presses >= KEY_REPEATS or key in ("g", "r"):
                        break
                    self.press(key)
                    presses += 1
            return self.verdicts()


def check_lesson(lesson: Lesson) -> dict:
    """Run a lesson headless from its first step to its last.

    Returns {"id", "ok", "steps": [{"step", "title", "ok", "conditions": [...], "training_steps"}],
    "seconds", "error"}; ok only when every step's check was met.
    """
    t0 = time.perf_counter()
    session = LessonSession(lesson)
    out = {"id": lesson.id, "ok": True, "steps": [], "error": None}
    where = 1   # the step being set up or played, for the message if something breaks
    try:
        session.start(0)
        while True:
            where = session.index + 1
            verdicts = session.simulate()
            # What the text claims about the run must hold where the step ends, and every
            # number it states must be fillable from the run.
            claims = checks.evaluate(session.step.claims, session) if session.step.claims else []
            unfilled = [name for name in facts.names(session.step.text)
                        if facts.render("{{" + name + "}}", checks.Probe(session)) == "…"]
            ok = all(v.ok for _, v in verdicts) and all(v.ok for _, v in claims) and not unfilled
            out["steps"].append({"step": session.index + 1, "title": session.step.title, "ok": ok,
                                 "training_steps": session.steps_in_step,
                                 "conditions": [{"name": n, "ok": v.ok, "detail": v.detail} for n, v in verdicts],
                                 "claims": [{"name": n, "ok": v.ok, "detail": v.detail} for n, v in claims],
                                 "unfilled": unfilled})
            if not ok:
                out["ok"] = False
                break
            if session.is_last:
                break
            where = session.index + 2
            if not session.advance():
                out["ok"] = False
                out["error"] = f"step {session.index + 1}: could not advance"
                break
    except Exception as e:  # a lesson that crashes the checker is a failed lesson, reported, not a traceback
        out["ok"] = False
        out["error"] = f"step {where}: {type(e).__name__}: {e}"
    out["seconds"] = time.perf_counter() - t0
    return out
