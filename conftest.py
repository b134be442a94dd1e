"""Test settings shared by the tests and the doctests of the package.

Hypothesis runs deterministically unless asked otherwise: the profile "cyclr" derives every example
from the test itself (``derandomize=True``) and keeps no example database, so a run gives the same
examples on every machine and a failure seen once is seen every time (and CI never fails at random, nor
replays a failure that one developer's database holds). The profile "cyclr-random"
(``HYPOTHESIS_PROFILE=cyclr-random``) draws fresh random examples and keeps a database in
``.hypothesis/``: for hunting new failures locally, never in CI (with ``CI=true`` it is refused).
pytest's header names the profile in force.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings
from hypothesis.database import DirectoryBasedExampleDatabase

# Compiling (numba, torch.compile, jax.jit) inside an example would trip hypothesis' 200 ms deadline.
settings.register_profile(
    "cyclr",
    deadline=None,
    max_examples=int(os.environ.get("CYCLR_MAX_EXAMPLES", "60")),
    suppress_health_check=[HealthCheck.too_slow],
    derandomize=True,
    database=None,
    print_blob=True,
)
settings.register_profile(
    "cyclr-random",
    parent=settings.get_profile("cyclr"),
    derandomize=False,
    database=DirectoryBasedExampleDatabase(".hypothesis/examples"),
)
PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "cyclr")
if os.environ.get("CI", "").lower() == "true" and PROFILE != "cyclr":
    raise RuntimeError(f"CI=true runs hypothesis deterministically (profile 'cyclr'), not HYPOTHESIS_PROFILE={PROFILE!r}")
settings.load_profile(PROFILE)
os.environ.setdefault("KERAS_BACKEND", "jax")
os.environ.setdefault("MPLBACKEND", "Agg")


def pytest_report_header(config) -> str:
    current = settings()
    return (
        f"cyclr: hypothesis profile {PROFILE!r} (derandomize={current.derandomize}, database={current.database}, "
        f"max_examples={current.max_examples}, deadline={current.deadline}); KERAS_BACKEND={os.environ['KERAS_BACKEND']}"
    )
