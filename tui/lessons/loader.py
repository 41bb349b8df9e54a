"""Lesson files: TOML data inside the package, validated field by field.

A lesson file (tui/lessons/<id>.toml):

    id = "dead-relu"                 # matches the file name
    title = "..."
    order = 110                      # position in the list
    summary = "..."

    [[steps]]
    title = "..."
    text = '''...'''                 # what the learner reads (plain text, blank lines between paragraphs)
    keys = ["p"]                     # the keys to press: space p n b g r + -
    panels = ["loss", "boundary"]    # the panels shown beside the text
    hint = "..."                     # shown while the check does not hold
    max_steps = 6000                 # training steps the step may take (default 20000)

    [steps.run]                      # optional: start a fresh run (else keep the previous step's)
    preset = "seed"
    backward = "course"              # optional: the course's backward pass (gradient-check bug hunt)
    [steps.run.set]                  # RunConfig fields that override the preset
    lr = 0.1
    [steps.run.compare]              # optional: a second run, these fields changed, trained in lockstep
    optimizer = "sgd"

    [steps.change]                   # optional: edits to the live run, applied on entering the step
    lr = 0.25                        # also l2, clip, scale_weights, weights = {W1 = [[...]], b1 = [[...]]}

    [steps.check]                    # optional: every condition must hold before moving on
    accuracy_at_least = 1.0

    [steps.claims]                   # optional: what the text asserts about the run; not a gate,
    loss_below = 0.2                 # but `netstep lessons --check` fails if one does not hold

A number the text states about the run is a placeholder, `{{loss}}`, filled from the
live run (tui/lessons/facts.py); a panel the text names ("the boundary panel") must
be among the step's panels.

Any error names the file, the step and the field. `load_all()` never raises for a bad
file: it returns the good lessons and one message per bad file, so a broken lesson
is skipped instead of taking the app down.
"""

from __future__ import annotations

import math
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from tui.keys import lesson_keys

from . import checks, facts

LESSON_DIR = Path(__file__).resolve().parent

# The keys a step may ask for: the lesson subset of the app's key table (tui/keys.py).
KEYS = {name: key.help for name, key in lesson_keys().items()}
PANELS = {
    "network": "the layers and the shape of every matrix",
    "loss": "loss and accuracy over the steps",
    "heatmaps": "weights and gradients of the chosen layer",
    "boundary": "the decision boundary over the input plane",
    "diagnostics": "gradient norms, dead and saturated units per layer",
    "status": "step, epoch, loss, accuracy, learning rate",
    "outputs": "the network's numbers for every example: Z, A and the prediction",
    "trace": "the current operation: its equation, shapes and numbers",
    "gradcheck": "analytic against numeric gradients",
    "compare": "this run's loss beside the comparison run's",
    "space": "the space a hidden layer makes: the input plane and the data after that layer",
}
BACKWARDS = ("engine", "course")
CHANGE_FIELDS = ("lr", "l2", "clip", "scale_weights", "weights")
DEFAULT_MAX_STEPS = 20000
ID_CHARS = set("abcdefghijklmnopqrstuvwxyz0123456789-")


class LessonError(ValueError):
    """A lesson file that cannot be used: names the file, the step and the field."""

    def __init__(self, path, message, step=None, field=None):
        self.path, self.step, self.field = os.fspath(path), step, field
        where = Path(self.path).name
        if step is not None:
            where += f": step {step[0]}" + (f" ({step[1]!r})" if step[1] else "")
        if field:
            where += f": {field}"
        super().__init__(f"{where}: {message}")


@dataclass
class RunSpec:
    preset: str = "default"
    set: dict = field(default_factory=dict)
    backward: str = "engine"
    compare: dict | None = None
    config: object = None          # the validated engine.RunConfig
    compare_config: object = None

    def to_dict(self):
        d = {"preset": self.preset, "set": dict(self.set)}
        if self.backward != "engine":
            d["backward"] = self.backward
        if self.compare is not None:
            d["compare"] = dict(self.compare)
        return d


