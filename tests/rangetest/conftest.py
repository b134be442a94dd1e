"""Fixtures of the range-test tests."""

from __future__ import annotations

import pytest
from curves import falling

from cyclr.rangetest import RangeTestResult, find_lr


@pytest.fixture
def result() -> RangeTestResult:
    """The default sweep over ``falling``: diverged at step 89."""
    return find_lr(falling, progress=False)


@pytest.fixture
def pyplot():
    """matplotlib.pyplot on the Agg backend, every figure closed afterwards."""
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    yield plt
    plt.close("all")
