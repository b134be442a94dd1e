"""The numba path: compiled schedules for your own ``@njit`` code, and parallel precompute.

Importing this module imports numba; ``import cyclr`` does not (``cyclr.numba`` is loaded on first use).
The formulas are the very closures the Python and NumPy paths run, compiled against ``NUMBA``, a
namespace of jitted functions (see ``cyclr._ops``).

Examples:
    >>> import numba, cyclr
    >>> schedule = cyclr.numba.compile(cyclr.CyclicLR(step_size_up=100))
    >>> @numba.njit
    ... def first_lrs(n):
    ...     total = 0.0
    ...     for step in range(n):
    ...         lr, momentum = schedule(step)
    ...         total += lr
    ...     return total
    >>> round(first_lrs(200), 6)
    0.7
"""

from __future__ import annotations

import ast
import contextlib
import functools
import inspect
import math
import platform
import textwrap
import threading
from collections.abc import Callable, Sequence
from typing import Any

import numba
import numpy as np
from llvmlite import ir
from numba import njit, prange, types
from numba.core import cgutils
from numba.core.errors import TypingError
from numba.extending import intrinsic, overload

from ._ops import Ops, _call, _maximum, _minimum, _where, int64_table
from ._spec import Spec, _parameter_names

__all__ = ["compile", "NUMBA"]

builtins_compile = compile  # this module defines its own compile()


@njit
def _cos(x: float) -> float:
    return math.cos(x)


@njit
def _log(x: float) -> float:
    return math.log(x)


@njit
def _floor(x: float) -> int:
    return math.floor(x)


@njit
def _ldexp(x: float, exponent: int) -> float:
    return math.ldexp(x, exponent)


@njit
def _pow(x: float, y: float) -> float:
    # C's pow, as the Python path: with an integer exponent numba would square and multiply instead.
    return math.pow(x, float(y))


def _jit(formula: Any) -> Any:
    """Compile a formula closure (composed specs hand over formulas that are compiled already)."""
    return formula if isinstance(formula, numba.core.dispatcher.Dispatcher) else njit(formula)


def _lookup(boundaries: Sequence[int], values: Sequence[int]) -> Any:
    """``Ops.step_function`` compiled: a binary search on int64 arrays (boundaries >= 2**63 dropped)."""
    table, results = int64_table(boundaries, values)

    def lookup(step: Any) -> Any:
        low, high = 0, table.shape[0]
        while low < high:
            middle = (low + high) // 2
            if step < table[middle]:
                high = middle
            else:
                low = middle + 1
        return results[low]

    return njit(lookup)


def _select(branches: Sequence[Any]) -> Any:
    """``Ops.switch`` compiled: a generated balanced tree of ``if family < k``, depth ``log2(families)``.

    Pieces of different families cannot share one typed list of closures; a tree of direct calls can.
    Leaves that differ only in their numbers (a join of 1,000 different ``CosineAnnealingLR``) are one
    *family*: one kernel, compiled once, taking those numbers as arguments from per-family arrays
    (``_lift``); numba then compiles each family once, not each piece.
    """
    families: dict[Any, int] = {}
    kernels: list[Any] = []
    tables: list[list[list[Any]]] = []
    family_of, member = [], []
    for k, branch in enumerate(branches):
        lifted = _lift(branch)
        key = ("leaf", k) if lifted is None else lifted[0]
        if key not in families:
            families[key] = len(kernels)
            kernels.append(branch if lifted is None else lifted[1])
            tables.append([[] for _ in ([] if lifted is None else lifted[2])])
        f = families[key]
        family_of.append(f)
        member.append(len(tables[f][0]) if tables[f] else 0)
        for column, value in zip(tables[f], [] if lifted is None else lifted[2], strict=False):
            column.append(value)
    namespace: dict[str, Any] = {
        "family_of": np.array(family_of, dtype=np.int64),
        "member": np.array(member, dtype=np.int64),
    }
    calls = []
    for f, kernel in enumerate(kernels):
        namespace[f"kernel{f}"] = kernel
        arguments = ["operand"]
        for c, column in enumerate(tables[f]):
            namespace[f"p{f}_{c}"] = np.array(column)
            arguments.append(f"p{f}_{c}[j]")
        calls.append(f"return kernel{f}({', '.join(arguments)})")
    lines = ["def switch(index, operand):", "    f = family_of[index]", "    j = member[index]"]

    def emit(low: int, high: int, depth: int) -> None:
        indent = "    " * depth
        if high - low == 1:
            lines.append(indent + calls[low])
            return
        middle = (low + high) // 2
        lines.append(f"{indent}if f < {middle}:")
        emit(low, middle, depth + 1)
        emit(middle, high, depth)

    emit(0, len(kernels), 1)
    exec(builtins_compile("\n".join(lines), "<cyclr.numba switch>", "exec"), namespace)
    return njit(namespace["switch"])


