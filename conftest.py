"""Test settings shared by the tests and the doctests of the package."""

import os

from hypothesis import HealthCheck, settings

# Compiling (numba, torch.compile, jax.jit) inside an example would trip hypothesis' 200 ms deadline.
settings.register_profile(
    "cyclr",
    deadline=None,
    max_examples=int(os.environ.get("CYCLR_MAX_EXAMPLES", "60")),
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile("cyclr")
os.environ.setdefault("KERAS_BACKEND", "jax")
os.environ.setdefault("MPLBACKEND", "Agg")
