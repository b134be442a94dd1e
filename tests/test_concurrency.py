"""Concurrent use: precompute(backend="numba") and cyclr.numba.compile from many threads, on every layer.

Regression for issue 10, item 8: under numba's workqueue threading layer (its fallback when neither TBB
nor OpenMP is installed) 8 threads calling precompute(backend="numba") aborted the process (SIGABRT,
"Concurrent access has been detected"). Each case runs in a fresh interpreter with the layer forced, so
an abort is an exit status, not a crash of the test run.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

SCRIPT = textwrap.dedent(
    """
    import threading
    import numpy as np
    import numba
    import cyclr

    specs = [
        cyclr.CyclicLR(step_size_up=50 + k, mode="exp_range", gamma=0.999) for k in range(4)
    ] + [cyclr.CyclicLR(step_size_up=7 + k, mode="triangular2") for k in range(4)]
    joined = cyclr.join([cyclr.OneCycleLR(0.1, total_steps=20), cyclr.CyclicLR(step_size_up=3)], [20])
    expected = [spec.precompute(20_000)[0] for spec in specs]
    failures = []
    barrier = threading.Barrier(8)

    def work(k):
        try:
            barrier.wait()
            for _ in range(20):
                lr, _ = specs[k].precompute(20_000, backend="numba")
                if not np.allclose(lr, expected[k], rtol=1e-15, atol=0):
                    failures.append(("precompute", k))
                schedule = cyclr.numba.compile(joined)
                if schedule(25)[0] != joined.lr_at(25):
                    failures.append(("compile", k))
        except BaseException as error:  # reported below, in the exit status
            failures.append(repr(error))

    threads = [threading.Thread(target=work, args=(k,)) for k in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not failures, failures
    print("layer", numba.threading_layer())
    print("ok")
    """
)


@pytest.mark.parametrize("layer", ["workqueue", "default", "safe"])
def test_eight_threads_precompute_and_compile(layer):
    env = {**os.environ, "NUMBA_THREADING_LAYER": layer, "NUMBA_NUM_THREADS": "4"}
    result = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, timeout=600)
    if layer == "safe" and "threading layer" in result.stderr and "could be loaded" in result.stderr:
        pytest.skip("neither TBB nor OpenMP (with fork safety) is available here")
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.splitlines()[-1] == "ok"
    if layer == "workqueue":
        assert "layer workqueue" in result.stdout
