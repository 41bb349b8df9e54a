"""What a training cycle leaves behind: its operations, phases, step result and, when the
guard refuses a step, where the cycle first went non-finite.

The Trainer (engine/trainer.py) produces these; engine.trainer re-exports every name.
"""

from __future__ import annotations

from operator import itemgetter

from .metrics import accuracy

PHASES = ("forward", "loss", "backward", "update")


class Op:
    """One matrix operation of a cycle: its equation, operand shapes, operands and result."""

    __slots__ = ("phase", "layer", "name", "equation", "shapes", "operands", "result", "index")

    def __init__(self, phase, layer, name, equation, shapes, operands, result, index=0):
        self.phase, self.layer, self.name, self.equation = phase, layer, name, equation
        self.shapes, self.operands, self.result, self.index = shapes, operands, result, index

    def __repr__(self):
        return f"<Op {self.phase} {self.equation} {self.shapes}>"


class Phase:
    """One phase of a cycle: its operations and the arrays it produced, by name."""

    def __init__(self, name, ops):
        self.name = name
        self.ops = ops
        self.arrays = {op.name: op.result for op in ops}

    def __repr__(self):
        return f"<Phase {self.name}: {', '.join(self.arrays)}>"


class NonFinite:
    """Where a cycle first produced inf or NaN."""

    def __init__(self, step, phase, layer, quantity, kind):
        self.step, self.phase, self.layer, self.quantity, self.kind = step, phase, layer, quantity, kind

    @property
    def message(self) -> str:
        where = f"layer {self.layer}" if self.layer else "the loss"
        head = (f"step {self.step}: {self.quantity} ({where}, {self.phase} phase) became {self.kind}; "
                f"the weights were kept from the last finite step. ")
        if self.quantity == "gradient norm":
            # Every entry is finite, only the length overflowed: clipping rescales it.
            return head + ("The gradient is too long to measure: turn on gradient clipping and continue, "
                           "or rewind to a checkpoint from before the blow-up and lower the learning rate.")
        if self.phase == "update":
            # The gradient was finite: the step (learning rate times gradient) or the weights it lands on were not.
            return head + ("The step, learning rate times gradient, overshoots every number the computer can hold: "
                           "lower the learning rate (or the schedule's rates) or turn on gradient clipping, "
                           "or rewind to a checkpoint from before the blow-up.")
        return head + ("Those weights are finite but already so large that the cycle overflows again from them: "
                       "rewind to a checkpoint from before the blow-up, then lower the learning rate or turn on "
                       "gradient clipping.")

    def to_dict(self):
        return {"step": self.step, "phase": self.phase, "layer": self.layer, "quantity": self.quantity, "kind": self.kind}

    def __repr__(self):
        return f"<NonFinite {self.message}>"


class StepResult(tuple):
    """What one step did. `accuracy` (on the step's batch) is computed on first use.

    A tuple underneath (step, epoch, loss, lr, grad_norm, clipped, nonfinite, A, Y), read
    by name: the trainer makes one per step with tuple.__new__, a C call, at a third of
    the cost of a Python __init__ (a small network's step takes ~15 us). It compares by
    identity, as an object: the arrays inside have no single truth value."""

    step = property(itemgetter(0))
    epoch = property(itemgetter(1))
    loss = property(itemgetter(2))
    lr = property(itemgetter(3))
    grad_norm = property(itemgetter(4))
    clipped = property(itemgetter(5))
    nonfinite = property(itemgetter(6))
    _A = property(itemgetter(7))
    _Y = property(itemgetter(8))
    __eq__ = object.__eq__
    __ne__ = object.__ne__
    __hash__ = object.__hash__

    def __new__(cls, step, epoch, loss, lr, grad_norm, clipped, nonfinite, A, Y):
        return tuple.__new__(cls, (step, epoch, loss, lr, grad_norm, clipped, nonfinite, A, Y))

    def __getnewargs__(self):  # copy and pickle: the nine fields, as __new__ takes them
        return tuple(self)

    @property
    def ok(self) -> bool:
        return self[6] is None

    @property
    def batch_size(self) -> int:
        return len(self[8])

    @property
    def accuracy(self) -> float:
        acc = self.__dict__.get("_acc")
        if acc is None:
            acc = self._acc = accuracy(self[7], self[8]) if self[7] is not None else float("nan")
        return acc

    def __repr__(self):
        return f"<StepResult step={self.step} loss={self.loss:.6g} ok={self.ok}>"