def _lift(branch: Any) -> tuple[Any, Any, list[Any]] | None:
    """A formula closure as ``(family key, kernel, numbers)``: the kernel takes the closure's numbers
    (floats, int64 ints, float64 vectors) as arguments after the step; its other captured values (jitted
    functions, flags) are the family's. None when the closure cannot be lifted (then it is compiled alone).
    """
    function = getattr(branch, "py_func", None)
    closure = getattr(function, "__closure__", None)
    if not closure:
        return None
    assert function is not None  # a closure belongs to a function
    names = function.__code__.co_freevars
    numbers: list[tuple[str, Any]] = []
    statics: list[Any] = []
    key: list[Any] = [function.__code__]
    for name, cell in zip(names, closure, strict=True):
        value = cell.cell_contents
        if type(value) is float or (type(value) is int and -(2**63) <= value < 2**63):
            numbers.append((name, value))
            key.append((name, type(value)))
        elif isinstance(value, np.ndarray) and value.dtype == np.float64 and value.ndim == 1:
            numbers.append((name, value))
            key.append((name, "vector", value.shape))
        else:
            statics.append((name, value))
            try:
                key.append((name, type(value), hash(value), value))
            except TypeError:
                key.append((name, "id", id(value)))
    if not numbers:
        return None
    family = tuple(key)
    kernel = _kernel(family, function, tuple(n for n, _ in numbers), tuple(statics))
    return None if kernel is None else (family, kernel, [value for _, value in numbers])


_KERNELS: dict[Any, Any] = {}


def _kernel(family: Any, function: Any, parameters: tuple[str, ...], statics: tuple[Any, ...]) -> Any:
    """``function`` rewritten with ``parameters`` as arguments (from its source), jitted; cached per
    family."""
    if family in _KERNELS:
        return _KERNELS[family]
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(function)))
        definition = tree.body[0]
        if not isinstance(definition, ast.FunctionDef) or definition.name != function.__name__:
            raise ValueError("not a plain def")
        definition.decorator_list = []
        definition.returns = None
        for argument in definition.args.args:
            argument.annotation = None
        definition.args.args += [ast.arg(arg=name) for name in parameters]
        make = ast.FunctionDef(
            name="_make",
            args=ast.arguments(
                posonlyargs=[],
                args=[ast.arg(arg=name) for name, _ in statics],
                kwonlyargs=[],
                kw_defaults=[],
                defaults=[],
            ),
            body=[definition, ast.Return(value=ast.Name(id=definition.name, ctx=ast.Load()))],
            decorator_list=[],
        )
        module = ast.fix_missing_locations(ast.Module(body=[make], type_ignores=[]))
        namespace = dict(function.__globals__)
        exec(builtins_compile(module, inspect.getsourcefile(function) or "<cyclr>", "exec"), namespace)
        kernel = _jit(namespace["_make"](*(value for _, value in statics)))
    except (OSError, TypeError, ValueError, SyntaxError):
        kernel = None
    _KERNELS[family] = kernel
    return kernel


NUMBA = Ops(
    minimum=njit(_minimum),
    maximum=njit(_maximum),
    where=njit(_where),
    cos=_cos,
    log=_log,
    floor=_floor,
    ldexp=_ldexp,
    power=_pow,
    apply=njit(_call),
    jit=_jit,
    lookup=_lookup,
    select=_select,
)


def _as_step(step: Any) -> Any:
    """Compiled only: the step as an int64. Non-integer steps fail when typing; a negative step, or an
    unsigned one beyond int64, raises ValueError when running (never a wrapped, wrong value)."""


@overload(_as_step)
def _as_step_overload(step: Any) -> Any:
    if isinstance(step, types.Boolean) or not isinstance(step, types.Integer):
        raise TypingError(f"cyclr: step must be an integer, got {step}")
    if step.signed:  # type: ignore[attr-defined]  # numba's Integer type, untyped

        def signed(step: Any) -> Any:
            if step < 0:
                raise ValueError("cyclr: step must be >= 0")
            return np.int64(step)

        return signed
    if step.bitwidth < 64:  # type: ignore[attr-defined]

        def small(step: Any) -> Any:
            return np.int64(step)

        return small

    def unsigned(step: Any) -> Any:
        if step >= np.uint64(9223372036854775808):  # a uint64 compare: no float conversion
            raise ValueError("cyclr: step must be < 2**63 (int64)")
        return np.int64(step)

    return unsigned


