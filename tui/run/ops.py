"""The run controller's operation view and hand edits: one matrix operation at a time
(engine.stepper.OpStepper) and one weight set by hand, each recorded as step() records a step.

A mixin of RunController (tui/run/controller.py), which holds the trainer, the stepper,
the metrics and the version these methods move. No Textual here.
"""

from __future__ import annotations

import numpy as np

from tui.opstate import WeightEdit

EDIT_ROWS = 8                    # examples whose outputs a weight edit shows before and after
MAX_EDIT = 1e6                   # |weight| a hand edit may set (larger ones overflow the forward pass)


def quiet():
    return np.errstate(over="ignore", invalid="ignore", divide="ignore")  # the guard reports these


class OpControls:
    """next_op, prev_op, goto_op, finish_ops, step_ops, leave_ops and edit_weight."""

    # ----- op mode: one matrix operation at a time (engine.stepper.OpStepper) --------------

    def _ops_moved(self, before):
        """After the stepper ran: if its cycle booked a step, record it as step() does."""
        trainer = self.trainer
        if trainer.step_count != before:
            self._stepped = True
            self._booked(trainer.result)
            self.metrics = trainer.evaluate()
        self.version += 1

    def next_op(self):
        """Show the next operation, computing it at the newest one. None if the guard refused the step."""
        trainer, stepper = self.trainer, self.stepper
        before = trainer.step_count
        if stepper.at_newest and not stepper.in_cycle:
            np.copyto(self._prev, trainer.net.theta)  # a new cycle: its change is measured from here
            self.edit = None
        with quiet():
            op = stepper.next()
            self._ops_moved(before)
        return op

    def prev_op(self):
        """Show the previous operation (computes nothing)."""
        op = self.stepper.back()
        self.version += 1
        return op

    def goto_op(self, op):
        """Show a retained operation (an Op or its position in stepper.ops)."""
        op = self.stepper.goto(op)
        self.version += 1
        return op

    def finish_ops(self) -> bool:
        """Run the rest of a cycle left open by op mode (exactly the step it began). False if none was open."""
        trainer, stepper = self.trainer, self.stepper
        if not stepper.in_cycle:
            return False
        before = trainer.step_count
        with quiet():
            stepper.finish_cycle()
            self._ops_moved(before)
        return True

    def step_ops(self):
        """One whole cycle through the stepper (the op view then lists every op of it).

        The same arithmetic as step(); a cycle left open is finished instead."""
        if self.finish_ops():
            return self.trainer.result
        self.stepper.finish_cycle()  # only moves the cursor to the newest op: the next one starts a cycle
        op = self.next_op()
        if op is not None:
            self.finish_ops()
        return self.trainer.result

    def leave_ops(self):
        """Before play: finish a cycle left open, and forget the ops (training moves past them)."""
        finished = self.finish_ops()
        self.stepper.reset()
        return finished

    def edit_weight(self, name, index, value) -> WeightEdit:
        """Set one entry of a parameter and evaluate at once, without a training step.

        `value` must be a finite number with |value| <= MAX_EDIT (ValueError otherwise,
        naming what is allowed). An open op cycle is abandoned and the ops forgotten:
        their numbers were computed with the old weight."""
        value = float(value)
        if not (abs(value) <= MAX_EDIT):  # also refuses NaN
            raise ValueError(f"a weight must be a finite number between -{MAX_EDIT:g} and {MAX_EDIT:g}")
        trainer = self.trainer
        net = trainer.net
        if name not in net.params:
            raise ValueError(f"no parameter {name}; the network has {', '.join(net.params)}")
        P = net.params[name]
        index = tuple(int(i) for i in index)
        if len(index) != P.ndim or not all(0 <= i < n for i, n in zip(index, P.shape)):
            raise ValueError(f"{name} has shape {P.shape}; no entry {index}")
        before = trainer.step_count
        cleared = bool(self.stepper.ops)
        with quiet():
            self.stepper.abandon()  # finishes instead when the update was already applied
            if trainer.step_count != before:
                self._ops_moved(before)
            self.stepper.reset()
            rows = min(EDIT_ROWS, len(trainer.X))
            X, Y = trainer.X[:rows], trainer.Y[:rows]
            out_before = net.predict(X)
            metrics_before = dict(self.metrics)
            old = float(P[index])
            P[index] = value  # the network's own array: the engine reads it from here on
            out_after = net.predict(X)
            self.metrics = trainer.evaluate(record=False)
        self._stepped = False  # theta - prev would count the edit as the latest update
        self.edit = WeightEdit(name, index, old, float(P[index]), X.copy(), Y.copy(), out_before, out_after,
                               metrics_before, dict(self.metrics), cleared)
        self.version += 1
        return self.edit
