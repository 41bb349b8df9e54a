"""Unit maps and boundary: what the plane costs against the boundary evaluation it replaced.

    .venv/bin/python benchmarks/plane_bench.py

Before issue 16 the boundary panel ran net.predict on its own grid in the UI thread
(about 3 times a second while playing). Now the run controller runs engine.plane.evaluate
(the boundary grid, a 12x12 grid for every unit's map and the chosen unit's full map,
in one forward pass) at most 3 times a second while playing, on the training thread. Per preset this prints the
median over rounds of the per-round ratio (plane / old predict), each round timing a
block of each, interleaved, so both see the same load; and the share of one core each
path takes at its rate (both 3/s). Grid: the boundary at 120x40 (35 x 70).
"""

from __future__ import annotations

import statistics
import time

import engine
import engine.plane as plane

ROWS, COLS = 35, 70
ROUNDS, BLOCK = 15, 0.02


def _block(fn):
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < BLOCK:
        fn()
        n += 1
    return (time.perf_counter() - t0) / n


def main():
    print(f"{'preset':<10} {'sizes':<16} {'plane/predict':>14} {'old CPU share':>14} {'plane CPU share':>16}")
    for name in ("default", "moons", "spiral"):
        trainer = engine.build(engine.presets[name])
        net = trainer.net
        lo, hi = plane.extent(trainer.X)
        grid = plane.grid(lo, hi, ROWS, COLS)
        old = lambda: net.predict(grid)  # noqa: E731
        new = lambda: plane.evaluate(net, lo, hi, ROWS, COLS, unit=(1, 0))  # noqa: E731
        ratios, olds, news = [], [], []
        for r in range(ROUNDS):
            pair = (old, new) if r % 2 else (new, old)
            t = {id(f): _block(f) for f in pair}
            olds.append(t[id(old)])
            news.append(t[id(new)])
            ratios.append(t[id(new)] / t[id(old)])
        print(f"{name:<10} {'-'.join(map(str, net.sizes)):<16} {statistics.median(ratios):>13.2f}x "
              f"{3 * statistics.median(olds):>13.2%} {3 * statistics.median(news):>15.2%}")


if __name__ == "__main__":
    main()
