"""Composition: a linear warmup into any spec, and specs joined one after another at step boundaries.

A composed schedule is itself a spec, with the whole contract (lr_at, precompute on every backend,
``cyclr.numba.compile``, the adapters, to_dict/from_dict); its formula calls its parts' formulas.

However they nest, joins and warmups flatten into one list of *segments*: a start step and a leaf (a
schedule that is not composed, or a warmup's ramp). The formula finds the segment holding the step by a
search on the starts (``Ops.step_function``: a bisection in Python, numpy and numba) and calls only that
segment's leaf (``Ops.switch``), each distinct leaf built once. So a join of 1,000 specs costs a search of
10 comparisons per step, never 1,000 nested calls, and numba compiles one formula per distinct leaf.
Specs nest at most ``MAX_DEPTH`` (64) levels deep, checked when they are built.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, ClassVar

import numpy as np

from ._ops import INT64_MAX, Ops
from ._spec import MAX_DEPTH, Formula, Spec
from ._validate import as_group_array, check_int, check_real_or_groups


def _check_spec(name: str, value: Any) -> Spec:
    if not isinstance(value, Spec):
        raise TypeError(f"{name} must be a cyclr spec, got {value!r} ({type(value).__name__})")
    return value


def _groups_of(specs: Sequence[Spec]) -> int | None:
    """The parameter groups every spec has (None: none has groups); mixing is an error."""
    counts = [spec.groups for spec in specs]
    if len(set(counts)) > 1:
        described = ", ".join(f"specs[{i}] has {count or 'no'}" for i, count in enumerate(counts))
        raise ValueError(f"joined specs must have the same parameter groups: {described}")
    return counts[0]


def _check_depth(kind: str, parts: Sequence[Spec]) -> int:
    """The nesting depth of a composed spec holding ``parts``; ValueError beyond ``MAX_DEPTH``."""
    depth = 1 + max(part._depth for part in parts)
    if depth > MAX_DEPTH:
        raise ValueError(
            f"{kind} nests specs {depth} deep; at most {MAX_DEPTH} are allowed (Join and Warmup inside one "
            f"another): join the parts in one flat join instead"
        )
    return depth


@dataclass(frozen=True)
class _Ramp:
    """The leaf of a warmup's first segment: ``start_lr`` rising linearly to the spec's first value."""

    warmup: Warmup

    def _formula(self, xp: Ops, quantity: str) -> Formula | None:
        spec = self.warmup.spec
        first = spec.lr_at(0) if quantity == "lr" else spec.momentum_at(0)
        if first is None:
            return None
        start = first if quantity == "momentum" else as_group_array(self.warmup.start_lr, spec.groups)  # type: ignore[arg-type]
        length = float(self.warmup.warmup_steps)  # a float, so every path divides the same float64 numbers

        def ramp(step: Any) -> Any:
            # step / length < 1 first: (first - start) * step could overflow for start_lr near 1e308
            return start + (first - start) * (step / length)

        return ramp


Leaf = Spec | _Ramp
Segments = tuple[tuple[int, Leaf], ...]


def _segments_of(spec: Spec) -> Segments:
    """``spec`` as ``(start, leaf)`` pairs, starts increasing from 0: ``leaf`` runs at ``step - start``."""
    if isinstance(spec, (Warmup, Join)):
        return spec._segments
    return ((0, spec),)


def _concatenate(parts: Sequence[tuple[int, Segments]]) -> Segments:
    """Segments of parts running from their starts, each cut short where the next part starts."""
    result: list[tuple[int, Leaf]] = []
    for k, (offset, segments) in enumerate(parts):
        end = parts[k + 1][0] if k + 1 < len(parts) else None
        result.extend(
            (offset + start, leaf) for start, leaf in segments if end is None or offset + start < end
        )
    return tuple(result)


def _piecewise(segments: Segments, xp: Ops, quantity: str) -> Formula | None:
    """``step -> leaf_k(step - start_k)`` for the segment ``k`` holding ``step``, over the namespace
    ``xp``."""
    starts = [start for start, _ in segments]
    distinct: dict[Any, int] = {}
    leaves: list[Leaf] = []
    which = []
    for _, leaf in segments:
        key: Any = leaf
        try:
            hash(leaf)
        except TypeError:  # an unhashable leaf is its own
            key = id(leaf)
        if key not in distinct:
            distinct[key] = len(leaves)
            leaves.append(leaf)
        which.append(distinct[key])
    formulas = [leaf._formula(xp, quantity) for leaf in leaves]
    if any(formula is None for formula in formulas):
        assert all(formula is None for formula in formulas)  # checked when the spec was built
        return None
    if len(segments) == 1:
        return formulas[0]
    offset = xp.step_function(starts[1:], starts)
    if len(leaves) == 1:
        only = xp.jit(formulas[0])  # type: ignore[arg-type]

        def shifted(step: Any) -> Any:
            return only(step - offset(step))

        return shifted
    leaf_of = xp.step_function(starts[1:], which)
    switch = xp.switch([xp.jit(formula) for formula in formulas])  # type: ignore[arg-type]

    def value(step: Any) -> Any:
        return switch(leaf_of(step), step - offset(step))

    return value


@dataclass(frozen=True)
class Warmup(Spec):
    r"""A linear warmup of ``warmup_steps`` steps from ``start_lr`` into ``spec``, which then starts::

        lr(step) = start_lr + (spec.lr_at(0) - start_lr) * (step / warmup_steps)  for step < warmup_steps
                 = spec.lr_at(step - warmup_steps)                                 from then on

    Momentum (when ``spec`` schedules it) holds at ``spec.momentum_at(0)`` during the warmup. The lr is
    continuous: the warmup's last step is one increment below ``spec.lr_at(0)``. Build it with
    ``cyclr.warmup``.

    Raises:
        TypeError: ``spec`` is not a cyclr spec; ``warmup_steps`` is not an integer.
        ValueError: ``warmup_steps < 1`` or ``>= 2**63``; ``start_lr`` NaN/inf/negative, or a sequence
            whose length differs from the spec's parameter groups (a float applies to every group).

    Examples:
        >>> import cyclr
        >>> spec = Warmup(cyclr.CosineAnnealingLR(base_lr=0.1, T_max=100), warmup_steps=10)
        >>> spec.lr_at([0, 5, 10]).tolist(), spec.momentum_at(5)
        ([0.0, 0.05, 0.1], None)
    """

    _SPEC_FIELDS: ClassVar[dict[str, str]] = {"spec": "one"}

    spec: Spec
    warmup_steps: int
    start_lr: float | Sequence[float] = 0.0
    _groups: int | None = field(init=False, repr=False, compare=False)
    _depth: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        spec = _check_spec("spec", self.spec)
        object.__setattr__(self, "_depth", _check_depth("Warmup", [spec]))
        steps = check_int("warmup_steps", self.warmup_steps, minimum=1)
        if steps > INT64_MAX:
            raise ValueError(
                f"warmup_steps must be < 2**63 (int64, the steps of the numpy and numba paths), got {steps}"
            )
        object.__setattr__(self, "warmup_steps", steps)
        start_lr = check_real_or_groups("start_lr", self.start_lr, minimum=0.0)
        if isinstance(start_lr, tuple) and len(start_lr) != (spec.groups or 0):
            raise ValueError(
                f"start_lr has {len(start_lr)} values, but the spec has {spec.groups or 'no'} "
                f"parameter groups"
            )
        object.__setattr__(self, "start_lr", start_lr)
        object.__setattr__(self, "_groups", spec.groups)

    @cached_property
    def _segments(self) -> Segments:
        return _concatenate([(0, ((0, _Ramp(self)),)), (self.warmup_steps, _segments_of(self.spec))])

    def _formula(self, xp: Ops, quantity: str) -> Formula | None:
        return _piecewise(self._segments, xp, quantity)


@dataclass(frozen=True)
class Join(Spec):
    r"""Specs one after another: ``specs[k]`` runs from ``boundaries[k-1]`` on, seeing its step counted
    from there (like ``optax.join_schedules``)::

        lr(step) = specs[k].lr_at(step - boundaries[k-1])    for boundaries[k-1] <= step < boundaries[k]

    with ``boundaries[-1] = 0`` for the first spec and the last spec running forever. Momentum is joined
    the same way; every spec must schedule momentum, or none. Build it with ``cyclr.join``.

    Raises:
        TypeError: an element of ``specs`` is not a cyclr spec; a boundary is not an integer.
        ValueError: no specs; ``len(boundaries) != len(specs) - 1``; boundaries not strictly increasing
            positive integers; specs with different numbers of parameter groups; some specs scheduling
            momentum and others not.

    Examples:
        >>> import cyclr
        >>> first, then = cyclr.CosineAnnealingLR(0.1, T_max=10), cyclr.CosineAnnealingLR(0.01, T_max=10)
        >>> spec = Join([first, then], [10])
        >>> spec.lr_at([0, 9, 10, 11]).round(4).tolist()
        [0.1, 0.0024, 0.01, 0.0098]
    """

    _SPEC_FIELDS: ClassVar[dict[str, str]] = {"specs": "many"}

    specs: Sequence[Spec]
    boundaries: Sequence[int]
    _groups: int | None = field(init=False, repr=False, compare=False)
    _depth: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if isinstance(self.specs, Spec) or not isinstance(self.specs, Sequence):
            raise TypeError(f"specs must be a sequence of cyclr specs, got {self.specs!r}")
        specs = tuple(_check_spec(f"specs[{i}]", spec) for i, spec in enumerate(self.specs))
        if not specs:
            raise ValueError("specs must hold at least one spec, got an empty sequence")
        given = self.boundaries
        if isinstance(given, np.ndarray) and given.ndim == 1:
            given = list(given)  # numpy integers are integers, as everywhere else (floats and bools are not)
        if isinstance(given, (str, bytes)) or not isinstance(given, Sequence):
            raise TypeError(f"boundaries must be a sequence of integers, got {self.boundaries!r}")
        boundaries = tuple(
            check_int(f"boundaries[{i}]", boundary, minimum=1) for i, boundary in enumerate(given)
        )
        if len(boundaries) != len(specs) - 1:
            raise ValueError(
                f"boundaries must have one value fewer than specs: {len(specs)} specs need "
                f"{len(specs) - 1} boundaries, got {len(boundaries)}"
            )
        for i in range(1, len(boundaries)):
            if boundaries[i] <= boundaries[i - 1]:
                raise ValueError(f"boundaries must increase strictly, got {list(boundaries)}")
        with_momentum = [spec.has_momentum for spec in specs]
        if any(with_momentum) and not all(with_momentum):
            missing = [i for i, has in enumerate(with_momentum) if not has]
            raise ValueError(
                f"every joined spec must schedule momentum, or none: specs{missing} do not, the others do"
            )
        object.__setattr__(self, "specs", specs)
        object.__setattr__(self, "boundaries", boundaries)
        object.__setattr__(self, "_groups", _groups_of(specs))
        object.__setattr__(self, "_depth", _check_depth("Join", specs))

    @cached_property
    def _segments(self) -> Segments:
        starts = (0, *self.boundaries)
        return _concatenate(
            [(start, _segments_of(spec)) for start, spec in zip(starts, self.specs, strict=True)]
        )

    def _formula(self, xp: Ops, quantity: str) -> Formula | None:
        return _piecewise(self._segments, xp, quantity)


def warmup(spec: Spec, warmup_steps: int, start_lr: float | Sequence[float] = 0.0) -> Warmup:
    """A linear warmup from ``start_lr`` into ``spec`` over ``warmup_steps`` steps (see ``Warmup``).

    Examples:
        >>> import cyclr
        >>> spec = cyclr.warmup(cyclr.CyclicLR(base_lr=0.01, max_lr=0.1, step_size_up=10), 5)
        >>> [round(spec.lr_at(step), 4) for step in (0, 4, 5, 15)]
        [0.0, 0.008, 0.01, 0.1]
    """
    return Warmup(spec, warmup_steps, start_lr)


def join(specs: Sequence[Spec], boundaries: Sequence[int]) -> Join:
    """``specs`` one after another, switching at ``boundaries`` (see ``Join``).

    Examples:
        >>> import cyclr
        >>> halving = cyclr.CyclicLR(mode="triangular2", step_size_up=5)
        >>> spec = cyclr.join([cyclr.CyclicLR(step_size_up=5), halving], [20])
        >>> spec.lr_at(20) == halving.lr_at(0)
        True
    """
    return Join(specs, boundaries)
