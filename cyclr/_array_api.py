"""Schedules on any array-API library's arrays, on their device: ``spec.lr_at(torch.arange(10))``.

``spec.lr_at(x)``, ``spec.momentum_at(x)`` and ``spec(x)`` hand an integer array of a library other than
NumPy (torch, JAX, CuPy, dask, array-api-strict, anything with ``__array_namespace__``) to ``evaluate``
here. Its namespace comes from ``array-api-compat``, imported on the first such array (``import cyclr``
never imports it), and the spec's single formula runs on it:

* float64 where the library and the device have it: the formula on ``cyclr._array_ops``' int64 and
  float64 wrappers, the library's own operations, on the array's device;
* float32 where they do not (JAX without ``jax_enable_x64``, Apple's MPS): the double-float evaluation
  of ``cyclr._float32`` (the one cyclr.jax and cyclr.keras use) on int32 steps, within 2 float32 ulps
  of the float64 value.

The result is the library's array of ``steps.shape`` (plus the groups axis), on ``steps``' device;
nothing is copied to the host. A NumPy array never comes here: it keeps the NumPy path.

Examples:
    >>> import torch, cyclr
    >>> spec = cyclr.CyclicLR(base_lr=0.1, max_lr=1.0, step_size_up=4)
    >>> spec.lr_at(torch.arange(5))
    tensor([0.1000, 0.3250, 0.5500, 0.7750, 1.0000], dtype=torch.float64)
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from ._array_ops import Float64, Int64, Space, array_ops, constants_on_device
from ._float32 import Tensors, float32_ops
from ._float32 import evaluate as evaluate_float32
from ._ops import INT64_MAX, Ops

if TYPE_CHECKING:
    from ._spec import Spec

INT32_MAX = 2**31 - 1
_LIBRARIES = frozenset(
    {"torch", "jax", "jaxlib", "cupy", "cupyx", "dask", "array_api_strict", "sparse", "ndonnx"}
)
_NAMES = {
    "torch": "torch",
    "jax": "JAX",
    "cupy": "CuPy",
    "dask": "dask",
    "array_api_strict": "array-api-strict",
}
_spaces: dict[Any, Any] = {}


def is_array(value: Any) -> bool:
    """Whether ``value`` is an array of an array-API library other than NumPy (no import is done).

    A NumPy array or scalar, a Python number, list or tuple is not: those keep the NumPy path.
    """
    if isinstance(value, (int, float, list, tuple, np.ndarray, np.generic)):
        return False
    kind = type(value)
    return kind.__module__.partition(".")[0] in _LIBRARIES or hasattr(kind, "__array_namespace__")


class _Library:
    """One namespace and device: its Space, its Ops (float64, or double-float32) and its checks."""

    def __init__(self, xp: Any, device: Any, library: str, float64: bool) -> None:
        self.xp, self.device, self.library, self.float64 = xp, device, library, float64
        self.name = _NAMES.get(library, library)
        self.lazy = library == "dask"
        self.space = Space(xp, device, self.name, _pow(library))
        self.ops: dict[bool, Ops] = {}
        self.tensors: Tensors | None = None
        if not float64:
            self.tensors = _tensors(xp, device, library, self.name)
        for check in (True, False):
            apply = _applier(self, check)
            self.ops[check] = array_ops(self.space, apply) if float64 else _float32_ops(self, apply)


def _pow(library: str) -> Callable[[Any, Any], Any] | None:
    """dask's blocks are NumPy arrays: NumPy's ``float_power`` (C's pow) keeps them bit-equal to the
    NumPy path, where ``pow`` (``np.power``) may differ from C's by an ulp."""
    if library == "dask":
        import dask.array

        return dask.array.float_power  # type: ignore[no-any-return]
    return None


def _float32_ops(library: _Library, apply: Callable[[Callable[[Any], Any], Any], Any]) -> Ops:
    """``cyclr._float32``'s namespace, its ``apply`` given the checks of ``apply`` (the same call)."""
    assert library.tensors is not None
    base = float32_ops(library.tensors)

    def apply32(fn: Callable[[Any], Any], x: Any) -> Any:
        return base.apply(lambda argument: apply(fn, argument), x)

    return base._replace(apply=apply32)


def _namespace(steps: Any) -> tuple[Any, str]:
    import array_api_compat

    try:
        xp = array_api_compat.array_namespace(steps)
    except TypeError as error:
        raise TypeError(
            f"step must be an integer, an integer array (NumPy, or a library following the array API "
            f"standard), or a list of integers, got {type(steps).__name__} ({error})"
        ) from None
    name = xp.__name__
    for prefix, library in (("array_api_compat.", ""), ("jax.", "jax")):
        if name.startswith(prefix):
            name = library or name[len(prefix) :]
    return xp, name.partition(".")[0]


def _library(steps: Any) -> _Library:
    """The ``_Library`` of ``steps``' namespace and device, built once per pair."""
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(steps, torch.Tensor):
        # Directly, not through array_namespace() and device(), which torch.compile refuses to trace.
        import array_api_compat.torch as xp

        library, device = "torch", steps.device
    else:
        xp, library = _namespace(steps)
        device = _device(steps)
    float64 = _has_float64(xp, device, library)
    key = (library, xp.__name__, str(device), float64)  # strings: torch.compile guards on the keys
    found = _spaces.get(key)
    if (
        found is None
    ):  # two threads may both build one: setdefault keeps the first (no lock: dynamo traces this)
        found = _spaces.setdefault(key, _Library(xp, device, library, float64))
    return found


def _device(steps: Any) -> Any:
    import array_api_compat

    try:
        return array_api_compat.device(steps)
    except Exception:  # a traced array without a device (JAX under jit): the library's default
        return None


def _has_float64(xp: Any, device: Any, library: str) -> bool:
    if library == "jax":
        import jax.numpy as jnp
        from jax import dtypes

        return bool(dtypes.canonicalize_dtype(jnp.float64) == jnp.float64)  # jax_enable_x64 is on
    if library == "torch":
        return getattr(device, "type", None) != "mps"  # Apple's GPU has no float64
    try:
        return xp.asarray(0.0, dtype=xp.float64, device=device).dtype == xp.float64
    except Exception:
        return False


# -- float32 devices: the double-float evaluation of cyclr._float32 ----------------------------------------


def _tensors(xp: Any, device: Any, library: str, name: str) -> Tensors:
    """The ``Tensors`` of an array-API namespace without float64: conversions, where, a bit cast."""
    f32, i32 = xp.float32, xp.int32

    def converter(dtype: Any) -> Callable[[Any], Any]:
        def convert(x: Any) -> Any:
            if is_array(x):
                return x if x.dtype == dtype else xp.astype(x, dtype)
            return xp.asarray(x, dtype=dtype, device=device)

        return convert

    float32, int32 = converter(f32), converter(i32)

    def where(condition: Any, a: Any, b: Any) -> Any:
        like = a if is_array(a) else b if is_array(b) else None

        def operand(x: Any) -> Any:
            if is_array(x):
                return x
            if like is not None:
                return float32(x) if like.dtype == f32 else int32(x)
            return float32(x) if isinstance(x, float) else int32(x)

        return xp.where(condition, operand(a), operand(b))

    bits, from_bits, opaque = _bit_cast(library, name)
    return Tensors(
        name=name,
        float32=float32,
        int32=int32,
        where=where,
        floor=xp.floor,
        bits=bits,
        from_bits=from_bits,
        bitwise_and=lambda a, b: a & b,
        log=xp.log,
        opaque=opaque,
    )


def _bit_cast(
    library: str, name: str
) -> tuple[Callable[[Any], Any], Callable[[Any], Any], Callable[[Any], Any]]:
    """float32 <-> int32 bit casts (not in the standard) and the compiler barrier, per library."""
    if library == "jax":
        import jax.numpy as jnp
        from jax import lax

        return (
            lambda x: lax.bitcast_convert_type(x, jnp.int32),
            lambda x: lax.bitcast_convert_type(x, jnp.float32),
            lax.optimization_barrier,
        )
    if library == "torch":
        import torch

        return (lambda x: x.view(torch.int32), lambda x: x.view(torch.float32), lambda x: x)
    if library in ("cupy", "numpy"):
        return (lambda x: x.view(np.int32), lambda x: x.view(np.float32), lambda x: x)

    def refuse(x: Any) -> Any:
        raise TypeError(
            f"{name} arrays on this device have no float64, and cyclr knows no float32 bit cast for "
            f"{name}: its schedules need one of the two"
        )

    return refuse, refuse, refuse


# -- the user's scale_fn ----------------------------------------------------------------------------------


def _applier(library: _Library, check: bool) -> Callable[[Callable[[Any], Any], Any], Any]:
    """``apply(fn, x)``: a custom ``scale_fn`` called once with the whole integer array, as cyclr.jax does.

    Its result must be a number or an array of the same library (broadcastable to the steps); with
    ``check`` every value must be a finite number in [0, 1] (as on the NumPy path).
    """
    xp, name = library.xp, library.name

    def apply(fn: Callable[[Any], Any], x: Any) -> Any:
        argument = x.a if isinstance(x, Int64) else x
        try:
            result = fn(argument)
        except (TypeError, RuntimeError) as error:  # torch: "Boolean value of Tensor ... is ambiguous"
            label = getattr(fn, "__name__", None) or repr(fn)
            reason = (str(error).splitlines() or [""])[0]
            raise TypeError(
                f"scale_fn={label} cannot run on a {name} integer array: on {name} arrays a custom scale_fn "
                f"is called once with the whole array of its arguments, and must be written with {name} "
                f"array functions (a where() instead of Python's if) ({type(error).__name__}: {reason})"
            ) from error
        if isinstance(result, (bool, np.bool_)) or not (
            is_array(result) or isinstance(result, (int, float, np.number))
        ):
            raise ValueError(
                f"scale_fn returned {result!r} ({type(result).__name__}) on a {name} array; a custom "
                f"scale_fn must return a number or a {name} array of numbers in [0, 1]"
            )
        if check:
            result = _check_scale(library, result)
        if not library.float64:
            return result
        return Float64(library.space, xp.astype(result, xp.float64) if is_array(result) else float(result))

    return apply


def _check_scale(library: _Library, result: Any) -> Any:
    """``result`` once every value is known to be in [0, 1]: now, or (dask) as each chunk is computed."""
    xp = library.xp
    if not is_array(result):
        value = float(result)
        if not 0.0 <= value <= 1.0:
            raise ValueError(
                f"scale_fn returned {value!r}; a custom scale_fn must return a finite number in [0, 1], so "
                f"that the lr stays between base_lr and max_lr"
            )
        return result
    if not xp.isdtype(result.dtype, ("real floating", "integral")):
        raise ValueError(f"scale_fn returned an array of dtype {result.dtype}; it must return real numbers")
    message = (
        f"scale_fn returned a value outside [0, 1] (or NaN) on a {library.name} array; a custom scale_fn "
        f"must return finite numbers in [0, 1], so that the lr stays between base_lr and max_lr"
    )
    if library.lazy:

        def check(block: np.ndarray) -> np.ndarray:
            if not np.all((block >= 0) & (block <= 1)):
                raise ValueError(message)
            return block

        return result.map_blocks(check, dtype=result.dtype)
    if _is_traced(result):
        return result  # a traced value is unknown until the traced function runs
    if bool(xp.any(~((result >= 0) & (result <= 1)))):  # NaN fails both comparisons
        raise ValueError(message)
    return result


# -- validation of the steps ------------------------------------------------------------------------------


def _is_traced(x: Any) -> bool:
    """A JAX tracer: its values are unknown until the traced function runs."""
    jax = sys.modules.get("jax")
    return jax is not None and isinstance(x, jax.core.Tracer)


def _check_dtype(xp: Any, steps: Any) -> None:
    dtype = steps.dtype
    if xp.isdtype(dtype, "bool") or not xp.isdtype(dtype, "integral"):
        raise TypeError(f"step must be an integer or an array of integers, got an array of dtype {dtype}")


def _limit(spec: Spec, float64: bool) -> int:
    from ._limits import exact_steps

    return exact_steps(spec, 64 if float64 else 32)


def _step_error(spec: Spec, library: _Library, smallest: int, largest: int) -> ValueError | None:
    """The error for steps in ``[smallest, largest]``, or None when they are all valid."""
    from ._limits import describe_limit

    if smallest < 0:
        return ValueError(f"step must be >= 0, got {smallest}")
    bits = 64 if library.float64 else 32
    if largest > (INT64_MAX if bits == 64 else INT32_MAX):
        held = "int64" if bits == 64 else f"int32 ({library.name} without float64 computes in float32)"
        return ValueError(
            f"step must be < 2**{bits - 1} in a {library.name} array (its steps are held in {held}), got "
            f"{largest}; pass a Python int for the exact value at a larger step"
        )
    limit = _limit(spec, library.float64)
    if largest >= limit:
        return ValueError(
            f"step must be < {limit} for {describe_limit(spec)} in a {library.name} array, got {largest}: "
            f"its restart arithmetic forms integers past int{bits} from there; pass a Python int or a NumPy "
            f"array (both exact at any step)"
        )
    return None


def _checked(spec: Spec, library: _Library, steps: Any) -> Any:
    """``steps`` after the value checks: at once (one host read of min and max), or lazily for dask."""
    xp = library.xp
    if library.lazy:
        return _checked_lazily(spec, library, steps)
    if _is_traced(steps) or _size(steps) == 0:
        return steps
    # int64 holds every step but uint64's past 2**63; JAX without x64 has no int64 (its ints are int32)
    wide = steps if steps.dtype == xp.int64 or library.library == "jax" else xp.astype(steps, xp.int64)
    smallest, largest = int(xp.min(wide)), int(xp.max(wide))
    if smallest < 0 and wide is not steps and steps.dtype == xp.uint64:  # past 2**63: negative once cast
        largest = int(xp.max(steps[wide < 0])) if library.library != "torch" else 2**63
        smallest = 0
    error = _step_error(spec, library, smallest, largest)
    if error is not None:
        raise error
    return steps


def _checked_lazily(spec: Spec, library: _Library, steps: Any) -> Any:
    """The dask array with each chunk checked as it is computed (a ValueError from ``compute()``)."""

    def check(block: np.ndarray) -> np.ndarray:
        if block.size:
            error = _step_error(spec, library, int(block.min()), int(block.max()))
            if error is not None:
                raise error
        return block

    return steps.map_blocks(check, dtype=steps.dtype)


def _size(steps: Any) -> int:
    size = 1
    for n in steps.shape:
        size *= int(n)
    return size


# -- evaluation -------------------------------------------------------------------------------------------


def _formula(spec: Spec, library: _Library, check: bool, quantity: str) -> Callable[[Any], Any] | None:
    """``spec._formula(ops, quantity)``, built once per spec and namespace (held on the spec, unsaved)."""
    ops = library.ops[check]
    held = getattr(spec, "__dict__", None)  # a user's subclass with __slots__ has none: built every call
    cache = {} if held is None else held.get("_array_api_formulas")
    if cache is None:
        cache = held.setdefault("_array_api_formulas", {})  # type: ignore[union-attr]
    key = (id(ops), quantity)
    found = cache.get(key)
    if found is None:
        formula = spec._formula(ops, quantity)
        if formula is not None and library.float64:
            formula = constants_on_device(library.space, formula)
        found = cache[key] = (ops, formula)  # the Ops kept alive with it: its id stays unique
    return found[1]


def evaluate(spec: Spec, quantity: str, steps: Any, *, check: bool = True) -> Any:
    """``quantity`` ("lr" or "momentum") of ``spec`` at every element of an array-API integer array.

    Args:
        spec: a cyclr spec.
        quantity: "lr" or "momentum".
        steps: an integer array (any shape, 0-d included) of a library following the array API
            standard, on any device.
        check: validate the values (negative steps, steps past the limits, a custom ``scale_fn``'s
            values): one read of the minimum and maximum to the host. ``False`` skips every check that
            reads values, for a captured or compiled step (invalid steps then give unspecified values).
            The dtype is always checked. Under ``jax.jit`` values cannot be read and are not checked;
            dask arrays are checked chunk by chunk as they are computed.

    Returns:
        The library's float array of shape ``steps.shape`` (``(*steps.shape, groups)`` for a grouped
        spec) on ``steps``' device: float64 where the library and device have it, else float32 within
        2 ulp of the float64 value; None when ``quantity`` is not scheduled.

    Raises:
        TypeError: ``steps`` is a bool or float array, or not an array-API array; a custom ``scale_fn``
            that cannot run on the library's arrays.
        ValueError: (with ``check``) a negative step; a step beyond int64 (beyond int32 in float32), or
            from which the spec's integer arithmetic overflows (``cyclr._limits.exact_steps``); a
            ``scale_fn`` value outside [0, 1].
    """
    library = _library(steps)
    xp = library.xp
    _check_dtype(xp, steps)
    formula = _formula(spec, library, check, quantity)
    if formula is None:
        return None
    if check:
        steps = _checked(spec, library, steps)
    groups = spec.groups
    shape = tuple(steps.shape) if groups is None else (*steps.shape, groups)
    if library.float64:
        ints = steps if steps.dtype == xp.int64 else xp.astype(steps, xp.int64)
        value = formula(Int64(library.space, ints if groups is None else xp.expand_dims(ints, axis=-1)))
        return _as_result(library, value, shape)
    assert library.tensors is not None
    ints = steps if steps.dtype == xp.int32 else xp.astype(steps, xp.int32)
    value = evaluate_float32(
        library.tensors, formula, ints if groups is None else xp.expand_dims(ints, axis=-1)
    )
    return _broadcast(xp, value, shape)


def _as_result(library: _Library, value: Any, shape: tuple[int, ...]) -> Any:
    xp, space = library.xp, library.space
    if isinstance(value, Int64):
        value = value.real()
    array = value.a if isinstance(value, Float64) else space.floats(value)
    if array.dtype != xp.float64:
        array = xp.astype(array, xp.float64)
    return _broadcast(xp, array, shape)


def _broadcast(xp: Any, array: Any, shape: tuple[int, ...]) -> Any:
    if tuple(array.shape) == shape:
        return array
    # a new array, not a broadcast view (torch's expanded tensors cannot be written in place)
    return xp.asarray(xp.broadcast_to(array, shape), copy=True)
