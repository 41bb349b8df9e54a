"""Walking a training cycle one matrix operation at a time, with a way back.

OpStepper wraps Trainer.ops(): `next()` shows the next operation (computing it when
the cursor is at the newest one), `back()` moves to the previous one. The operations
of the current and previous cycles are kept, so going back and forward again shows
the very same numbers. Stepping forward through whole cycles leaves exactly the
weights that Trainer.step() would.

`reads(op)`, `writes(op)` and `result_norm(op)` describe an Op for a display: the
arrays it reads and writes, by name, and the size of what it produced.
"""

from __future__ import annotations

import numpy as np


def _array_name(operand: str):
    """The network array an operand label refers to ("A1^T" -> "A1", "W1 (old)" -> "W1"), or None."""
    if operand == "change":
        return None  # the update's step: not an array of the network
    return operand.removesuffix(" (old)").removesuffix("^T")


def reads(op) -> list[str]:
    """Names of the arrays `op` reads (X, W1, b1, Z1, A1, Y, dZ2, dW1, ...), in operand order."""
    out = []
    for label in op.operands:
        name = _array_name(label)
        if name is not None and name not in out:
            out.append(name)
    return out


def writes(op) -> list[str]:
    """Names of the arrays `op` writes: its result (Z1, A1, L, dW2, W1 ...)."""
    return [op.name]


def result_norm(op) -> float:
    """The Frobenius norm of the op's result (its absolute value for the scalar loss)."""
    with np.errstate(over="ignore", invalid="ignore"):  # a diverging run's norm is inf, not a warning
        return float(np.linalg.norm(np.asarray(op.result, dtype=np.float64).ravel()))


class OpStepper:
    def __init__(self, trainer, keep_cycles=2):
        self.trainer = trainer
        self.keep_cycles = max(1, int(keep_cycles))
        self.ops = []        # retained Op records, oldest first
        self.cycles = []     # cycle number of each retained op
        self.cursor = -1     # index into self.ops of the op on show (-1: none yet)
        self._gen = None     # the open cycle's generator
        self._cycle = 0      # number of cycles started

    # ----- where we are -------------------------------------------------------------

    @property
    def current(self):
        return self.ops[self.cursor] if 0 <= self.cursor < len(self.ops) else None

    @property
    def phase(self) -> str | None:
        op = self.current
        return op.phase if op is not None else None

    @property
    def in_cycle(self) -> bool:
        """True while a cycle has started but not yielded its last operation."""
        return self._gen is not None

    @property
    def at_newest(self) -> bool:
        return self.cursor == len(self.ops) - 1

    def cycle_ops(self):
        """The operations of the cycle the cursor is in, in order."""
        if self.current is None:
            return []
        c = self.cycles[self.cursor]
        return [op for op, k in zip(self.ops, self.cycles) if k == c]

    # ----- moving -------------------------------------------------------------------

    def next(self):
        """Show the next operation (computing it if needed). None if the guard refused the step."""
        if not self.at_newest:
            self.cursor += 1
            return self.current
        if self._gen is None:
            self._gen = self.trainer.ops()
            self._cycle += 1
        op = next(self._gen, None)
        if op is None:
            # The cycle ended without another op: either it finished, or the guard refused it.
            self._gen = None
            if self.trainer.halted is not None:
                return None
            return self.next()
        self._append(op)
        if op.phase == "update" and self._is_last_update(op):
            self._close()
        return op

    def back(self):
        """Show the previous operation (stays put at the oldest one kept)."""
        if self.cursor > 0:
            self.cursor -= 1
        return self.current

    def goto(self, op):
        """Show a retained operation (an Op from self.ops, or its position there); computes nothing."""
        i = op if isinstance(op, int) else next((k for k, o in enumerate(self.ops) if o is op), None)
        if i is None or not 0 <= i < len(self.ops):
            raise IndexError("that operation is not among the retained ones")
        self.cursor = i
        return self.current

    def finish_cycle(self):
        """Run the open cycle's remaining operations; returns them (for a full step mid-cycle)."""
        rest = []
        while self._gen is not None:
            op = next(self._gen, None)
            if op is None:
                self._gen = None
                break
            self._append(op)
            rest.append(op)
        self.cursor = len(self.ops) - 1
        return rest

    def abandon(self):
        """Drop the open cycle (after an edit made its numbers stale).

        Before the update phase nothing has been written, so dropping is exact; once the
        update is applied the cycle is finished instead.
        """
        if self._gen is None:
            return
        if self.ops and self.cycles[-1] == self._cycle and self.ops[-1].phase == "update":
            self.finish_cycle()
            return
        self._close()
        keep = [i for i, c in enumerate(self.cycles) if c != self._cycle]
        self.ops = [self.ops[i] for i in keep]
        self.cycles = [self.cycles[i] for i in keep]
        self.cursor = len(self.ops) - 1

    def reset(self):
        self._close()
        self.ops, self.cycles, self.cursor, self._cycle = [], [], -1, 0

    # ----- internals ----------------------------------------------------------------

    def _append(self, op):
        self.ops.append(op)
        self.cycles.append(self._cycle)
        oldest = self._cycle - self.keep_cycles + 1
        while self.cycles and self.cycles[0] < oldest:
            self.ops.pop(0)
            self.cycles.pop(0)
        self.cursor = len(self.ops) - 1

    def _is_last_update(self, op):
        return op.layer == self.trainer.net.L and op.name.startswith("b")

    def _close(self):
        if self._gen is not None:
            self._gen.close()
            self._gen = None
