"""The compare screen's play rate against the same race stepped headless, and the dashboard's
play rate against its trainer headless (the reference: what drawing costs the dashboard).

    python benchmarks/compare_bench.py          # about 20 seconds

Both ratios are measured in this one run on the spiral preset (2-32-32-3, four optimizers
for the race), playing SECONDS in a headless Textual app at 120x40. Ratios near each other
mean the compare screen costs training no more than the dashboard does. Run it with
OPENBLAS_NUM_THREADS=1 on a busy machine: small products are many times slower when BLAS
threads compete for the cores (the script prints the setting).
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import engine  # noqa: E402
from engine import race  # noqa: E402

SECONDS = 4.0


async def _app_rate(screen_key):
    from tests.tui.app_helpers import make_app, wait_for
    from tui.screens.compare import CompareScreen

    app = make_app("spiral", epochs=10 ** 6)
    async with app.run_test(size=(120, 40)) as pilot:
        if screen_key:
            await pilot.press(screen_key)
            await wait_for(pilot, lambda: isinstance(app.screen, CompareScreen))
            count = lambda: app.screen.lockstep.steps  # noqa: E731
        else:
            count = lambda: app.state.trainer.step_count  # noqa: E731
        await pilot.press("p")
        t0, a = time.perf_counter(), count()
        await pilot.pause(SECONDS)
        rate = (count() - a) / (time.perf_counter() - t0)
        await pilot.press("p")
    return rate


def _headless(step):
    t0, n = time.perf_counter(), 0
    while time.perf_counter() - t0 < SECONDS:
        step()
        n += 1
    return n / (time.perf_counter() - t0)


def main():
    config = engine.presets["spiral"]
    lockstep = race.Lockstep(race.variants(config, "optimizer", race.default_values(config, "optimizer")))
    trainer = engine.build(config)
    compare_app = asyncio.run(_app_rate("C"))
    compare_head = _headless(lockstep.step)
    dash_app = asyncio.run(_app_rate(None))
    dash_head = _headless(trainer.step)
    print(f"OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS', 'unset')}")
    print(f"compare screen: {compare_app:7.0f} rounds/s playing, {compare_head:7.0f} headless, "
          f"ratio {compare_app / compare_head:.2f}")
    print(f"dashboard:      {dash_app:7.0f} steps/s playing,  {dash_head:7.0f} headless, "
          f"ratio {dash_app / dash_head:.2f}")


if __name__ == "__main__":
    main()
