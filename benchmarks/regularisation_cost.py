"""What L1 and dropout cost, and what they cost a run that uses neither (it should be nothing).

    python benchmarks/regularisation_cost.py [--orig DIR]

Prints ratios measured in one run (interleaved rounds, best of each): the default XOR
preset's step with this engine against itself, and, with --orig DIR (a folder holding
an older engine as the package `engine_orig`, e.g. from `git archive <commit> engine`),
against that engine; then L1 and dropout against the plain step. Single-threaded BLAS
is not forced: XOR's matrices are far below any threading threshold.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import time


def steps_per_call(engine_mod, n=3000, **changes):
    config = engine_mod.presets["default"].replace(**changes) if changes else engine_mod.presets["default"]
    t = engine_mod.build(config)
    step = t.step
    for _ in range(200):
        step()
    t0 = time.perf_counter()
    for _ in range(n):
        step()
    return (time.perf_counter() - t0) / n


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--orig", help="folder holding an older engine as package engine_orig")
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    import engine

    peers = {"this engine, again": engine}
    if args.orig:
        sys.path.insert(0, args.orig)
        peers["engine_orig"] = importlib.import_module("engine_orig")
    cases = {name: (mod, {}) for name, mod in peers.items()}
    cases["l1 0.01"] = (engine, {"l1": 0.01})
    cases["dropout 0.2"] = (engine, {"dropout": 0.2})
    best = {name: float("inf") for name in cases}
    plain = float("inf")
    for _ in range(args.rounds):
        plain = min(plain, steps_per_call(engine))
        for name, (mod, changes) in cases.items():
            best[name] = min(best[name], steps_per_call(mod, **changes))
    print("default preset (XOR 2-4-1), full batch; best of", args.rounds, "interleaved rounds")
    print(f"{'vs':24s} {'ratio (ours / vs)':>18s}")
    for name in peers:
        print(f"{name:24s} {plain / best[name]:18.3f}")
    for name in ("l1 0.01", "dropout 0.2"):
        print(f"{name + ' / plain':24s} {best[name] / plain:18.3f}   (cost of the option itself)")


if __name__ == "__main__":
    main()