def compile(spec: Spec) -> Any:
    """A numba-compiled ``schedule(step) -> (lr, momentum)`` to call from your own ``@njit`` functions.

    ``momentum`` is None when the spec does not schedule it; with G parameter groups both are float64
    arrays of length G. The values are the spec's own (``spec(step)``), to within an ulp. Compiled
    functions are cached per spec; ``compile`` may be called from several threads at once.

    ``step`` is any integer type (any numpy integer, or an int from your code); it is evaluated as an
    int64. Limits, checked in the compiled code itself: a negative step raises
    ``ValueError("cyclr: step must be >= 0")``, a ``uint64`` step >= 2**63 raises
    ``ValueError("cyclr: step must be < 2**63 (int64)")`` (numba raises with a constant message, so it
    names the limit, not the value); a non-integer step is a numba ``TypingError`` when your function is
    compiled. A Python int beyond int64 cannot be passed to compiled code at all (numba refuses it).

    Raises:
        TypeError: ``spec`` is not a cyclr spec, or holds a Python callable (a custom ``scale_fn``)
            that numba cannot call: decorate it with ``@numba.njit``.

    Examples:
        >>> import cyclr
        >>> schedule = cyclr.numba.compile(cyclr.CyclicLR(step_size_up=100))
        >>> schedule(50)
        (0.0035, 0.8500000000000001)
    """
    if not isinstance(spec, Spec):
        raise TypeError(f"compile expects a cyclr spec, got {type(spec).__name__}")
    _require_jitted(spec)
    with _BUILD_LOCK:
        return _compile(spec)


# Building a spec's formulas is done once per spec, whichever thread asks first; the others wait for it
# (numba's own compiler lock makes compiling safe, this one makes it happen once).
_BUILD_LOCK = threading.RLock()


@functools.lru_cache(maxsize=256)
def _compile(spec: Spec) -> Any:
    lr = _jit_formula(spec, "lr")
    momentum = _jit_formula(spec, "momentum")
    if momentum is None:

        def schedule(step: Any) -> Any:
            step = _as_step(step)
            return lr(step), None

    else:

        def schedule(step: Any) -> Any:
            step = _as_step(step)
            return lr(step), momentum(step)

    return njit(schedule)


def _jit_formula(spec: Spec, quantity: str) -> Any:
    with _BUILD_LOCK:
        return _cached_formula(spec, quantity)


@functools.lru_cache(maxsize=512)
def _cached_formula(spec: Spec, quantity: str) -> Any:
    formula = spec._formula(NUMBA, quantity)
    return None if formula is None else _jit(formula)


def _require_jitted(spec: Spec) -> None:
    """Every callable inside the spec must be a numba dispatcher; say which one is not."""
    for name in _parameter_names(type(spec)):
        value = getattr(spec, name)
        if isinstance(value, Spec):
            _require_jitted(value)
        elif isinstance(value, tuple):
            for item in value:
                if isinstance(item, Spec):
                    _require_jitted(item)
        elif callable(value) and not isinstance(value, numba.core.dispatcher.Dispatcher):
            raise TypeError(
                f"{name}={value!r} is a Python function, which numba cannot call: decorate it with "
                f"@numba.njit to use it with cyclr.numba.compile or precompute(backend='numba')"
            )


# -- precompute ----------------------------------------------------------------------------------------

# Outputs larger than this are written with non-temporal stores: they would not stay in cache anyway,
# and skipping the read-for-ownership halves the memory traffic.
_STREAM_BYTES = 1 << 24
_CAN_STREAM = platform.machine().lower() in ("x86_64", "amd64")


