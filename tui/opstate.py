"""Operation mode, headless: what the panels show while a cycle is walked one op at a time.

The engine's OpStepper walks the cycle (engine/stepper.py); this module reads its
records and says, for the operation under the cursor, which arrays the network
holds *at that point of the cycle*: before an update op, W and b are the old values
(the update op's own "W1 (old)" operand once it has been computed, the trainer's
weights before); from it on, its result. The gradients are the ones this cycle has
computed so far. Every array comes from an Op record or the trainer: nothing here
computes a number, it only chooses which of the engine's arrays to show.

It also records a weight edit (before/after outputs and metrics, all from the
engine). No Textual here.
"""

from __future__ import annotations

from engine.stepper import reads, result_norm, writes


class OpView:
    """The op under the stepper's cursor, its cycle, and the network's arrays as at that op."""

    def __init__(self, op, ops, position, step, open_cycle, params, grads, changes, marks):
        self.op = op                # the engine's Op record on show
        self.ops = ops              # every retained op of its cycle, in order
        self.position = position    # index of op in ops
        self.step = step            # the step this cycle books (its update makes it)
        self.open_cycle = open_cycle  # the cycle is still being computed (more ops to come)
        self.params = params        # "W1" -> array as it stands at this op (where this cycle updates it)
        self.grads = grads          # "dW1" -> array, for the gradients this cycle has computed up to here
        self.changes = changes      # "dW1" -> the update's change, once this op has passed it
        self.marks = marks          # array name -> "read" or "write"

    @property
    def phase(self) -> str:
        return self.op.phase

    @property
    def layer(self) -> int:
        return self.op.layer

    @property
    def reads(self):
        return reads(self.op)

    @property
    def writes(self):
        return writes(self.op)

    def norm(self, op=None) -> float:
        return result_norm(op if op is not None else self.op)

    @property
    def dropout_mask(self):
        """The 0/1 mask M_l when the op on show is a dropout op (A_l <- A_l * M_l / (1 - p), or its
        backward dA_l <- dA_l * M_l / (1 - p)), else None: the engine's own array from the record."""
        return self.op.operands.get(f"M{self.op.layer}")


def update_parts(op):
    """(old, gradient, change, new) of an update op, straight from its record."""
    name = op.name
    return op.operands[f"{name} (old)"], op.operands[f"d{name}"], op.operands["change"], op.result


def op_view(stepper, trainer) -> OpView | None:
    """The OpView for the stepper's cursor, or None before the first op."""
    op = stepper.current
    if op is None:
        return None
    ops = stepper.cycle_ops()
    k = next(i for i, o in enumerate(ops) if o is op)
    params, grads, changes = {}, {}, {}
    for i, o in enumerate(ops):
        if o.phase == "update":
            old, _, change, new = update_parts(o)
            if i <= k:
                params[o.name] = new
                changes["d" + o.name] = change
            else:
                params[o.name] = old
        elif o.phase == "backward" and i <= k and o.name[:2] in ("dW", "db"):
            grads[o.name] = o.result  # a later L2 record for dW replaces the plain one
    # The cycle's step: the newest cycle books trainer.step_count once its update ran.
    cycle = stepper.cycles[stepper.cursor]
    newest = stepper.cycles[-1]
    newest_booked = any(o.phase == "update" for o, c in zip(stepper.ops, stepper.cycles) if c == newest)
    newest_step = trainer.step_count if newest_booked else trainer.step_count + 1
    step = newest_step - (newest - cycle)
    open_cycle = stepper.in_cycle and cycle == newest
    marks = {name: "read" for name in reads(op)}
    for name in writes(op):
        marks[name] = "write"
    return OpView(op, ops, k, step, open_cycle, params, grads, changes, marks)


class WeightEdit:
    """One weight set by hand: where, from what to what, and what the network did before and after.

    outputs_* are the network's outputs (the engine's forward pass) on the first rows of
    the training data; metrics_* the engine's full-data evaluate()."""

    def __init__(self, name, index, old, new, X, Y, outputs_before, outputs_after, metrics_before, metrics_after,
                 cleared=False):
        self.name, self.index, self.old, self.new = name, index, old, new
        self.X, self.Y = X, Y
        self.outputs_before, self.outputs_after = outputs_before, outputs_after
        self.metrics_before, self.metrics_after = metrics_before, metrics_after
        self.cleared = cleared  # op mode's records were dropped: computed with the old weight

    @property
    def label(self) -> str:
        return f"{self.name}[{','.join(map(str, self.index))}]"
