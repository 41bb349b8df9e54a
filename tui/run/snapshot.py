"""What the panels draw: a frozen, typed copy of one moment of a run.

`RunFacts` holds what does not change while a run lives (layer sizes, activation
names, the dataset's arrays for the decision boundary, parameter names): it is
built once per run and shared by every snapshot of it. `Snapshot` holds the
numbers of one moment (step, loss, weights, gradients, diagnostics...), all copies
or the engine's own frozen records: no live trainer or history reaches a panel.
`LessonSnapshot` adds what only a lesson shows (verdicts, the step, the comparison run).

No Textual here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass(frozen=True)
class LayerFacts:
    index: int          # 1-based, as in W1, b1
    n_in: int
    n_out: int
    activation: str     # relu, sigmoid, ... (the output layer's is the output activation)


@dataclass(frozen=True, eq=False)   # compared by identity: the arrays make == meaningless
class RunFacts:
    """The static facts of one run, built once (see facts_of)."""

    sizes: tuple
    layers: tuple               # LayerFacts per layer
    hidden: tuple               # hidden activation names, one per hidden layer
    output: str
    loss: str                   # the loss function's name (mse, bce, cross_entropy)
    optimizer: str
    update_rule: str            # the optimizer's update written out (weights panel)
    param_names: tuple          # W1, b1, W2, b2, ...
    n_params: int
    batch_size: int | None
    m: int                      # training examples
    X: np.ndarray               # read-only copies of the data (the boundary and outputs panels)
    Y: np.ndarray
    X_test: np.ndarray | None
    Y_test: np.ndarray | None
    _template: Any = field(default=None, repr=False, compare=False)

    @property
    def L(self) -> int:
        return len(self.layers)

    def network(self):
        """A private network of this run's shape (its weights are stale: set theta from a snapshot)."""
        return self._template.copy()


def _frozen(a):
    if a is None:
        return None
    a = np.array(a, copy=True)
    a.setflags(write=False)
    return a


def facts_of(trainer) -> RunFacts:
    net = trainer.net
    layers = tuple(LayerFacts(la.index, la.n_in, la.n_out, la.act.name) for la in net.layers)
    return RunFacts(
        sizes=tuple(net.sizes), layers=layers, hidden=tuple(net.hidden), output=net.layers[-1].act.name,
        loss=trainer.loss.name, optimizer=trainer.opt.name, update_rule=getattr(trainer.opt, "rule", ""),
        param_names=tuple(net.params), n_params=int(net.n_params), batch_size=trainer.batch_size,
        m=len(trainer.X), X=_frozen(trainer.X), Y=_frozen(trainer.Y),
        X_test=_frozen(trainer.X_test), Y_test=_frozen(trainer.Y_test), _template=net.copy(),
    )


@dataclass(frozen=True, eq=False)
class Snapshot:
    """Copies of everything the panels show, taken at one moment by the run controller."""

    version: int
    run_id: int
    facts: RunFacts
    config: Any                 # engine.RunConfig (frozen) as the run stands (lr included)
    step: int
    epoch: int
    loss: float | None          # the full-data training loss (evaluate()) at loss_step: `step` when paused
    grad_norm: float | None
    clipped: bool
    lr: float
    l2: float
    optimizer: str
    metrics: dict               # the latest evaluate() (loss, accuracy, test_...) at metrics["step"]: `step` when
                                # paused; while playing up to EVAL_INTERVAL (tui/run/controller.py) older
    theta: np.ndarray
    g: np.ndarray | None
    change: np.ndarray | None
    params: dict                # W1, b1 ... (views of theta)
    grads: dict                 # dW1, db1 ...
    changes: dict               # dW1, db1 ... -> the latest update's change
    curve: Any                  # trainer.history.curve(): the engine's frozen, bounded copy of the history
                                # (while playing up to CURVE_INTERVAL old: curve.n_steps is its last step)
    diagnostics: dict | None    # engine.diagnostics.measure(...).to_dict(), at `step`
    diag_error: str | None
    halted: Any                 # the guard's NonFinite record (frozen) or None
    playing: bool
    steps_per_s: float | None
    speed: int | None
    finished: bool
    taken_at: float
    op_view: Any = None         # tui.opstate.OpView while the operation view is open
    edit: Any = None            # tui.opstate.WeightEdit after a hand edit (until the next step)
    plane: Any = None           # engine.plane.Plane (2-D inputs): every unit and the output over the input plane
    confusion: Any = None       # (counts (K, K), "test" or "training") for more than two classes or no plane

    @property
    def loss_step(self):
        """The step `loss` and `metrics` describe (None before any evaluation)."""
        return self.metrics.get("step") if self.metrics else None

    @property
    def loss_lags(self) -> bool:
        """Whether `loss` and `metrics` describe an earlier step than `step` (while playing):
        then whatever shows them must say their step."""
        s = self.loss_step
        return s is not None and s != self.step

    def param(self, name):
        """W1, b1, ... (and dW1, db1, ..., ΔW1 ...) from this snapshot, or None."""
        if name.startswith("d"):
            return self.grads.get(name) if self.grads else None
        if name.startswith("Δ"):
            return self.changes.get("d" + name[1:]) if self.changes else None
        return self.params.get(name)


@dataclass(frozen=True, eq=False)
class LessonSnapshot(Snapshot):
    """A lesson's snapshot: the run's, plus the step and what only lessons show."""

    lesson_index: int = 0
    verdicts: tuple = ()
    note: str = ""
    op: Any = None              # the engine's Op under the stepper's cursor
    cycle_ops: tuple = ()
    gradcheck: Any = None       # the GradcheckReport of this step
    backward: str = "engine"
    outputs: dict = field(default_factory=dict)
    compare_config: Any = None
    compare_curve: Any = None                # the comparison run's history.curve() (frozen, bounded)
    compare_metrics: dict | None = None
    steps_in_step: int = 0
    budget_left: int = 0
    text: str = ""                           # the step's text, its {{placeholders}} filled from this run