def _nontemporal_intrinsics() -> tuple[Any, Any]:
    """x86-64: a non-temporal store and ``sfence``. Elsewhere: a plain store and nothing."""
    if not _CAN_STREAM:

        @njit
        def plain_store(array: np.ndarray, index: int, value: float) -> None:
            array[index] = value

        @njit
        def no_fence() -> None:
            pass

        return plain_store, no_fence

    @intrinsic
    def _stream_store(typingctx: Any, array: Any, index: Any, value: Any) -> Any:
        """``array[index] = value`` as a non-temporal store (no bounds check)."""
        signature = types.void(array, index, value)

        def codegen(context: Any, builder: Any, sig: Any, args: Any) -> Any:
            array_type = sig.args[0]
            data, position, item = args
            view = context.make_array(array_type)(context, builder, data)
            pointer = cgutils.get_item_pointer(
                context, builder, array_type, view, [position], wraparound=False, boundscheck=False
            )
            store = builder.store(item, pointer)
            hint = builder.module.add_metadata([ir.Constant(ir.IntType(32), 1)])
            store.set_metadata("nontemporal", hint)
            return context.get_dummy_value()

        return signature, codegen

    @intrinsic
    def _store_fence(typingctx: Any) -> Any:
        """``sfence``: make this thread's non-temporal stores visible before the kernel returns."""
        signature = types.void()

        def codegen(context: Any, builder: Any, sig: Any, args: Any) -> Any:
            fence_type = ir.FunctionType(ir.VoidType(), [])
            builder.call(
                cgutils.get_or_insert_function(builder.module, fence_type, "llvm.x86.sse.sfence"), []
            )
            return context.get_dummy_value()

        return signature, codegen

    return _stream_store, _store_fence


_stream_store, _store_fence = _nontemporal_intrinsics()


def _cached(**options: Any) -> Callable[[Callable[..., Any]], Any]:
    """``njit(cache=True, **options)``, or without the cache where numba finds no folder to keep it in.

    From a read-only install with no writable ``~/.cache`` (nor ``NUMBA_CACHE_DIR``) numba refuses
    ``cache=True`` at decoration ("no locator available"); the kernel then compiles in each process.
    """

    def decorate(function: Callable[..., Any]) -> Any:
        try:
            return njit(cache=True, **options)(function)
        except RuntimeError:
            return njit(**options)(function)

    return decorate


@_cached(parallel=True)
def _fill_from_table(
    out: np.ndarray,
    groups: int,
    row: np.ndarray,
    scale: np.ndarray,
    start: np.ndarray,
    period: int,
    first_offset: int,
    stream: bool,
) -> None:
    """``out[i, g] = start[g] + row[offset_i, g] * scale[cycle_i]`` over a flat C-ordered ``out``.

    Each thread takes contiguous chunks and walks them one cycle segment at a time, so the inner loops
    are branch-free and vectorize; one group (the common case) gets its own loop.
    """
    steps = out.shape[0] // groups
    chunks = min(steps, 256)
    for chunk in prange(chunks):
        low = steps * chunk // chunks
        high = steps * (chunk + 1) // chunks
        position = first_offset + low
        cycle = position // period
        offset = position - cycle * period
        i = low
        while i < high:
            size = min(high - i, period - offset)
            factor = scale[cycle]
            if groups == 1 and stream:
                for j in range(size):
                    _stream_store(out, i + j, start[0] + row[offset + j] * factor)
            elif groups == 1:
                for j in range(size):
                    out[i + j] = start[0] + row[offset + j] * factor
            else:
                for j in range(size):
                    for g in range(groups):
                        out[(i + j) * groups + g] = start[g] + row[(offset + j) * groups + g] * factor
            i += size
            cycle += 1
            offset = 0
        if stream:
            _store_fence()


@njit(parallel=True)
def _fill_direct(value: Any, start: int, out: np.ndarray) -> None:
    for i in prange(out.shape[0]):
        out[i] = value(start + i)


_LARGEST = 1.7976931348623157e308  # the largest float64: |value| <= it fails exactly for inf and NaN


@njit(parallel=True)
def _fill_step_scaled(
    out: np.ndarray,
    groups: int,
    row: np.ndarray,
    start: np.ndarray,
    period: int,
    first_offset: int,
    first_step: int,
    scale_fn: Any,
    stream: bool,
) -> np.ndarray:
    """``out[i, g] = start[g] + row[offset_i, g] * scale_fn(first_step + i)`` over a flat C-ordered ``out``.

    A custom ``scale_fn`` in "iterations" mode: the shape comes from one cycle's row, ``scale_fn`` (a
    numba dispatcher, compiled into this kernel) is called once per step and nothing else is. Each
    chunk also checks its values (``|value| <= the largest float``, an AND the loop can vectorize) and
    reports whether any was inf or NaN: ``bad[chunk]``.
    """
    steps = out.shape[0] // groups
    chunks = min(steps, 256)
    bad = np.zeros(chunks, dtype=np.bool_)
    for chunk in prange(chunks):
        low = steps * chunk // chunks
        high = steps * (chunk + 1) // chunks
        position = first_offset + low
        cycle = position // period
        offset = position - cycle * period
        finite = True
        i = low
        while i < high:
            size = min(high - i, period - offset)
            step = first_step + i
            if groups == 1 and stream:
                for j in range(size):
                    value = start[0] + row[offset + j] * scale_fn(step + j)
                    finite &= abs(value) <= _LARGEST
                    _stream_store(out, i + j, value)
            elif groups == 1:
                for j in range(size):
                    value = start[0] + row[offset + j] * scale_fn(step + j)
                    finite &= abs(value) <= _LARGEST
                    out[i + j] = value
            else:
                for j in range(size):
                    scale = scale_fn(step + j)
                    for g in range(groups):
                        value = start[g] + row[(offset + j) * groups + g] * scale
                        finite &= abs(value) <= _LARGEST
                        out[(i + j) * groups + g] = value
            i += size
            offset = 0
        bad[chunk] = not finite
        if stream:
            _store_fence()
    return bad


