"""Checkpoints: a way back from a run that blew up.

The overflow guard keeps the last finite weights, but by the time anything overflows
they are usually enormous. A checkpoint is a copy of everything a run continues from
(weights, optimizer state, counters, shuffling, history), taken

- at step 0 and at every power of two (1, 2, 4, 8, ...): a few, reaching far back;
- every RECENT_EVERY steps, the newest RECENT_KEPT of them: something close behind;
- whenever the caller is about to change the run (a new learning rate): the last LR_KEPT.

so a run of any length holds at most about 64 + RECENT_KEPT + LR_KEPT of them.

Rewind goes to the newest checkpoint from before the loss first rose sharply: the
first step whose minibatch loss exceeds SHARP_RISE times the lowest loss of the steps
before it, and exceeds the first step's loss (so noise around a small converged loss
is not a blow-up). A repeated rewind walks one checkpoint further back each time.
"""

from __future__ import annotations

import numpy as np

SHARP_RISE = 10.0     # "rose sharply": above 10x the running minimum of the step losses (and the first one)
RECENT_EVERY = 256    # steps between the rolling recent checkpoints
RECENT_KEPT = 3
LR_KEPT = 8           # checkpoints taken for a change of the run (lr), newest kept
# At most: step 0, one per power of two up to 2**30 steps (about the epochs bound), the recent and the lr ones.
MAX_KEPT = 1 + 30 + RECENT_KEPT + LR_KEPT


def next_checkpoint_step(step: int) -> int:
    """The first step after `step` with an automatic checkpoint (a power of two or a multiple of RECENT_EVERY)."""
    power = 1 << step.bit_length()  # the next power of two above step (1 at step 0)
    recent = (step // RECENT_EVERY + 1) * RECENT_EVERY
    return min(power, recent)


def is_checkpoint_step(step: int) -> bool:
    """Whether an automatic checkpoint is taken at `step` (0, a power of two, a multiple of RECENT_EVERY)."""
    return step & (step - 1) == 0 or step % RECENT_EVERY == 0


def _kind(step: int) -> str:
    return "doubling" if step & (step - 1) == 0 else "recent"


def first_sharp_rise(curve):
    """The first step (as the lowest step of its bucket) whose loss rose sharply, or None.

    Works on the bucketed curve, so the answer is exact in the exact tail and to within
    a bucket's width further back: rewind then goes to a checkpoint before that bucket.
    """
    if len(curve.hi) < 2:
        return None
    first = curve.lo[0]  # the first step's loss (the lowest of the first bucket once that is wider)
    # Lowest loss of every step before each bucket (a bucket's own lo may come after its hi).
    before = np.minimum.accumulate(np.concatenate([[np.inf], curve.lo[:-1]]))
    rose = (curve.hi > SHARP_RISE * before) & (curve.hi > first)
    hits = np.flatnonzero(rose)
    return int(curve.step_lo[hits[0]]) if hits.size else None


def rewind_target(marks, step: int, rise):
    """The checkpoint step rewind goes to from `step`: the newest mark before the current
    step and before the rise (step k's loss is measured at the weights of step k - 1, so
    for a rise at step r the weights of step r - 1 are already bad). The oldest if none."""
    limit = step if rise is None else min(step, rise - 1)
    before = [m for m in marks if m < limit]
    return before[-1] if before else (marks[0] if marks else None)


class Checkpoints:
    """The checkpoints of one trainer, oldest first."""

    def __init__(self):
        self.items: list[dict] = []

    def __len__(self):
        return len(self.items)

    def __getitem__(self, i):
        return self.items[i]

    def __iter__(self):
        return iter(self.items)

    @property
    def steps(self) -> tuple:
        return tuple(c["step"] for c in self.items)

    def take(self, trainer, kind=None):
        """Remember the trainer as it is now. kind: "doubling", "recent" or "lr" (a change of the run)."""
        step = trainer.step_count
        kind = kind or _kind(step)
        items = list(self.items)  # a new list: a reader holding the old one sees it unchanged
        # One checkpoint per step: a new one replaces an older one at the same step (the
        # state is the same), keeping the more durable kind.
        same = [c for c in items if c["step"] == step] if items and items[-1]["step"] >= step else None
        if same:
            if same[0]["kind"] == "doubling":
                kind = "doubling"
            items = [c for c in items if c["step"] != step]
        items.append({
            "step": step, "epoch": trainer.epoch_count, "kind": kind,
            "theta": trainer.net.theta.copy(), "opt_t": trainer.opt.t,
            "opt_state": {k: v.copy() for k, v in trainer.opt.state.items()},
            # Where the shuffling stood: steps replayed after a rewind see the same batches.
            "shuffling": trainer.shuffling_state(),
            "lr": trainer.base_lr, "history": trainer.history.snapshot(),
        })
        if len(items) > 1 and items[-2]["step"] > step:  # usually the newest: already in order
            items.sort(key=lambda c: c["step"])
        # Only the kind just added can have grown past its bound.
        keep = RECENT_KEPT if kind == "recent" else LR_KEPT if kind == "lr" else None
        if keep is not None:
            of_kind = [c for c in items if c["kind"] == kind]
            if len(of_kind) > keep:
                drop = {id(c) for c in of_kind[:-keep]}
                items = [c for c in items if id(c) not in drop]
        self.items = items
        trainer.history.marks = tuple(c["step"] for c in items)

    def choose(self, trainer):
        """The checkpoint rewind goes to: the newest before the first sharp rise and
        before the current step (so a repeated rewind walks further back)."""
        step = rewind_target(self.steps, trainer.step_count, first_sharp_rise(trainer.history.curve()))
        return next(c for c in self.items if c["step"] == step)

    def rewind(self, trainer) -> int:
        """Restore the chosen checkpoint into the trainer; later ones are dropped. Returns its step."""
        chosen = self.choose(trainer)
        trainer.net.theta[...] = chosen["theta"]
        trainer.opt.t = chosen["opt_t"]
        trainer.opt.state = {k: v.copy() for k, v in chosen["opt_state"].items()}
        trainer.step_count, trainer.epoch_count = chosen["step"], chosen["epoch"]
        trainer.restore_shuffling(chosen["shuffling"])
        trainer.history = chosen["history"].restore()
        self.items = [c for c in self.items if c["step"] <= chosen["step"]]
        trainer.history.marks = self.steps
        return chosen["step"]
