"""torch's step-wise schedulers as oracles: their closed forms bit for bit, their recursive step() to its
measured drift, and one test per documented error of cyclr.stepwise."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from oracle import torch_trajectory
from strategies import stepwise_kwargs

import cyclr
from cyclr import ConstantLR, ExponentialLR, LinearLR, MultiStepLR, PolynomialLR, StepLR
from cyclr.torch import Scheduler

Torch = torch.optim.lr_scheduler
FAMILIES = ["ConstantLR", "LinearLR", "ExponentialLR", "StepLR", "MultiStepLR", "PolynomialLR"]
BIG_STEPS = [10**6, 2**31 - 1, 2**40 + 3, 2**53 - 1]


def torch_scheduler(name: str, kwargs: dict, groups: int = 1) -> Torch.LRScheduler:
    base = kwargs["base_lr"] if isinstance(kwargs["base_lr"], (list, tuple)) else [kwargs["base_lr"]] * groups
    params = [{"params": [torch.nn.Parameter(torch.zeros(1))], "lr": lr} for lr in base]
    optimizer = torch.optim.SGD(params, lr=0.1)
    arguments = {key: value for key, value in kwargs.items() if key != "base_lr"}
    if name == "MultiStepLR":
        arguments["milestones"] = list(arguments["milestones"])
    return getattr(Torch, name)(optimizer, **arguments)


def closed_form(scheduler: Torch.LRScheduler, step: int) -> list[float]:
    """torch's ``_get_closed_form_lr`` at ``step`` (its ``last_epoch``)."""
    scheduler.last_epoch = step
    return [float(lr) for lr in scheduler._get_closed_form_lr()]


@pytest.mark.parametrize("name", FAMILIES)
@given(data=st.data())
def test_the_spec_is_torchs_closed_form_bit_for_bit(name, data):
    kwargs = data.draw(stepwise_kwargs(name), label="kwargs")
    spec = getattr(cyclr, name)(**kwargs)
    scheduler = torch_scheduler(name, kwargs)
    steps = [*range(120), *BIG_STEPS]
    ours = spec.lr_at(np.array(steps))
    for k, step in enumerate(steps):
        expected = closed_form(scheduler, step)
        assert np.array_equal(np.atleast_1d(ours[k]), expected), (step, ours[k], expected)
        assert np.array_equal(np.atleast_1d(spec.lr_at(step)), expected)


@pytest.mark.parametrize("name", FAMILIES)
@given(data=st.data())
def test_the_scheduler_over_the_spec_is_the_closed_form_at_every_step(name, data):
    kwargs = data.draw(stepwise_kwargs(name, groups=2), label="kwargs")
    spec = getattr(cyclr, name)(**kwargs)
    lrs, _ = torch_trajectory(lambda opt: Scheduler(opt, spec), 80, groups=2)
    assert np.array_equal(lrs, spec.lr_at(np.arange(80)))


# -- torch's recursive step() drifts from its own closed form ---------------------------------------------

EPS = 2.0**-53  # the unit roundoff


def recursive_drift(name: str, kwargs: dict, num_steps: int) -> np.ndarray:
    """|torch's stepped lr - its closed form| / closed form, per step (0 where both are 0)."""
    scheduler = torch_scheduler(name, kwargs)
    optimizer = scheduler.optimizer
    stepped = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _ in range(num_steps):
            stepped.append(optimizer.param_groups[0]["lr"])
            optimizer.step()
            scheduler.step()
    exact = getattr(cyclr, name)(**kwargs).lr_at(np.arange(num_steps))
    stepped = np.array(stepped)
    return np.where(exact == 0, np.abs(stepped), np.abs(stepped - exact) / np.where(exact == 0, 1, exact))


