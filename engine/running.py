"""The Trainer's whole-run methods: epochs, fit, and the full-data evaluation.

A mixin of engine.trainer.Trainer (kept apart so trainer.py stays a readable size: the
step's hot path and its recorded twin live there). The methods use the Trainer's fields
(net, loss, X, Y, _Xa, l2, l1, task, history, ...) and step().
"""

from __future__ import annotations

import time

from .history import is_eval_step
from .metrics import accuracy, r2
from .network import Workspace, augment, l1_penalty, l2_penalty


class Running:
    """Trainer.epoch, fit, evaluate and predict (see the module docstring)."""

    def epoch(self):
        """Steps to the end of the current epoch. Returns the metrics on the full data.

        Stops early, returning what it has, when the guard refuses a step.
        """
        start = self.epoch_count
        t0 = time.perf_counter()
        while self.epoch_count == start:
            r = self.step()
            if not r.ok:
                break
        self.seconds += time.perf_counter() - t0
        return self.evaluate()

    def fit(self, epochs, callback=None):
        """Train for `epochs` epochs (evaluating at each epoch's end); stops on a refused step."""
        for _ in range(int(epochs)):
            metrics = self.epoch()
            if callback is not None:
                callback(self, metrics)
            if self.halted is not None:
                break
        return self.evaluate()

    # ----- evaluation ----------------------------------------------------------------

    def _measure(self, X, Y):
        net = self.net
        Xa = self._Xa if X is self.X else augment(net.inputs(X), net.dtype)
        ws = self._eval_ws.get(len(X))
        if ws is None:
            ws = self._eval_ws[len(X)] = Workspace(net, len(X))
        # forward_ops(net, Xa, ws, {}, False), call for call, without its generator and cache
        # dict: the trainer evaluates on a schedule (dense early in a run), inside step().
        A_prev = Xa
        *hidden, out = net.layers
        for layer, A, Aa in zip(hidden, ws.A[1:], ws.Aa[1:]):
            layer.act.forward(A_prev.dot(layer.Wb), out=A)
            A_prev = Aa
        Z = A_prev.dot(out.Wb)
        A = out.act.forward(Z)
        value = self.loss.value(Z, A, Y, out.act)
        if self.l2:
            value += l2_penalty(net, self.l2, len(X))
        if self.l1:
            value += l1_penalty(net, self.l1, len(X))
        if self.task == "regression":
            return value, r2(A, Y)
        return value, accuracy(A, Y)

    def evaluate(self, record=True) -> dict:
        """Loss and accuracy on the whole training set (and the test set, if any).

        Recorded in the history only at the steps of the schedule (engine.history), which
        the trainer evaluates at by itself: callers' extra evaluations leave no trace, so
        the same run records the same evaluations however it was driven."""
        loss, acc = self._measure(self.X, self.Y)
        # A regression run has no accuracy: its score is r2 (and test_r2), and the keys
        # "accuracy"/"test_accuracy" are absent, never a number that means nothing.
        score = "r2" if self.task == "regression" else "accuracy"
        metrics = {"step": self.step_count, "epoch": self.epoch_count, "loss": loss, score: acc}
        if self.X_test is not None and len(self.X_test):
            tl, ta = self._measure(self.X_test, self.Y_test)
            metrics["test_loss"], metrics[f"test_{score}"] = tl, ta
        if record and is_eval_step(self.step_count):
            self.history.add_eval(self.step_count, metrics)
        self.evaluated = metrics  # a caller that saw it come in after a step reuses it (tui.run)
        return metrics

    def predict(self, X):
        return self.net.predict(X)
