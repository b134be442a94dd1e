"""What every cyclr schedule shares: the step contract, precompute, and serialization.

A spec is an immutable value. It holds no optimizer and no counter: the learning rate at step ``k`` is a
pure function of ``k``. Subclasses (frozen dataclasses) supply one thing, ``_formula(xp, quantity)``: the
closure that maps a step to the learning rate or the momentum, written once against an ``Ops``
namespace (see ``cyclr._ops``). This class runs that single definition on Python ints, on NumPy arrays,
and hands it to numba.
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import weakref
from collections.abc import Callable, Mapping
from functools import cached_property
from typing import Any, ClassVar, NamedTuple, Union

import numpy as np

from ._array_api import is_array
from ._inline import inline
from ._ops import NUMPY, PYTHON, Ops
from ._validate import INT64_MAX, check_choice, check_int, check_steps

Steps = Union[int, np.integer, np.ndarray, "list[int]"]
"""A step count: a non-negative int, or an array (any shape) of them."""

Formula = Callable[[Any], Any]

_REGISTRY: dict[str, type[Spec]] = {}
BACKENDS = ("numpy", "numba")
# The compiled backends, by the module that implements them, imported on first use. The dependency
# runs one way: cyclr.numba builds on this module (it compiles specs' formulas); this module names the
# backend and never imports it, so there is no import circle and numba loads only when asked for.
_BACKEND_MODULES = {"numba": "cyclr.numba"}
_UNSET = object()
MAX_DEPTH = 64
"""The deepest a spec may nest (a Join or Warmup inside another, 64 levels): far beyond any real schedule,
and far within Python's recursion limit for to_dict, from_dict, ==, hash, repr and pickle. A long schedule
is one flat join, which has no limit on its pieces."""


class CycleTable(NamedTuple):
    """A periodic schedule over a range of steps: ``start + (delta * shape[offset]) * scale[cycle]``.

    ``shape`` holds one cycle (``period`` values); ``scale`` one factor per cycle the range touches,
    first one for the cycle holding the range's first step, whose offset in its cycle is ``first_offset``.
    Filling from the table is a strided copy, not a re-evaluation of the formula.
    """

    period: int
    first_offset: int
    shape: np.ndarray
    scale: np.ndarray

    def row(self, delta: Any) -> np.ndarray:
        """``delta * shape``: one cycle's height, shape ``(period,)`` or ``(period, G)`` for groups."""
        return np.multiply.outer(self.shape, delta) if np.ndim(delta) else delta * self.shape


class _hot_path:  # noqa: N801  # used as a decorator
    """``spec.lr_at`` (``momentum_at``) as one flat function of the step, made on first use per spec.

    The method is the general path (any step: checked, arrays, limits). On an instance, the attribute is
    instead the spec's formula rewritten by ``cyclr._inline.inline`` with a guard in front: a
    non-negative Python int runs the formula's body directly, anything else calls the method (through
    ``_Fallback``). The values are the method's, bit for bit; the call chain ``lr_at -> closure ->
    minimum`` becomes one call. Like a ``cached_property`` the function is kept in the instance's
    ``__dict__``, which nothing saves, pickles or compares (``__reduce__`` rebuilds from ``to_dict``,
    ``==`` compares the fields); it holds the spec weakly, so a spec is still freed as soon as it is
    unused (no reference cycle). A subclass that overrides the method keeps its override; on the class,
    the attribute is the method.
    """

    def __init__(self, quantity: str) -> None:
        self.quantity = quantity

    def __call__(self, method: Callable[..., Any]) -> _hot_path:
        self.method = method
        self.__doc__ = method.__doc__
        self.__wrapped__ = method
        signature = inspect.signature(method)
        self.signature = signature.replace(parameters=list(signature.parameters.values())[1:])
        return self

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, instance: Any, owner: type | None = None) -> Any:
        if instance is None:
            return self.method
        bound = self.method.__get__(instance, owner)
        for klass in type(instance).__mro__:  # only where this descriptor is what the class resolves
            if self.name in vars(klass):
                if vars(klass)[self.name] is not self:
                    return bound
                break
        formula = instance._python_formulas[self.quantity]
        make = None if formula is None else inline(formula, guarded=True)
        if make is None:  # nothing to flatten: the method itself (a cycle through the bound method, once)
            instance.__dict__[self.name] = bound
            return bound
        fast = make(_Fallback(instance, self.method))
        fast.__name__, fast.__qualname__ = self.name, f"{type(instance).__qualname__}.{self.name}"
        fast.__doc__, fast.__signature__ = self.method.__doc__, self.signature
        instance.__dict__[self.name] = fast
        return fast