@dataclass
class Step:
    index: int                     # 0-based
    title: str
    text: str
    keys: list = field(default_factory=list)
    panels: list = field(default_factory=list)
    run: RunSpec | None = None
    change: dict = field(default_factory=dict)
    check: dict = field(default_factory=dict)
    hint: str = ""
    max_steps: int = DEFAULT_MAX_STEPS
    claims: dict = field(default_factory=dict)

    @property
    def number(self) -> int:
        return self.index + 1

    def to_dict(self):
        d = {"title": self.title, "text": self.text, "keys": list(self.keys), "panels": list(self.panels)}
        if self.run is not None:
            d["run"] = self.run.to_dict()
        if self.change:
            d["change"] = dict(self.change)
        if self.check:
            d["check"] = dict(self.check)
        if self.hint:
            d["hint"] = self.hint
        if self.claims:
            d["claims"] = dict(self.claims)
        return d


@dataclass
class Lesson:
    id: str
    title: str
    summary: str
    order: int
    steps: list
    path: str = ""

    def __len__(self):
        return len(self.steps)

    def run_index(self, index) -> int:
        """The index of the step whose run is live at step `index` (the latest step with a run)."""
        for i in range(index, -1, -1):
            if self.steps[i].run is not None:
                return i
        raise LessonError(self.path, "the first step must start a run ([steps.run])", (1, self.steps[0].title), "run")


# ----- validation helpers -------------------------------------------------------------

def _str(d, key, path, step=None, required=True, prefix=""):
    value = d.get(key)
    if value is None:
        if required:
            raise LessonError(path, "is missing (a text value is required)", step, prefix + key)
        return ""
    if not isinstance(value, str) or (required and not value.strip()):
        raise LessonError(path, f"must be a non-empty text value, got {value!r}", step, prefix + key)
    return value


def _unknown(d, allowed, path, step, prefix=""):
    for key in d:
        if key not in allowed:
            raise LessonError(path, f"unknown field; allowed: {', '.join(allowed)}", step, prefix + str(key))


def _number(value, path, step, name, low=None, positive=False):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise LessonError(path, f"must be a number, got {value!r}", step, name)
    if positive and value <= 0:
        raise LessonError(path, f"must be a positive number, got {value!r}", step, name)
    if low is not None and value < low:
        raise LessonError(path, f"must be at least {low}, got {value!r}", step, name)
    return float(value)


def _parse_run(raw, path, step):
    import engine

    if not isinstance(raw, dict):
        raise LessonError(path, "must be a table ([steps.run])", step, "run")
    _unknown(raw, ("preset", "set", "backward", "compare"), path, step, "run.")
    preset = raw.get("preset", "default")
    if preset not in engine.presets:
        raise LessonError(path, f"unknown preset {preset!r}; allowed: {', '.join(engine.presets)}", step, "run.preset")
    changes = raw.get("set", {})
    if not isinstance(changes, dict):
        raise LessonError(path, "must be a table of RunConfig fields", step, "run.set")
    try:
        config = engine.RunConfig.from_dict(changes, base=engine.presets[preset])
    except engine.ConfigError as e:
        raise LessonError(path, str(e).split(": ", 1)[-1], step, f"run.set.{e.field}") from None
    backward = raw.get("backward", "engine")
    if backward not in BACKWARDS:
        raise LessonError(path, f"unknown backward pass {backward!r}; allowed: {', '.join(BACKWARDS)}", step, "run.backward")
    compare = raw.get("compare")
    compare_config = None
    if compare is not None:
        if not isinstance(compare, dict) or not compare:
            raise LessonError(path, "must be a table of the RunConfig fields that differ in the comparison run",
                              step, "run.compare")
        try:
            compare_config = config.replace(**compare)
        except engine.ConfigError as e:
            raise LessonError(path, str(e).split(": ", 1)[-1], step, f"run.compare.{e.field}") from None
    return RunSpec(preset, dict(changes), backward, None if compare is None else dict(compare), config, compare_config)


