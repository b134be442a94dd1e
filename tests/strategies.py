"""Hypothesis strategies for valid spec parameters, shared by the core and adapter tests."""

from __future__ import annotations

from hypothesis import assume
from hypothesis import strategies as st

from cyclr.cyclic import MODES, WAVEFORMS

rates = st.floats(min_value=1e-6, max_value=1.0, allow_nan=False, allow_infinity=False)
momenta = st.floats(min_value=0.0, max_value=0.99, allow_nan=False, allow_infinity=False)
step_sizes = st.integers(min_value=1, max_value=60)
gammas = st.floats(min_value=0.9, max_value=1.0)


@st.composite
def cyclic_kwargs(draw: st.DrawFn, groups: int | None = None, waveforms: bool = False) -> dict:
    """Keyword arguments of a valid CyclicLR: any mode, asymmetric steps, lists for groups."""

    def per_group(values: st.SearchStrategy) -> object:
        if groups is None:
            return draw(values)
        return [draw(values) for _ in range(groups)]

    kwargs = {
        "base_lr": per_group(rates),
        "max_lr": per_group(rates),
        "step_size_up": draw(step_sizes),
        "step_size_down": draw(st.none() | step_sizes),
        "mode": draw(st.sampled_from(MODES)),
        "gamma": draw(gammas),
        "cycle_momentum": draw(st.booleans()),
        "base_momentum": per_group(momenta),
        "max_momentum": per_group(momenta),
    }
    if waveforms:
        kwargs["waveform"] = draw(st.sampled_from(WAVEFORMS))
    return kwargs


@st.composite
def one_cycle_kwargs(draw: st.DrawFn, groups: int | None = None) -> dict:
    """Keyword arguments of a valid OneCycleLR, torch's too: never ``pct_start * total_steps == 1``,
    where torch divides by zero (and cyclr refuses the spec)."""

    def per_group(values: st.SearchStrategy) -> object:
        return draw(values) if groups is None else [draw(values) for _ in range(groups)]

    total_steps = draw(st.integers(1, 400))
    pct_start = draw(st.floats(0.0, 1.0))
    assume(float(pct_start * total_steps) != 1.0)
    return {
        "max_lr": per_group(st.floats(1e-4, 1.0)),
        "total_steps": total_steps,
        "pct_start": pct_start,
        "anneal_strategy": draw(st.sampled_from(["cos", "linear"])),
        "cycle_momentum": draw(st.booleans()),
        "base_momentum": per_group(st.floats(0.5, 0.9)),
        "max_momentum": per_group(st.floats(0.85, 0.99)),
        "div_factor": draw(st.floats(1.0, 1e3)),
        "final_div_factor": draw(st.floats(1.0, 1e5)),
        "three_phase": draw(st.booleans()),
    }


def _per_group(draw: st.DrawFn, values: st.SearchStrategy, groups: int | None) -> object:
    return draw(values) if groups is None else [draw(values) for _ in range(groups)]


@st.composite
def stepwise_kwargs(draw: st.DrawFn, name: str, groups: int | None = None) -> dict:
    """Keyword arguments of a valid cyclr.stepwise spec ``name`` (torch's too: ``base_lr`` first)."""
    kwargs: dict = {"base_lr": _per_group(draw, st.floats(1e-6, 1.0), groups)}
    if name == "ConstantLR":
        kwargs.update(factor=draw(st.floats(0.0, 1.0)), total_iters=draw(st.integers(0, 100)))
    elif name == "LinearLR":
        kwargs.update(
            start_factor=draw(st.floats(1e-3, 1.0)),
            end_factor=draw(st.floats(0.0, 1.0)),
            total_iters=draw(st.integers(1, 100)),
        )
    elif name == "ExponentialLR":
        kwargs.update(gamma=draw(st.floats(0.5, 1.0)))
    elif name == "StepLR":
        kwargs.update(step_size=draw(st.integers(1, 40)), gamma=draw(st.floats(0.0, 1.0)))
    elif name == "MultiStepLR":
        kwargs.update(
            milestones=sorted(draw(st.lists(st.integers(0, 150), max_size=5))),
            gamma=draw(st.floats(0.0, 2.0)),
        )
    else:
        assert name == "PolynomialLR", name
        kwargs.update(total_iters=draw(st.integers(1, 200)), power=draw(st.floats(0.1, 4.0)))
    return kwargs


@st.composite
def decay_kwargs(draw: st.DrawFn, name: str, groups: int | None = None) -> dict:
    """Keyword arguments of a valid cyclr.decay spec ``name``."""
    rates = st.floats(1e-6, 1.0)
    kwargs: dict = {"base_lr": _per_group(draw, rates, groups)}
    if name == "PolynomialDecay":
        kwargs.update(
            decay_steps=draw(st.integers(1, 500)),
            end_lr=_per_group(draw, st.floats(0.0, 1.0), groups),
            power=draw(st.floats(0.1, 4.0)),
            begin=draw(st.integers(0, 50)),
            cycle=draw(st.booleans()),
        )
    elif name == "ExponentialDecay":
        rate = draw(st.floats(0.05, 0.999) | st.floats(1.001, 2.0))
        kwargs.update(
            decay_rate=rate,
            decay_steps=draw(st.integers(1, 100)),
            staircase=draw(st.booleans()),
            begin=draw(st.integers(0, 50)),
            end_lr=(
                _per_group(draw, st.floats(1.0, 2.0), groups)
                if rate > 1
                else draw(st.none() | st.just(_per_group(draw, st.floats(0.0, 1e-3), groups)))
            ),
        )
    elif name == "InverseTimeDecay":
        kwargs.update(
            decay_rate=draw(st.floats(0.0, 10.0)),
            decay_steps=draw(st.integers(1, 100)),
            staircase=draw(st.booleans()),
        )
    else:
        assert name == "PiecewiseConstant", name
        boundaries = sorted(set(draw(st.lists(st.integers(0, 300), max_size=5))))
        factors = st.just(0.0) | st.floats(1e-3, 2.0)  # no subnormal values: XLA flushes them to 0
        kwargs.update(
            boundaries=boundaries,
            factors=draw(st.lists(factors, min_size=len(boundaries) + 1, max_size=len(boundaries) + 1)),
            inclusive=draw(st.booleans()),
        )
    return kwargs
