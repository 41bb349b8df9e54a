"""What a run did, kept at a bounded size for any number of steps.

Per step, the minibatch loss of that step (the loss the update was computed from,
before the update). The newest RECENT to 2 * RECENT steps are kept exactly; older
steps are folded into at most CAPACITY buckets of equal width holding the lowest,
highest and last loss of their steps. When the buckets are full, neighbours merge
pairwise and the width doubles, so memory stays O(CAPACITY + RECENT) however long
the run, and every spike that happened is still inside some bucket's [lo, hi].

Evaluations (full-data loss and accuracy, test loss and accuracy where there is a
test split) are taken by the trainer at the steps of a fixed schedule that depends
on the step number only (`is_eval_step`): every step up to EVAL_ALL_FIRST, then
EVAL_PER_OCTAVE steps per doubling of the step count, at multiples of a power of
two. The same run therefore has the same evaluation steps headless or in the app,
played or stepped; 1e7 steps hold about 620 evaluations.

`curve()` gives the UI a frozen, compact copy (a `Curve`), cached until the next
step, evaluation or change of checkpoint marks.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from .checkpoints import first_sharp_rise, rewind_target

CAPACITY = 1024         # buckets for the steps older than the exact tail (even: they merge pairwise)
RECENT = 1024           # the exact tail holds between RECENT and 2 * RECENT steps
EVAL_ALL_FIRST = 64     # evaluate at every one of the first 64 steps (and at step 0)...
EVAL_PER_OCTAVE = 32    # ...then 32 times per doubling of the step count
_OCTAVE_SHIFT = EVAL_PER_OCTAVE.bit_length() - 1
EVAL_FIELDS = ("eval_step", "train_loss", "accuracy", "test_loss", "test_accuracy", "r2", "test_r2")


def eval_stride(step: int) -> int:
    """Steps between evaluations around `step`: 1 up to EVAL_ALL_FIRST, then 2^(octave - 5)."""
    if step <= EVAL_ALL_FIRST:
        return 1
    return 1 << max(0, step.bit_length() - 1 - _OCTAVE_SHIFT)


def is_eval_step(step: int) -> bool:
    """Whether the schedule evaluates at `step` (a function of the step number alone)."""
    return step <= EVAL_ALL_FIRST or step % eval_stride(step) == 0


def next_eval_step(step: int) -> int:
    """The first step after `step` that the schedule evaluates at."""
    s = step + 1
    stride = eval_stride(s)
    # Octave boundaries are multiples of the stride, so rounding up never skips past one.
    return -(-s // stride) * stride


def _frozen(a, dtype=np.float64):
    a = np.array(a, dtype=dtype)
    a.flags.writeable = False
    return a


@dataclass(frozen=True, eq=False)
class Curve:
    """A frozen copy of a History for drawing: read-only arrays, one row per bucket.

    Buckets cover steps step_lo..step_hi (old steps, CAPACITY of them at most, then the
    exact tail as one-step buckets); lo, hi and last are the lowest, highest and last
    minibatch loss in each. The evaluation series (full data) and `marks` (the steps of
    the checkpoints that rewind can go back to, `rewind_to` the one it would go to now)
    follow.
    """

    n_steps: int
    step_lo: np.ndarray
    step_hi: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    last: np.ndarray
    steps: np.ndarray          # evaluation steps
    loss: np.ndarray           # full-data training loss at those steps (after that step's update)
    accuracy: np.ndarray
    test_loss: np.ndarray      # NaN where there is no test split
    test_accuracy: np.ndarray
    marks: tuple
    rewind_to: int | None = None   # the mark rewind would go to now (engine.checkpoints)
    r2: np.ndarray | None = None       # a regression run's score at the evaluation steps (NaN otherwise)
    test_r2: np.ndarray | None = None

    @property
    def regression(self) -> bool:
        """Whether the evaluations scored R² (a regression run) rather than accuracy."""
        return self.r2 is not None and bool(np.isfinite(self.r2).any())

    @property
    def last_loss(self):
        """The latest step's minibatch loss, or None before the first step."""
        return float(self.last[-1]) if len(self.last) else None

    @property
    def last_eval(self) -> dict | None:
        """The newest evaluation as a dict (loss, accuracy, test_loss, test_accuracy, step)."""
        if not len(self.steps):
            return None
        d = {"step": int(self.steps[-1]), "loss": float(self.loss[-1]), "accuracy": float(self.accuracy[-1]),
             "test_loss": float(self.test_loss[-1]), "test_accuracy": float(self.test_accuracy[-1])}
        if self.regression:
            d["r2"], d["test_r2"] = float(self.r2[-1]), float(self.test_r2[-1])
        return d