class _Fallback:
    """The general path behind a flat ``lr_at``: ``method(spec, step)``, holding the spec weakly.

    A flat function may outlive its spec (``f = CyclicLR(...).lr_at``): then an equal spec, rebuilt once
    from the constructor arguments kept here, answers instead.
    """

    __slots__ = ("reference", "cls", "arguments", "method", "twin")

    def __init__(self, spec: Spec, method: Callable[..., Any]) -> None:
        self.reference = weakref.ref(spec)
        self.cls = type(spec)
        self.arguments = {name: getattr(spec, name) for name in _parameter_names(type(spec))}
        self.method = method
        self.twin: Spec | None = None

    def __call__(self, step: Any) -> Any:
        spec = self.reference()
        if spec is None:
            if self.twin is None:
                self.twin = _rebuild(self.cls, self.arguments)
            spec = self.twin
        return self.method(spec, step)


class Spec:
    """Base class of every cyclr schedule: an immutable map from a step count to (lr, momentum).

    The step counts scheduler steps taken, like torch's ``last_epoch``: step 0 is the value set before
    the first optimizer step.

    Examples:
        >>> import cyclr
        >>> spec = cyclr.OneCycleLR(max_lr=0.1, total_steps=100)
        >>> isinstance(spec, cyclr.Spec), spec.groups, spec.has_momentum
        (True, None, True)
        >>> lr, momentum = spec(0)
    """

    QUANTITIES: ClassVar[tuple[str, str]] = ("lr", "momentum")
    _SPEC_FIELDS: ClassVar[dict[str, str]] = {}
    """The fields that hold specs ("one") or sequences of specs ("many"): only there does ``from_dict``
    turn data into specs."""
    _depth: int = 1
    """How deep specs nest inside this one (1: not composed); see ``MAX_DEPTH``."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        # Only cyclr's own classes are known by name: a user's subclass called "CyclicLR" must never
        # replace the built-in in from_dict, load_state_dict, Keras' from_config or the CLI's --config.
        if not cls.__name__.startswith("_") and cls.__module__.split(".")[0] == "cyclr":
            _REGISTRY.setdefault(cls.__name__, cls)

    # -- pickling and copying -------------------------------------------------------------------------

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickle as the spec's plain data, rebuilt (and validated) by ``from_dict`` on load.

        The formulas cached on the instance are closures, which cannot be pickled; they are rebuilt on
        first use. A spec holding code (a custom ``scale_fn``) or of a class that is not cyclr's own is
        rebuilt from its constructor arguments instead. ``torch.load(weights_only=True)`` loads a
        pickled spec once ``cyclr.from_dict`` is allowed: ``torch.serialization.add_safe_globals([
        cyclr.from_dict])``.
        """
        if _REGISTRY.get(type(self).__name__) is type(self):
            try:
                return (from_dict, (self.to_dict(),))
            except ValueError:  # a Python callable inside: keep the objects themselves
                pass
        arguments = {name: getattr(self, name) for name in _parameter_names(type(self))}
        return (_rebuild, (type(self), arguments))

    # -- what a subclass supplies --------------------------------------------------------------------

    @property
    def groups(self) -> int | None:
        """The number of parameter groups, or None when every value is a scalar.

        A subclass sets ``_groups`` when it is built (cyclr's own do, in ``__post_init__``), or
        overrides this property.
        """
        groups: Any = getattr(self, "_groups", _UNSET)
        if groups is _UNSET:
            raise NotImplementedError(f"{type(self).__name__} sets no _groups and does not define groups")
        return groups

    def _formula(self, xp: Ops, quantity: str) -> Formula | None:
        """The closure ``step -> value`` for ``quantity`` ("lr" or "momentum"); None if not scheduled."""
        raise NotImplementedError

    def _cycle_table(self, start: int, num_steps: int) -> CycleTable | None:
        """For periodic schedules, the factored form over a range of steps (None: evaluate directly)."""
        return None

    def _endpoints(self, quantity: str) -> tuple[Any, Any]:
        """``(start, delta)`` of the factored form, for specs that provide ``_cycle_table``."""
        raise NotImplementedError

    # -- the formulas, built once per namespace ------------------------------------------------------

    @cached_property
    def _python_formulas(self) -> dict[str, Formula | None]:
        """The formulas as built for ``PYTHON`` (closures; ``_python_lr`` runs them flattened)."""
        return {quantity: self._formula(PYTHON, quantity) for quantity in self.QUANTITIES}

    @cached_property
    def _python_lr(self) -> Formula:
        formula = self._python_formulas["lr"]
        assert formula is not None
        return inline(formula) or formula

    @cached_property
    def _python_momentum(self) -> Formula | None:
        formula = self._python_formulas["momentum"]
        return None if formula is None else (inline(formula) or formula)

    @cached_property
    def _numpy_formulas(self) -> dict[str, Formula | None]:
        return {quantity: self._formula(NUMPY, quantity) for quantity in self.QUANTITIES}

    @property
    def has_momentum(self) -> bool:
        """Whether this spec schedules momentum (``momentum_at`` returns values, not None)."""
        return self._python_momentum is not None

    # -- the public contract -------------------------------------------------------------------------

    @_hot_path("lr")
    def lr_at(self, step: Steps) -> Any:
        """The learning rate after ``step`` scheduler steps.

        A Python int gives a Python float; an integer array gives a float64 array of the same shape.
        With G parameter groups the result gains a trailing axis of length G.

        Accepted steps: a Python or NumPy integer, exact at any size (Python ints have no limit); an
        integer array of any shape, or a (nested) list or tuple of integers (``[]`` gives an empty
        float64 array), whose steps must be below ``2**63`` (int64). Array steps where a spec's int64
        arithmetic would overflow (SGDR with a large ``T_mult``: ``cyclr._limits.exact_steps``) are
        computed on the Python-int path, exactly. See docs/limits.md.

        Raises:
            TypeError: ``step`` is not an integer or an integer array (floats and bools included, also
                inside arrays and lists; a ragged list).
            ValueError: ``step`` is negative, or an array or list holds a step >= ``2**63``; a custom
                ``scale_fn`` returns a value that is not a finite number in [0, 1].
        """
        if type(step) is int and step >= 0:  # (``spec.lr_at`` is a flat function doing this: _hot_path)
            return self._python_lr(step)
        return self._evaluate("lr", step)

    @_hot_path("momentum")
    def momentum_at(self, step: Steps) -> Any:
        """The momentum after ``step`` scheduler steps (None when momentum is not scheduled).

        Same shapes and errors as ``lr_at``.
        """
        if type(step) is int and step >= 0:
            formula = self._python_momentum
            return None if formula is None else formula(step)
        return self._evaluate("momentum", step)

    def __call__(self, step: Steps) -> tuple[Any, Any]:
        """``(lr_at(step), momentum_at(step))``."""
        if type(step) is int and step >= 0:
            momentum = self._python_momentum
            return self._python_lr(step), (None if momentum is None else momentum(step))
        return self._evaluate("lr", step), self._evaluate("momentum", step)

    def _evaluate(self, quantity: str, step: Steps) -> Any:
        if is_array(step):  # torch, JAX, CuPy, dask...: that library's array, on its device
            from ._array_api import evaluate

            return evaluate(self, quantity, step)
        checked = check_steps(step)
        if isinstance(checked, int):
            formula = self._python_lr if quantity == "lr" else self._python_momentum
            if formula is None:
                return None
            return formula(checked)
        formula = self._numpy_formulas[quantity]
        if formula is None:
            return None
        from ._limits import exact_steps

        limit = exact_steps(self)
        if limit > INT64_MAX or not checked.size or checked.max() < limit:
            return self._on_array(formula, checked)
        # Beyond the limit the int64 arithmetic would overflow: those steps take the exact Python path.
        beyond = checked >= limit
        values = self._on_array(formula, np.where(beyond, 0, checked))
        python = self._python_lr if quantity == "lr" else self._python_momentum
        assert python is not None
        values[beyond] = [python(int(step)) for step in checked[beyond]]
        return values

    def _on_array(self, formula: Formula, steps: np.ndarray) -> np.ndarray:
        groups = self.groups
        shape = steps.shape if groups is None else (*steps.shape, groups)
        value = np.asarray(formula(steps if groups is None else steps[..., None]), dtype=np.float64)
        return value if value.shape == shape else np.broadcast_to(value, shape).copy()

    def precompute(
        self,
        num_steps: int,
        start: int = 0,
        backend: str = "numpy",
        out: tuple[np.ndarray, np.ndarray | None] | None = None,
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """The whole schedule for steps ``start .. start + num_steps - 1`` as arrays.

        Args:
            num_steps: how many steps (>= 0).
            start: the first step (>= 0).
            backend: "numpy" (vectorized) or "numba" (a parallel compiled kernel; same values).
            out: optional preallocated ``(lr, momentum)`` float64 C-contiguous arrays to fill, of shape
                ``(num_steps,)`` or ``(num_steps, G)``; ``momentum`` must be None exactly when the spec
                does not schedule momentum.

        Returns:
            ``(lr, momentum)``; ``momentum`` is None when it is not scheduled. Equal bit for bit to
            ``spec(step)`` at each step.

        Raises:
            TypeError: ``num_steps`` or ``start`` is not an integer (a bool or float included);
                ``out`` is not a pair of arrays.
            ValueError: ``num_steps < 0``; ``start < 0``; ``start + num_steps > 2**63`` (steps are
                int64: the last step, ``start + num_steps - 1``, must be at most ``2**63 - 1``); an
                unknown backend; ``out`` arrays of the wrong dtype, shape or layout, or sharing memory;
                a custom ``scale_fn`` returning a non-finite value (or, on the NumPy backend, one outside
                [0, 1]). Steps where the spec's int64 arithmetic would overflow
                (``cyclr._limits.exact_steps``) are computed on the exact Python-int path instead.

        Examples:
            >>> import cyclr
            >>> lr, momentum = cyclr.CyclicLR(step_size_up=4).precompute(8)
            >>> lr.shape
            (8,)
        """
        num_steps = check_int("num_steps", num_steps, minimum=0)
        start = check_int("start", start, minimum=0, maximum=INT64_MAX, why=" (steps are held in int64)")
        if start + num_steps - 1 > INT64_MAX:
            raise ValueError(
                f"start + num_steps must be <= 2**63 (the last step, start + num_steps - 1, is held in "
                f"int64), got start={start}, num_steps={num_steps}"
            )
        backend = check_choice("backend", backend, BACKENDS)
        lr_out, momentum_out = self._outputs(num_steps, out)
        from ._limits import exact_steps

        # Steps from the spec's int64 limit on are computed on the exact Python-int path.
        inside = min(num_steps, max(0, exact_steps(self) - start))
        checked = self._fill(
            backend, start, lr_out[:inside], None if momentum_out is None else momentum_out[:inside]
        )
        for i in range(inside, num_steps):
            lr_out[i], momentum = self(start + i)
            if momentum_out is not None:
                momentum_out[i] = momentum
        # A user's scale_fn: checked on the Python paths; after numba's fill unless it checked its values.
        # (Steps past ``inside`` came from the Python path, which checks every scale.)
        if not checked and _holds_code(self):
            for name, dst in zip(self.QUANTITIES, (lr_out, momentum_out), strict=True):
                if dst is not None and not np.all(np.isfinite(dst)):
                    step = start + int(np.argwhere(~np.isfinite(dst))[0][0])
                    self(step)  # the Python path names scale_fn, its argument and its value
                    raise ValueError(f"scale_fn gave a non-finite {name} at step {step}")
        return lr_out, momentum_out

    def _fill(self, backend: str, start: int, lr_out: np.ndarray, momentum_out: np.ndarray | None) -> bool:
        """Fill ``lr_out`` (and ``momentum_out``) with the steps from ``start`` on, on ``backend``.

        Returns whether the backend checked every value it wrote to be finite.
        """
        num_steps = len(lr_out)
        if backend in _BACKEND_MODULES:
            module = importlib.import_module(_BACKEND_MODULES[backend])
            return bool(module.precompute_into(self, start, lr_out, momentum_out))
        table = self._cycle_table(start, num_steps)
        for quantity, dst in zip(self.QUANTITIES, (lr_out, momentum_out), strict=True):
            if dst is None:
                continue
            if table is not None:
                fill_from_table(dst, table, *self._endpoints(quantity))
            else:
                formula = self._numpy_formulas[quantity]
                assert formula is not None
                dst[...] = self._on_array(formula, np.arange(num_steps, dtype=np.int64) + start)
        return False

    def _outputs(
        self, num_steps: int, out: tuple[np.ndarray, np.ndarray | None] | None
    ) -> tuple[np.ndarray, np.ndarray | None]:
        shape = (num_steps,) if self.groups is None else (num_steps, self.groups)
        if out is None:
            return np.empty(shape), (np.empty(shape) if self.has_momentum else None)
        if not isinstance(out, tuple) or len(out) != 2:
            raise TypeError(f"out must be a tuple (lr, momentum) of arrays, got {type(out).__name__}")
        for name, array, wanted in zip(("out[0]", "out[1]"), out, (True, self.has_momentum), strict=True):
            if not wanted:
                if array is not None:
                    raise ValueError(f"{name} must be None: this spec does not schedule momentum")
                continue
            if not isinstance(array, np.ndarray):
                raise TypeError(f"{name} must be a numpy array, got {type(array).__name__}")
            if array.dtype != np.float64 or array.shape != shape:
                raise ValueError(f"{name} must be float64 of shape {shape}, got {array.dtype} {array.shape}")
            if not (array.flags.c_contiguous and array.flags.writeable):
                raise ValueError(f"{name} must be C-contiguous and writeable")
        if out[1] is not None and np.shares_memory(out[0], out[1]):
            raise ValueError("out[0] and out[1] must not share memory: lr and momentum need two buffers")
        return out

    # -- serialization --------------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """Plain, JSON-able data that ``cyclr.from_dict`` turns back into an equal spec.

        Raises:
            ValueError: a field holds a Python callable (a custom ``scale_fn``), which cannot be
                serialized; it is named in the message, never dropped.
        """
        data: dict[str, Any] = {"schedule": type(self).__name__}
        for name in _parameter_names(type(self)):
            data[name] = _to_plain(name, getattr(self, name))
        return data


class _LrOnly(Spec):
    """A spec that schedules the learning rate only (every decay and annealing family): ``_lr_formula``
    gives its formula, and momentum is not scheduled (``momentum_at`` is None)."""

    def _formula(self, xp: Ops, quantity: str) -> Formula | None:
        return None if quantity == "momentum" else self._lr_formula(xp)

    def _lr_formula(self, xp: Ops) -> Formula:
        """The closure ``step -> lr`` built against ``xp``."""
        raise NotImplementedError


def _holds_code(spec: Spec) -> bool:
    """Whether the spec (or a spec inside it) holds a Python callable, such as a custom ``scale_fn``."""
    for name in _parameter_names(type(spec)):
        value = getattr(spec, name)
        for item in value if isinstance(value, tuple) else (value,):
            if isinstance(item, Spec) and _holds_code(item):
                return True
            if callable(item) and not isinstance(item, Spec):
                return True
    return False


def _rebuild(cls: type[Spec], arguments: dict[str, Any]) -> Spec:
    """Unpickle a spec from its constructor arguments (see ``Spec.__reduce__``)."""
    return cls(**arguments)


def _parameter_names(cls: type[Spec]) -> list[str]:
    """The constructor's parameters, in order (private derived fields excluded)."""
    return [field.name for field in dataclasses.fields(cls) if field.init]  # type: ignore[arg-type]


def _to_plain(name: str, value: Any) -> Any:
    if isinstance(value, Spec):
        return value.to_dict()
    if isinstance(value, (tuple, list)):
        return [_to_plain(f"{name}[{i}]", v) for i, v in enumerate(value)]
    if callable(value):
        raise ValueError(
            f"{name}={value!r} cannot be serialized: to_dict() holds plain data only, and a Python "
            f"callable is code. Use a built-in mode, or rebuild the spec with the same {name} after "
            f"from_dict()"
        )
    return value


def from_dict(data: Mapping[str, Any]) -> Spec:
    """Rebuild a spec from ``spec.to_dict()`` data (validated exactly like the constructor).

    Only cyclr's own schedules are known by name. Data becomes a spec only where a spec belongs (a
    ``Warmup``'s ``spec``, a ``Join``'s ``specs``); everywhere else a field holds plain values (numbers,
    strings, bools, None, or a flat list of numbers), so code, such as a ``scale_fn``, never comes from data.

    Raises:
        TypeError: ``data`` (or a spec inside it) is not a mapping; a parameter name is not a string; a
            field holds the wrong kind of container (a spec's data where a number belongs, a list where a
            spec belongs, nested lists); and the constructor's own TypeErrors.
        ValueError: an unknown schedule or parameter; specs nested more than ``MAX_DEPTH`` (64) deep;
            and the constructor's own ValueErrors.

    Examples:
        >>> import cyclr
        >>> spec = cyclr.CyclicLR(step_size_up=10)
        >>> cyclr.from_dict(spec.to_dict()) == spec
        True
    """
    if not isinstance(data, Mapping):
        raise TypeError(f"from_dict expects a mapping, got {type(data).__name__}")
    return _build(data, 1)


def _build(data: Mapping[str, Any], depth: int) -> Spec:
    name = data.get("schedule")
    if not isinstance(name, str) or name not in _REGISTRY:
        raise ValueError(f"unknown schedule {name!r}; known: {sorted(_REGISTRY)}")
    cls = _REGISTRY[name]
    params = {}
    for key, value in data.items():
        if not isinstance(key, str):
            raise TypeError(f"{name}: parameter names must be strings, got {key!r} ({type(key).__name__})")
        if key != "schedule":
            params[key] = value
    names = set(_parameter_names(cls))
    unknown = sorted(set(params) - names)
    if unknown:
        raise ValueError(f"unknown parameters for {name}: {unknown}; expected some of {sorted(names)}")
    arguments: dict[str, Any] = {}
    for key, value in params.items():
        where, kind = f"{name}.{key}", cls._SPEC_FIELDS.get(key)
        if kind == "one":
            arguments[key] = _spec_from(where, value, depth)
        elif kind == "many":
            if not isinstance(value, (list, tuple)):
                raise TypeError(f"{where} must be a list of specs' data, got {_kind(value)}")
            arguments[key] = tuple(_spec_from(f"{where}[{i}]", item, depth) for i, item in enumerate(value))
        else:
            arguments[key] = _from_plain(where, value)
    return cls(**arguments)


def _kind(value: Any) -> str:
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, (list, tuple)):
        return "a list"
    return f"{value!r} ({type(value).__name__})"