def test_torchs_step_drifts_from_its_closed_form_within_the_rounding_bounds():
    r"""Each recursive step multiplies the lr by a ratio computed in float64: the relative error grows by
    the ratio's rounding each step. The bounds, per step ``k`` (u = 2**-53):

    * ExponentialLR, StepLR, MultiStepLR: one rounding per multiplication by gamma (and gamma's own
      power is one pow): ``(k_mults + 1) u``.
    * ConstantLR: ``lr * factor``, then ``* (1 / factor)``: 3 roundings, against the closed form's 2.
    * LinearLR: the ratio ``1 + (e - s) / (T s + (k - 1)(e - s))``, 4 roundings, then the product: 5 u
      per step.
    * PolynomialLR: the ratio of ``1 - k/T`` and ``1 - (k-1)/T``, each exact to ``u`` absolute, i.e.
      ``u T / (T - k)`` relative, raised to ``power``: ``(power (2 T / (T - k + 1) + 1) + 2) u`` per step.
    """
    steps = 400
    k = np.arange(steps)
    bounds = {
        "ExponentialLR": (dict(base_lr=0.1, gamma=0.99), (k + 1) * EPS),
        "StepLR": (dict(base_lr=0.1, step_size=7, gamma=0.7), (k // 7 + 1) * EPS),
        "MultiStepLR": (dict(base_lr=0.1, milestones=[5, 5, 50, 300], gamma=0.3), 6 * EPS + 0 * k),
        "ConstantLR": (dict(base_lr=0.1, factor=0.3, total_iters=9), 3 * EPS + 0 * k),
        "LinearLR": (
            dict(base_lr=0.1, start_factor=0.01, end_factor=0.9, total_iters=300),
            5 * (k + 1) * EPS,
        ),
    }
    T, power = 390, 1.7
    per_step = (power * (2 * T / np.maximum(T - k + 1, 1) + 1) + 2) * EPS
    bounds["PolynomialLR"] = (dict(base_lr=0.1, total_iters=T, power=power), np.cumsum(per_step))
    report = {}
    for name, (kwargs, bound) in bounds.items():
        drift = recursive_drift(name, kwargs, steps)
        if name == "PolynomialLR":
            drift, bound = drift[:T], bound[:T]  # 0 from T on in both (torch's last ratio is 0 / x)
        assert np.all(drift <= bound), (name, np.max(drift / bound))
        report[name] = float(drift.max())
    # The drift is real, not a rounding of the comparison: torch's stepped values are not its closed form.
    assert report["LinearLR"] > 0 and report["PolynomialLR"] > 1e-15 and report["ExponentialLR"] > 0


def test_torchs_constant_lr_recursion_divides_by_a_zero_factor_where_the_spec_does_not():
    spec = ConstantLR(0.1, factor=0.0, total_iters=3)
    assert spec.lr_at(np.arange(5)).tolist() == [0.0, 0.0, 0.0, 0.1, 0.1]
    scheduler = torch_scheduler("ConstantLR", dict(base_lr=0.1, factor=0.0, total_iters=3))
    assert closed_form(scheduler, 3) == [0.1]  # torch's closed form agrees ...
    scheduler.last_epoch = 0
    with pytest.raises(ZeroDivisionError), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _ in range(3):
            scheduler.optimizer.step()
            scheduler.step()  # ... its step() divides by the factor at total_iters


# -- the laws -------------------------------------------------------------------------------------------


def test_exponential_lr_is_exponential_decay_with_a_staircase_of_one_step():
    steps = np.arange(0, 5000, 7)
    assert np.array_equal(
        ExponentialLR(0.1, 0.999).lr_at(steps),
        cyclr.ExponentialDecay(0.1, 0.999, 1, staircase=True).lr_at(steps),
    )
    assert np.array_equal(
        StepLR(0.1, 9, 0.5).lr_at(steps), cyclr.ExponentialDecay(0.1, 0.5, 9, staircase=True).lr_at(steps)
    )


def test_polynomial_lr_is_polynomial_decay_to_zero():
    steps = np.arange(300)
    for power in (1.0, 0.5, 2.0, 3.3):
        assert np.array_equal(
            PolynomialLR(0.3, 250, power).lr_at(steps),
            cyclr.PolynomialDecay(0.3, 250, power=power).lr_at(steps),
        )


@pytest.mark.parametrize("step", [2**63 + 5, 2**200, 10**400])
def test_huge_python_steps_are_exact(step):
    assert ExponentialLR(0.1, 0.9).lr_at(step) == 0.0
    assert ExponentialLR(0.1, 1.0).lr_at(step) == 0.1
    assert StepLR(0.1, 3, 0.0).lr_at(step) == 0.0
    # (1 - 2**-53) ** n is 0 from n = 2**63 on (e**-1024): step // 2**62 is 2 at 2**63 + 5, huge after
    gamma = 1 - 2**-53
    assert StepLR(0.1, 2**62, gamma).lr_at(step) == (0.1 * gamma**2 if step < 2**64 else 0.0)
    assert MultiStepLR(0.1, [5, 7], 0.5).lr_at(step) == 0.025
    assert LinearLR(0.1, 0.5).lr_at(step) == 0.1
    assert ConstantLR(0.1).lr_at(step) == 0.1
    assert PolynomialLR(0.1).lr_at(step) == 0.0


def test_the_last_steps_before_the_power_settles_are_the_power():
    # gamma**n is 0 from the capped exponent on: one step before it the value is still the power
    spec = StepLR(1.0, 1, 0.5)
    assert spec.lr_at(1074) == 2.0**-1074 and spec.lr_at(1075) == 0.0 and spec.lr_at(2**70) == 0.0


def test_multistep_lr_counts_a_repeated_milestone_twice_like_torch():
    spec = MultiStepLR(1.0, [2, 2, 4], gamma=0.5)
    assert spec.lr_at(np.arange(6)).tolist() == [1.0, 1.0, 0.25, 0.25, 0.125, 0.125]


def test_multistep_lr_may_grow_with_a_gamma_above_one():
    spec = MultiStepLR(0.1, [3, 6], gamma=2.0)
    assert spec.lr_at(np.arange(8)).tolist() == [0.1] * 3 + [0.2] * 3 + [0.4] * 2


# -- errors, one per documented error ---------------------------------------------------------------------

ERRORS = [
    (ConstantLR, dict(factor=1.5), ValueError, r"factor must be <= 1.0, got 1.5"),
    (ConstantLR, dict(factor=-0.1), ValueError, r"factor must be >= 0.0, got -0.1"),
    (ConstantLR, dict(total_iters=-1), ValueError, r"total_iters must be an integer >= 0, got -1"),
    (ConstantLR, dict(total_iters=5.0), TypeError, r"total_iters must be an integer, got 5.0"),
    (LinearLR, dict(start_factor=0.0), ValueError, r"start_factor must be > 0.0, got 0.0"),
    (LinearLR, dict(start_factor=1.5), ValueError, r"start_factor must be <= 1.0, got 1.5"),
    (LinearLR, dict(end_factor=-0.5), ValueError, r"end_factor must be >= 0.0, got -0.5"),
    (LinearLR, dict(total_iters=0), ValueError, r"total_iters must be a positive integer, got 0"),
    (LinearLR, dict(total_iters=2**63), ValueError, r"total_iters must be <= 2\*\*63 - 1"),
    (ExponentialLR, dict(gamma=1.01), ValueError, r"gamma must be in \[0, 1\], got 1.01: .* inf"),
    (ExponentialLR, dict(gamma=math.nan), ValueError, r"gamma must be finite, got nan"),
    (ExponentialLR, dict(gamma="0.9"), TypeError, r"gamma must be a real number, got '0.9'"),
    (StepLR, dict(step_size=0), ValueError, r"step_size must be a positive integer, got 0"),
    (StepLR, dict(step_size=2.0), TypeError, r"step_size must be an integer, got 2.0"),
    (StepLR, dict(step_size=3, gamma=2.0), ValueError, r"gamma must be in \[0, 1\], got 2.0"),
    (
        MultiStepLR,
        dict(milestones=[5, 3]),
        ValueError,
        r"milestones must be in increasing order .*milestones\[0\]=5, milestones\[1\]=3",
    ),
    (MultiStepLR, dict(milestones=[-1]), ValueError, r"milestones\[0\] must be an integer >= 0, got -1"),
    (MultiStepLR, dict(milestones=[1.0]), TypeError, r"milestones\[0\] must be an integer, got 1.0"),
    (MultiStepLR, dict(milestones=5), TypeError, r"milestones must be a sequence of integers, got 5"),
    (MultiStepLR, dict(milestones=[2**63]), ValueError, r"milestones\[0\] must be <= 2\*\*63 - 1"),
    (
        MultiStepLR,
        dict(milestones=[1] * 2000, gamma=2.0),
        ValueError,
        r"base_lr \* gamma \*\* len\(milestones\) must be a finite float",
    ),
    (MultiStepLR, dict(milestones=[1], gamma=-1.0), ValueError, r"gamma must be >= 0.0, got -1.0"),
    (PolynomialLR, dict(total_iters=0), ValueError, r"total_iters must be a positive integer, got 0"),
    (PolynomialLR, dict(power=0.0), ValueError, r"power must be > 0.0, got 0.0"),
    (PolynomialLR, dict(power=-1.0), ValueError, r"power must be > 0.0, got -1.0"),
    (PolynomialLR, dict(base_lr=-0.1), ValueError, r"base_lr must be >= 0.0, got -0.1"),
]
REQUIRED = {ExponentialLR: dict(gamma=0.9), StepLR: dict(step_size=3), MultiStepLR: dict(milestones=[3])}


@pytest.mark.parametrize(
    "cls, kwargs, error, message", ERRORS, ids=lambda x: getattr(x, "__name__", None) or str(x)[:40]
)
def test_bad_parameters_are_refused_by_name(cls, kwargs, error, message):
    with pytest.raises(error, match=message):
        cls(**{"base_lr": 0.1, **REQUIRED.get(cls, {}), **kwargs})
