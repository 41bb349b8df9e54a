"""Steps per second while playing. No Textual here."""

from __future__ import annotations

from collections import deque


class RateMeter:
    """Steps per second over the last second or so."""

    def __init__(self, window=1.0):
        self.window = window
        self.samples = deque()

    def reset(self):
        self.samples.clear()

    def add(self, now, total_steps):
        self.samples.append((now, total_steps))
        while len(self.samples) > 2 and now - self.samples[0][0] > self.window:
            self.samples.popleft()

    def rate(self):
        if len(self.samples) < 2:
            return None
        (t0, s0), (t1, s1) = self.samples[0], self.samples[-1]
        return (s1 - s0) / (t1 - t0) if t1 > t0 else None
