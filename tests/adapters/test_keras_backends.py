"""The Keras tests on every Keras backend: TensorFlow (Keras 3's default), JAX and PyTorch.

Keras fixes its backend when it is imported, once per process. The suite's own process runs the Keras
modules on the backend KERAS_BACKEND names (JAX unless set: the root conftest); each other backend runs
the same modules, and cyclr.keras's doctests, in a pytest subprocess of its own, here. A failure names
the backend and each failed test; a backend that is not installed fails (the test extra installs all
three: tensorflow-cpu, jax, torch), it does not skip.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

BACKENDS = ("tensorflow", "jax", "torch")
IN_PROCESS = os.environ["KERAS_BACKEND"]  # set by the root conftest when not given
ROOT = Path(__file__).resolve().parents[2]
MODULES = ["tests/adapters/test_keras.py", "tests/adapters/test_keras_range_test.py", "cyclr/keras.py"]


def summary(output: str) -> str:
    """pytest's lines naming each failed test (``FAILED path::test - reason``, ``ERROR ...``)."""
    lines = [line for line in output.splitlines() if line.startswith(("FAILED ", "ERROR "))]
    return "\n".join(lines) or "(no test named: see the output's end)"


@pytest.mark.parametrize("backend", [b for b in BACKENDS if b != IN_PROCESS])
def test_the_keras_tests_pass_on(backend):
    if importlib.util.find_spec(backend) is None:
        pytest.fail(
            f"KERAS_BACKEND={backend}: {backend} is not installed, so cyclr.keras is untested on it; "
            f'pip install -e ".[test]" installs every Keras backend (tensorflow-cpu, jax, torch)'
        )
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rfE", "--no-header"]
    command += ["-o", "addopts=", "--doctest-modules", *MODULES]
    result = subprocess.run(
        command,
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "2"},
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, (
        f"the Keras tests fail on KERAS_BACKEND={backend} (pytest exit {result.returncode}):\n"
        f"{summary(output)}\n--- the end of its output ---\n{output[-6000:]}"
    )
    assert " passed" in output.splitlines()[-1]