def _spec_from(where: str, value: Any, depth: int) -> Spec:
    """The spec inside a composed spec's data, one level deeper."""
    if not (isinstance(value, Mapping) and "schedule" in value):
        raise TypeError(
            f"{where} must be a spec's data (a mapping with a 'schedule' key), got {_kind(value)}"
        )
    if depth >= MAX_DEPTH:
        raise ValueError(
            f"{where}: spec data nested more than {MAX_DEPTH} deep (Join and Warmup inside one another); "
            f"at most {MAX_DEPTH} levels are allowed"
        )
    return _build(value, depth + 1)


# Pickles of specs name the public ``cyclr.from_dict``, not this private module, so checkpoints keep
# loading if the module moves, and ``torch.serialization.add_safe_globals([cyclr.from_dict])`` allows
# exactly the name they hold.
from_dict.__module__ = "cyclr"


def _from_plain(where: str, value: Any) -> Any:
    """A field that is not a spec: plain values, or a flat list of them (one per parameter group)."""
    if isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            if isinstance(item, (Mapping, list, tuple)):
                raise TypeError(f"{where}[{i}] must be a number (one per parameter group), got {_kind(item)}")
        return tuple(value)
    if isinstance(value, Mapping):
        raise TypeError(
            f"{where} must be plain data (a number, string, bool, None or a list of numbers), got a mapping; "
            f"a spec's data belongs only in a Warmup's spec or a Join's specs"
        )
    return value


def fill_from_table(dst: np.ndarray, table: CycleTable, start: Any, delta: Any) -> None:
    """``dst[i] = start + (delta * shape[offset_i]) * scale[cycle_i]``: one cycle computed, then copied."""
    period = table.period
    row = table.row(delta)
    filled, cycle, offset = 0, 0, table.first_offset
    while filled < len(dst):
        if offset == 0 and len(dst) - filled >= period:
            count = (len(dst) - filled) // period
            block = dst[filled : filled + count * period].reshape(count, *row.shape)
            scale = table.scale[cycle : cycle + count]
            if np.all(scale == 1.0):
                block[...] = start + row  # row * 1.0 == row exactly: a copy of one cycle
            else:
                np.multiply(row, scale.reshape(count, *([1] * row.ndim)), out=block)
                np.add(block, start, out=block)
            filled, cycle = filled + count * period, cycle + count
            continue
        size = min(len(dst) - filled, period - offset)
        segment = dst[filled : filled + size]
        np.multiply(row[offset : offset + size], table.scale[cycle], out=segment)
        np.add(segment, start, out=segment)
        filled, cycle, offset = filled + size, cycle + 1, 0
