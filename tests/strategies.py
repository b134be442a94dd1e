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