def _parse_change(raw, path, step):
    if not isinstance(raw, dict):
        raise LessonError(path, "must be a table ([steps.change])", step, "change")
    _unknown(raw, CHANGE_FIELDS, path, step, "change.")
    out = {}
    if "lr" in raw:
        out["lr"] = _number(raw["lr"], path, step, "change.lr", positive=True)
    if "l2" in raw:
        out["l2"] = _number(raw["l2"], path, step, "change.l2", low=0)
    if "clip" in raw:
        clip = raw["clip"]
        out["clip"] = None if clip in ("none", False) else _number(clip, path, step, "change.clip", positive=True)
    if "scale_weights" in raw:
        out["scale_weights"] = _number(raw["scale_weights"], path, step, "change.scale_weights", positive=True)
    if "weights" in raw:
        weights = raw["weights"]
        if not isinstance(weights, dict) or not weights:
            raise LessonError(path, "must be a table such as {W1 = [[1, 1], [1, 1]], b1 = [[0, -1]]}", step, "change.weights")
        for name, value in weights.items():
            if not (isinstance(name, str) and name[:1] in ("W", "b") and name[1:].isdigit()):
                raise LessonError(path, "parameter names are W1, b1, W2, b2, ...", step, f"change.weights.{name}")
            if (not isinstance(value, list) or not value or not all(isinstance(row, list) and row for row in value)
                    or len({len(row) for row in value}) != 1):
                raise LessonError(path, "must be a matrix: a list of equally long rows of numbers", step,
                                  f"change.weights.{name}")
            for row in value:
                for x in row:
                    _number(x, path, step, f"change.weights.{name}")
        out["weights"] = {k: [[float(x) for x in row] for row in v] for k, v in weights.items()}
    return out


def _parse_check(raw, path, step, table="check"):
    if not isinstance(raw, dict) or not raw:
        raise LessonError(path, "must be a table of conditions such as {accuracy_at_least = 1.0}", step, table)
    out = {}
    for name, value in raw.items():
        cond = checks.CONDITIONS.get(name)
        if cond is None:
            raise LessonError(path, f"unknown condition; allowed: {', '.join(checks.NAMES)}", step, f"{table}.{name}")
        try:
            out[name] = cond.parse(value)
        except ValueError as e:
            raise LessonError(path, str(e), step, f"{table}.{name}") from None
    return out


# How a text names a panel ("the boundary panel", "the status line") -> the panel it needs.
PANEL_WORDS = {
    "network panel": "network", "the loss curve": "loss", "loss panel": "loss", "loss plot": "loss",
    "heatmap": "heatmaps", "boundary panel": "boundary", "decision boundary": "boundary",
    "diagnostics panel": "diagnostics", "diagnostics row": "diagnostics", "status line": "status",
    "outputs panel": "outputs", "trace panel": "trace", "gradient-check panel": "gradcheck",
    "comparison panel": "compare", "compare panel": "compare",
    "layer-space panel": "space",
    "unit map": "network", "unit maps": "network",
}


def panels_named(text: str) -> list[str]:
    """The panels a step's text points the learner at, in PANELS' names."""
    low = " ".join(text.lower().split()).replace("**", "")
    return sorted({panel for words, panel in PANEL_WORDS.items() if words in low})


def _check_text(text, panels, path, step):
    missing = facts.unknown(text)
    if missing:
        raise LessonError(path, f"unknown placeholder {{{{{missing[0]}}}}}; allowed: {', '.join(facts.FACTS)}",
                          step, "text")
    for name in panels_named(text):
        if name != "status" and name not in panels:
            raise LessonError(path, f"the text points at the {name} panel, which the step does not show; "
                                    f"add \"{name}\" to panels", step, "panels")


