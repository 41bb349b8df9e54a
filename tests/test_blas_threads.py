"""netstep runs NumPy's BLAS on one thread (tui/cli.py): on these small products a second
OpenBLAS thread only spin-waits, which cost the digits app five times the CPU per step."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

threadpoolctl = pytest.importorskip("threadpoolctl")

PROBE = ("import tui.cli, numpy, threadpoolctl; "
         "print(max(i['num_threads'] for i in threadpoolctl.threadpool_info() if i['user_api'] == 'blas'))")
ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir)


def _threads(**env_changes):
    env = {k: v for k, v in os.environ.items() if not k.endswith("_NUM_THREADS")}
    env.update(env_changes)
    out = subprocess.run([sys.executable, "-c", PROBE], env=env, cwd=ROOT, capture_output=True, text=True,
                         check=True)
    return int(out.stdout.strip())


def test_the_command_line_pins_blas_to_one_thread():
    assert _threads() == 1


@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="one CPU: one BLAS thread anyway")
def test_a_users_own_setting_wins():
    assert _threads(OPENBLAS_NUM_THREADS="2", OMP_NUM_THREADS="2") == 2
