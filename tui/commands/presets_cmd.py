"""`netstep presets`: the named runs, one line each."""

from __future__ import annotations


def add_parser(sub):
    sub.add_parser("presets", help="list the named presets").set_defaults(handler=run)


def run(args) -> int:
    import engine

    for name in engine.presets:
        print(f"{name:10s} {engine.presets[name].describe()}")
    return 0