def _parse_step(raw, index, path):
    step_id = (index + 1, raw.get("title") if isinstance(raw, dict) and isinstance(raw.get("title"), str) else None)
    if not isinstance(raw, dict):
        raise LessonError(path, "must be a table ([[steps]])", step_id)
    _unknown(raw, ("title", "text", "keys", "panels", "run", "change", "check", "claims", "hint", "max_steps"),
             path, step_id)
    title = _str(raw, "title", path, step_id)
    text = _str(raw, "text", path, step_id)
    keys = raw.get("keys", [])
    if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
        raise LessonError(path, f"must be a list of keys; allowed: {', '.join(KEYS)}", step_id, "keys")
    for k in keys:
        if k not in KEYS:
            raise LessonError(path, f"unknown key {k!r}; allowed: {', '.join(KEYS)}", step_id, "keys")
    panels = raw.get("panels", [])
    if not isinstance(panels, list) or not all(isinstance(k, str) for k in panels):
        raise LessonError(path, f"must be a list of panel names; allowed: {', '.join(PANELS)}", step_id, "panels")
    for name in panels:
        if name not in PANELS:
            raise LessonError(path, f"unknown panel {name!r}; allowed: {', '.join(PANELS)}", step_id, "panels")
    run = _parse_run(raw["run"], path, step_id) if "run" in raw else None
    change = _parse_change(raw["change"], path, step_id) if "change" in raw else {}
    check = _parse_check(raw["check"], path, step_id) if "check" in raw else {}
    claims = _parse_check(raw["claims"], path, step_id, "claims") if "claims" in raw else {}
    _check_text(text, panels, path, step_id)
    hint = _str(raw, "hint", path, step_id, required=False)
    max_steps = raw.get("max_steps", DEFAULT_MAX_STEPS)
    if isinstance(max_steps, bool) or not isinstance(max_steps, int) or max_steps < 0:
        raise LessonError(path, f"must be a whole number >= 0, got {max_steps!r}", step_id, "max_steps")
    return Step(index, title, text, keys, panels, run, change, check, hint, max_steps, claims)


def parse(text: str, path="<lesson>") -> Lesson:
    """A Lesson from the text of a lesson file. Raises LessonError naming file, step and field."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise LessonError(path, f"is not valid TOML: {e}") from None
    _unknown(raw, ("id", "title", "summary", "order", "steps"), path, None)
    lesson_id = _str(raw, "id", path)
    if not set(lesson_id) <= ID_CHARS:
        raise LessonError(path, f"must use lowercase letters, digits and dashes only, got {lesson_id!r}", None, "id")
    stem = Path(os.fspath(path)).stem
    if path != "<lesson>" and stem != lesson_id:
        raise LessonError(path, f"must match the file name ({stem!r}), got {lesson_id!r}", None, "id")
    title = _str(raw, "title", path)
    summary = _str(raw, "summary", path, required=False)
    order = raw.get("order", 1000)
    if isinstance(order, bool) or not isinstance(order, int):
        raise LessonError(path, f"must be a whole number, got {order!r}", None, "order")
    steps_raw = raw.get("steps")
    if not isinstance(steps_raw, list) or not steps_raw:
        raise LessonError(path, "is missing: a lesson needs at least one [[steps]] table", None, "steps")
    steps = [_parse_step(s, i, path) for i, s in enumerate(steps_raw)]
    if steps[0].run is None:
        raise LessonError(path, "the first step must start a run ([steps.run])", (1, steps[0].title), "run")
    return Lesson(lesson_id, title, summary, order, steps, os.fspath(path))


def load_file(path) -> Lesson:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise LessonError(path, f"cannot be read: {getattr(e, 'strerror', None) or e}") from None
    return parse(text, path)


def load_all(directory=None) -> tuple[list[Lesson], list[str]]:
    """(lessons in order, one message per file that was skipped). Never raises for a bad file."""
    directory = Path(directory) if directory is not None else LESSON_DIR
    lessons, errors = [], []  # ids are unique: each must match its file name
    for path in sorted(directory.glob("*.toml")):
        try:
            lesson = load_file(path)
        except LessonError as e:
            errors.append(f"skipped lesson {e}")
            continue
        except Exception as e:  # a bug in validation must not take the app down either
            errors.append(f"skipped lesson {path.name}: {type(e).__name__}: {e}")
            continue
        lessons.append(lesson)
    lessons.sort(key=lambda l: (l.order, l.id))
    return lessons, errors
