"""cyclr: cyclical learning-rate schedules as pure functions, exact and fast in every framework.

A spec is an immutable value mapping a step count to ``(lr, momentum)``; ``spec.lr_at(step)`` works on
ints and arrays, ``spec.precompute(n)`` gives whole schedules, ``cyclr.numba.compile(spec)`` gives a
function to call from your own ``@numba.njit`` code. Framework adapters live in ``cyclr.torch``,
``cyclr.jax`` and ``cyclr.keras`` and are imported only when you import them.
"""

from __future__ import annotations

import importlib
from typing import Any

from ._spec import Spec, from_dict
from .compose import Join, Warmup, join, warmup
from .cosine import CosineAnnealingLR, CosineAnnealingWarmRestarts
from .cosine_decay import CosineDecay, CosineDecayRestarts
from .cyclic import CyclicLR
from .decay import Constant, ExponentialDecay, InverseTimeDecay, PiecewiseConstant, PolynomialDecay
from .inverse_sqrt import InverseSqrt
from .onecycle import OneCycleLR
from .plotting import plot
from .rangetest import LRRangeTest, RangeTestResult, find_lr, suggest
from .stepwise import ConstantLR, ExponentialLR, LinearLR, MultiStepLR, PolynomialLR, StepLR
from .wsd import WarmupStableDecay

__version__ = "0.1.0"

__all__ = [
    "CosineAnnealingLR",
    "CosineAnnealingWarmRestarts",
    "CosineDecay",
    "CosineDecayRestarts",
    "Constant",
    "ConstantLR",
    "CyclicLR",
    "ExponentialDecay",
    "ExponentialLR",
    "InverseSqrt",
    "InverseTimeDecay",
    "Join",
    "LRRangeTest",
    "LinearLR",
    "MultiStepLR",
    "OneCycleLR",
    "PiecewiseConstant",
    "PolynomialDecay",
    "PolynomialLR",
    "RangeTestResult",
    "Spec",
    "StepLR",
    "Warmup",
    "WarmupStableDecay",
    "find_lr",
    "from_dict",
    "join",
    "numba",
    "plot",
    "suggest",
    "warmup",
]


def __getattr__(name: str) -> Any:
    # ``cyclr.numba`` after a plain ``import cyclr``, importing numba only now, on first use.
    if name == "numba":
        return importlib.import_module("cyclr.numba")
    raise AttributeError(f"module 'cyclr' has no attribute {name!r}")