# numba's workqueue threading layer (its fallback when neither TBB nor OpenMP is installed) aborts the
# process when two threads launch parallel kernels at once; TBB and OpenMP are thread-safe.
_WORKQUEUE_LOCK = threading.Lock()


def _parallel_section() -> Any:
    """Where a parallel kernel may run: alone under workqueue (or before a layer is chosen), else freely."""
    try:
        layer = numba.threading_layer()
    except ValueError:  # no parallel kernel has run yet: the first launch chooses the layer
        return _WORKQUEUE_LOCK
    return _WORKQUEUE_LOCK if layer == "workqueue" else contextlib.nullcontext()


def precompute_into(spec: Spec, start: int, lr_out: np.ndarray, momentum_out: np.ndarray | None) -> bool:
    """Fill the preallocated outputs of ``spec.precompute(..., backend="numba")``.

    Safe to call from several threads on every threading layer: under numba's workqueue layer, which is
    not thread-safe, the parallel kernels run one at a time.

    Returns:
        True when every value written was checked to be finite here (a custom ``scale_fn`` in
        "iterations" mode, checked inside the kernel), so ``precompute`` need not check them again.

    Raises:
        ValueError: a custom ``scale_fn`` gave a non-finite value (named by the Python path, as
            ``precompute`` does).
    """
    _require_jitted(spec)
    num_steps = lr_out.shape[0]
    scaled = getattr(spec, "_step_scaled_table", None)
    step_table = None if scaled is None or num_steps == 0 else scaled(start, num_steps)
    if step_table is not None:
        return _precompute_step_scaled(spec, step_table, start, lr_out, momentum_out)
    table = spec._cycle_table(start, num_steps)
    for quantity, dst in zip(spec.QUANTITIES, (lr_out, momentum_out), strict=True):
        if dst is None or num_steps == 0:
            continue
        if table is None:
            formula = _jit_formula(spec, quantity)
            with _parallel_section():
                _fill_direct(formula, start, dst)
            continue
        low, delta = spec._endpoints(quantity)
        groups = 1 if spec.groups is None else spec.groups
        with _parallel_section():
            _fill_from_table(
                dst.reshape(-1),
                groups,
                np.ascontiguousarray(table.row(delta)).reshape(-1),
                np.ascontiguousarray(table.scale, dtype=np.float64),
                np.ascontiguousarray(np.broadcast_to(low, (groups,)), dtype=np.float64),
                table.period,
                table.first_offset,
                _CAN_STREAM and groups == 1 and dst.nbytes >= _STREAM_BYTES,
            )
    return False


def _precompute_step_scaled(
    spec: Spec, table: Any, start: int, lr_out: np.ndarray, momentum_out: np.ndarray | None
) -> bool:
    """``precompute_into`` for a custom ``scale_fn`` in "iterations" mode: ``_fill_step_scaled``."""
    groups = 1 if spec.groups is None else spec.groups
    for quantity, dst in zip(spec.QUANTITIES, (lr_out, momentum_out), strict=True):
        if dst is None:
            continue
        low, delta = spec._endpoints(quantity)
        with _parallel_section():
            bad = _fill_step_scaled(
                dst.reshape(-1),
                groups,
                np.ascontiguousarray(table.row(delta)).reshape(-1),
                np.ascontiguousarray(np.broadcast_to(low, (groups,)), dtype=np.float64),
                table.period,
                table.first_offset,
                start,
                spec.scale_fn,  # type: ignore[attr-defined]  # a CyclicLR: it has a _step_scaled_table
                _CAN_STREAM and groups == 1 and dst.nbytes >= _STREAM_BYTES,
            )
        if bad.any():
            flat = dst.reshape(len(dst), -1)
            step = start + int(np.argwhere(~np.isfinite(flat))[0][0])
            spec(step)  # the Python path names scale_fn, its argument and its value
            raise ValueError(f"scale_fn gave a non-finite {quantity} at step {step}")
    return True