class History:
    """Per-step minibatch losses (exact tail + min/max/last buckets) and scheduled evaluations."""

    def __init__(self, capacity=CAPACITY, recent=RECENT):
        if capacity < 2 or capacity % 2:
            raise ValueError("capacity must be an even number >= 2")
        self.capacity, self.recent = capacity, recent
        self._cap = 2 * recent           # the tail's length that triggers _compact (the trainer's hot path reads it)
        self._w = 1                      # steps per bucket (a power of two)
        self._nb = 0                     # buckets in use; the last may be partly filled
        self._fill = 0                   # steps in the last bucket
        self._lo = np.empty(capacity)
        self._hi = np.empty(capacity)
        self._last = np.empty(capacity)
        self._tail: list[float] = []     # exact losses of steps tail_start, tail_start + 1, ...
        self._tail_start = 1
        self.eval_step: list[int] = []   # steps at which the trainer evaluated (the schedule)
        self.train_loss: list[float] = []
        self.accuracy: list[float] = []
        self.test_loss: list[float] = []
        self.test_accuracy: list[float] = []
        self.r2: list[float] = []        # a regression run scores R² (engine.metrics.r2), not accuracy
        self.test_r2: list[float] = []
        self.marks: tuple = ()           # checkpoint steps (set by engine.checkpoints)
        self._curve = None
        self._curve_key = None

    # ----- recording ----------------------------------------------------------------------

    def add(self, loss) -> None:
        """The next step's minibatch loss (the trainer's hot path: an append, mostly)."""
        tail = self._tail
        tail.append(loss)
        if len(tail) >= self._cap:  # Trainer.step writes this out: keep the two alike
            self._compact()

    def extend(self, losses) -> None:
        """Many steps' losses at once (the same result as add() for each, faster)."""
        self._tail.extend(np.asarray(losses, dtype=np.float64).ravel().tolist())
        if len(self._tail) >= 2 * self.recent:
            self._compact()

    def add_eval(self, step, metrics) -> None:
        """Full-data metrics at `step` (once per step; a repeat is ignored)."""
        if self.eval_step and self.eval_step[-1] >= step:
            return
        self.eval_step.append(int(step))
        self.train_loss.append(float(metrics["loss"]))
        self.accuracy.append(float(metrics.get("accuracy", math.nan)))
        self.test_loss.append(float(metrics.get("test_loss", math.nan)))
        self.test_accuracy.append(float(metrics.get("test_accuracy", math.nan)))
        self.r2.append(float(metrics.get("r2", math.nan)))
        self.test_r2.append(float(metrics.get("test_r2", math.nan)))

    def _compact(self):
        """Fold the oldest steps, a multiple of `recent`, into the buckets, leaving between
        `recent` and 2 * `recent` exact (the same split whether steps came one by one or not)."""
        tail = self._tail
        k = (len(tail) - self.recent) // self.recent * self.recent
        self._absorb(np.array(tail[:k], dtype=np.float64))
        # A new list, not del tail[:k]: the tail and the evaluation lists only ever grow in
        # place, so a snapshot (checkpoints) can keep them by reference and length.
        self._tail = tail[k:]
        self._tail_start += k

    def _absorb(self, values):
        """Fold the losses of the steps right after the buckets into them."""
        i, n = 0, len(values)
        lo, hi, last = self._lo, self._hi, self._last
        while i < n:
            w, nb = self._w, self._nb
            if nb and self._fill < w:  # top up the partly filled bucket
                seg = values[i:i + w - self._fill]
                lo[nb - 1] = min(lo[nb - 1], seg.min())
                hi[nb - 1] = max(hi[nb - 1], seg.max())
                last[nb - 1] = seg[-1]
                self._fill += len(seg)
                i += len(seg)
                continue
            if nb == self.capacity:
                self._merge()
                continue
            full = min((n - i) // w, self.capacity - nb)
            if full:
                seg = values[i:i + full * w].reshape(full, w)
                lo[nb:nb + full] = seg.min(axis=1)
                hi[nb:nb + full] = seg.max(axis=1)
                last[nb:nb + full] = seg[:, -1]
                self._nb, self._fill = nb + full, w
                i += full * w
            else:  # fewer than w steps left: they start a new bucket
                seg = values[i:]
                lo[nb], hi[nb], last[nb] = seg.min(), seg.max(), seg[-1]
                self._nb, self._fill = nb + 1, len(seg)
                i = n

    def _merge(self):
        """Full: neighbouring buckets merge pairwise, and the width doubles."""
        half = self.capacity // 2
        for a, reduce in ((self._lo, np.minimum), (self._hi, np.maximum)):
            a[:half] = reduce(a[0::2], a[1::2])
        self._last[:half] = self._last[1::2]
        self._nb, self._w, self._fill = half, 2 * self._w, 2 * self._w

    # ----- reading --------------------------------------------------------------------------

    @property
    def n_steps(self) -> int:
        return self._tail_start - 1 + len(self._tail)

    def __len__(self):
        return self.n_steps

    @property
    def last_loss(self):
        """The latest step's minibatch loss, or None before the first step."""
        return self._tail[-1] if self._tail else None

    def recent_steps(self):
        """(steps, losses) of the exactly kept tail, as arrays."""
        start = self._tail_start
        return np.arange(start, start + len(self._tail)), np.array(self._tail, dtype=np.float64)

    def stored(self) -> int:
        """Numbers held (buckets, exact tail, evaluations): bounded whatever the run's length."""
        return 3 * self._nb + len(self._tail) + len(EVAL_FIELDS) * len(self.eval_step)

    def _bucket_steps(self):
        nb, w = self._nb, self._w
        step_lo = np.arange(nb, dtype=np.int64) * w + 1
        step_hi = step_lo + (w - 1)
        if nb:
            step_hi[-1] = step_lo[-1] + self._fill - 1
        return step_lo, step_hi

    def curve(self) -> Curve:
        """A frozen copy for drawing, the same object until something new is recorded."""
        key = (self.n_steps, len(self.eval_step), self.marks)
        if self._curve is not None and self._curve_key == key:
            return self._curve
        nb = self._nb
        steps, tail = self.recent_steps()
        step_lo, step_hi = self._bucket_steps()
        self._curve = Curve(
            n_steps=self.n_steps,
            step_lo=_frozen(np.concatenate([step_lo, steps]), np.int64),
            step_hi=_frozen(np.concatenate([step_hi, steps]), np.int64),
            lo=_frozen(np.concatenate([self._lo[:nb], tail])),
            hi=_frozen(np.concatenate([self._hi[:nb], tail])),
            last=_frozen(np.concatenate([self._last[:nb], tail])),
            steps=_frozen(self.eval_step, np.int64), loss=_frozen(self.train_loss),
            accuracy=_frozen(self.accuracy), test_loss=_frozen(self.test_loss),
            test_accuracy=_frozen(self.test_accuracy), marks=tuple(self.marks),
            r2=_frozen(self.r2), test_r2=_frozen(self.test_r2))
        if self.marks:
            target = rewind_target(self.marks, self.n_steps, first_sharp_rise(self._curve))
            self._curve = replace(self._curve, rewind_to=target)
        self._curve_key = key
        return self._curve

    def copy(self) -> "History":
        h = History.__new__(History)
        h.__dict__.update(self.__dict__)
        h._lo, h._hi, h._last = self._lo.copy(), self._hi.copy(), self._last.copy()
        h._tail = list(self._tail)
        for name in EVAL_FIELDS:
            setattr(h, name, list(getattr(self, name)))
        h._curve = h._curve_key = None
        return h

    def snapshot(self) -> "HistorySnapshot":
        """The history as it is now, for a checkpoint: restore() gives a copy() of it.

        Cheap to take (a checkpoint comes every 256 steps): the exact tail and the
        evaluation lists only grow in place (_compact starts a new tail list), so they are
        kept by reference and length; only the buckets, rewritten in place, are copied."""
        nb = self._nb
        state = dict(self.__dict__)
        state["_lo"], state["_hi"], state["_last"] = self._lo[:nb].copy(), self._hi[:nb].copy(), self._last[:nb].copy()
        state["_curve"] = state["_curve_key"] = None
        lengths = {name: len(state[name]) for name in ("_tail",) + EVAL_FIELDS}
        return HistorySnapshot(state, lengths)

    # ----- files ------------------------------------------------------------------------------

    def to_dict(self) -> dict:
        """Plain lists (engine.io saves each as a float array): the tail as `loss` from
        `loss_start`, the buckets, and the evaluations."""
        nb = self._nb
        d = {"loss": list(self._tail), "loss_start": [self._tail_start],
             "bucket_lo": self._lo[:nb].tolist(), "bucket_hi": self._hi[:nb].tolist(),
             "bucket_last": self._last[:nb].tolist(), "bucket_shape": [self._w, self._fill]}
        for name in EVAL_FIELDS:
            d[name] = list(getattr(self, name))
        return d

    @classmethod
    def from_dict(cls, d) -> "History":
        """A History from to_dict(), or from an older file that kept every step's loss in `loss`."""
        h = cls()
        if "bucket_shape" in d:
            w, fill = (int(v) for v in d["bucket_shape"])
            lo, hi, last = (np.asarray(d[k], dtype=np.float64) for k in ("bucket_lo", "bucket_hi", "bucket_last"))
            nb = len(lo)
            if not (len(hi) == len(last) == nb <= h.capacity and w >= 1 and w & (w - 1) == 0
                    and (0 < fill <= w if nb else fill == 0)):
                raise ValueError("inconsistent loss buckets")
            h._lo[:nb], h._hi[:nb], h._last[:nb] = lo, hi, last
            h._nb, h._w, h._fill = nb, w, fill
            h._tail_start = (nb - 1) * w + fill + 1 if nb else 1
            start = int(d.get("loss_start", [h._tail_start])[0])
            if start != h._tail_start:
                raise ValueError("the exact losses do not follow the buckets")
            h._tail = [float(v) for v in d.get("loss", [])]
            if len(h._tail) >= 2 * h.recent:
                h._compact()
        else:
            h.extend(d.get("loss", []))
        for name in EVAL_FIELDS:
            values = d.get(name, [])
            getattr(h, name).extend(int(v) for v in values) if name == "eval_step" else \
                getattr(h, name).extend(float(v) for v in values)
        for name in EVAL_FIELDS[1:]:  # a file from before a series existed: NaN for its evaluations
            series = getattr(h, name)
            series.extend([math.nan] * (len(h.eval_step) - len(series)))
        return h

    def csv_rows(self):
        """Exactly what was kept, as CSV rows (header first).

        One row per exactly kept step (step = last_step, loss_min = loss_max = loss) and
        per older bucket (steps step..last_step, `loss` the last step's); an evaluation
        fills the row of its step, or has a row of its own (losses blank) where its step
        lies inside a bucket. Step 0 is the evaluation before any training. A regression run's
        score columns are `r2` and `test_r2` (in place of accuracy, which it does not have)."""
        c = self.curve()
        score, test_score = (c.r2, c.test_r2) if c.regression else (c.accuracy, c.test_accuracy)
        rows = {}
        for a, b, lo, hi, last in zip(c.step_lo.tolist(), c.step_hi.tolist(), c.lo.tolist(), c.hi.tolist(),
                                      c.last.tolist()):
            rows[(a, b)] = [str(a), str(b), _fmt(last), _fmt(lo), _fmt(hi), "", "", "", ""]
        for s, *metrics in zip(c.steps.tolist(), c.loss.tolist(), score.tolist(), c.test_loss.tolist(),
                               test_score.tolist()):
            row = rows.setdefault((s, s), [str(s), str(s), "", "", "", "", "", "", ""])
            row[5:] = [_fmt(v) for v in metrics]
        names = ("r2", "test_r2") if c.regression else ("accuracy", "test_accuracy")
        yield ["step", "last_step", "loss", "loss_min", "loss_max", "train_loss", names[0], "test_loss", names[1]]
        for key in sorted(rows):
            yield rows[key]


def _fmt(x) -> str:
    return "" if x is None or (isinstance(x, float) and math.isnan(x)) else repr(float(x))


class HistorySnapshot:
    """A History as it was (History.snapshot()); restore() makes a new History of it, each time."""

    __slots__ = ("_state", "_lengths")

    def __init__(self, state, lengths):
        self._state, self._lengths = state, lengths

    @property
    def n_steps(self) -> int:
        return self._state["_tail_start"] - 1 + self._lengths["_tail"]

    def restore(self) -> History:
        h = History.__new__(History)
        h.__dict__.update(self._state)
        for name, n in self._lengths.items():
            setattr(h, name, self._state[name][:n])  # a new list of the first n entries
        for name in ("_lo", "_hi", "_last"):
            full = np.empty(h.capacity)
            part = self._state[name]
            full[:len(part)] = part
            setattr(h, name, full)
        return h
