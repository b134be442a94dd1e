"""The scalar hot path: a formula closure rewritten as one flat Python function, with the same source.

A formula is written once against an ``Ops`` namespace (see ``cyclr._ops``) and run on Python ints by
calling its closure with ``PYTHON``'s functions. On that path most of the time of ``spec.lr_at(step)``
goes to the calls, not to the arithmetic: ``lr_at`` itself, then the closure, then one Python call per
``minimum``. ``inline`` takes the closure built for ``PYTHON`` and rewrites its own source (the single
definition every path runs), so that one function does what the chain did:

* ``minimum(a, b)`` and ``maximum(a, b)`` become ``(x if (x := a) <= (y := b) else y)`` (``>=`` for
  the maximum): exactly ``PYTHON.minimum``'s body, ``a`` and ``b`` each evaluated once, in order;
* ``if flag:`` on a captured ``bool`` (a choice fixed when the spec was built, such as the waveform)
  keeps only the branch taken, also in ``elif`` chains and ``x if flag else y``;
* optionally a guard in front, ``if type(step) is not int or step < 0: return fallback(step)``, so the
  function can stand for ``spec.lr_at`` itself: a Python int takes the flat body, anything else the
  checked, general path.

Nothing else changes: every other call (``math.pow``, ``math.cos``, another spec's formula) and every
operator is the original, in the original order, so the values are the closure's bit for bit (the tests
compare the two on every family). A formula that cannot be rewritten (no source, a lambda, a nested
function or comprehension, ``nonlocal``) is left as it is: ``inline`` returns None.

Rewriting costs a parse and a compile, once per formula *shape* (the code and its fixed choices); a spec
pays one call of the cached factory.
"""

from __future__ import annotations

import ast
import inspect
import textwrap
import threading
from collections.abc import Callable
from typing import Any

from ._ops import _maximum, _minimum

_ORDER = {id(_minimum): ast.LtE, id(_maximum): ast.GtE}
_FACTORIES: dict[Any, Any] = {}
_LOCK = threading.Lock()
_UNSUPPORTED = (
    ast.FunctionDef,
    ast.AsyncFunctionDef,
    ast.Lambda,
    ast.ClassDef,
    ast.ListComp,
    ast.SetComp,
    ast.DictComp,
    ast.GeneratorExp,
    ast.Nonlocal,
    ast.Global,
    ast.Yield,
    ast.YieldFrom,
    ast.Await,
)
FALLBACK = "_cyclr_fallback"


def inline(formula: Callable[[Any], Any], *, guarded: bool = False) -> Callable[..., Any] | None:
    """``formula`` as one flat function (see the module's docstring), or None where it cannot be.

    Args:
        formula: a closure ``step -> value`` built against ``cyclr._ops.PYTHON``.
        guarded: whether the result takes a second argument first, ``fallback``, and calls it for any
            step that is not a non-negative Python int: ``make(fallback)`` gives ``step -> value``.

    Returns:
        ``step -> value`` (``guarded=False``), or ``fallback -> (step -> value)`` (``guarded=True``);
        None when the formula is not a plain ``def`` of one argument whose source can be read.

    Examples:
        >>> import cyclr
        >>> from cyclr._ops import PYTHON
        >>> spec = cyclr.CyclicLR(step_size_up=10, mode="exp_range", gamma=0.9)
        >>> formula = spec._formula(PYTHON, "lr")
        >>> inline(formula)(123) == formula(123)
        True
    """
    code = getattr(formula, "__code__", None)
    if code is None or code.co_argcount != 1 or code.co_kwonlyargcount or code.co_flags & 0x0C:
        return None  # not a plain function of one argument (no *args, no **kwargs)
    if getattr(formula, "__defaults__", None) or getattr(formula, "__kwdefaults__", None):
        return None
    try:
        cells = [cell.cell_contents for cell in (formula.__closure__ or ())]  # type: ignore[attr-defined]
    except ValueError:  # a cell not filled yet (a name the closure assigns after its def): leave it be
        return None
    kinds = tuple(_kind(value) for value in cells)
    key = (code, kinds, guarded)
    with _LOCK:
        if key not in _FACTORIES:
            _FACTORIES[key] = _factory(formula, kinds, guarded)
    factory = _FACTORIES[key]
    if factory is None:
        return None
    if guarded:
        return lambda fallback: factory(*cells, fallback)
    return factory(*cells)  # type: ignore[no-any-return]


def _kind(value: Any) -> Any:
    """How a captured value shapes the rewrite: an order function, a fixed bool, or nothing."""
    if value is _minimum or value is _maximum:
        return ("order", id(value))
    if type(value) is bool:
        return ("flag", value)
    return None


def _factory(formula: Any, kinds: tuple[Any, ...], guarded: bool) -> Any:
    """``make(*captured[, fallback]) -> the rewritten function``, compiled once; None if unsupported."""
    try:
        source = textwrap.dedent(inspect.getsource(formula))
        tree = ast.parse(source)
    except (OSError, TypeError, SyntaxError, IndentationError):
        return None
    if len(tree.body) != 1 or not isinstance(tree.body[0], ast.FunctionDef):
        return None
    definition = tree.body[0]
    if definition.name != formula.__name__ or any(
        isinstance(node, _UNSUPPORTED) for node in ast.walk(ast.Module(body=definition.body, type_ignores=[]))
    ):
        return None
    names = formula.__code__.co_freevars
    orders = {name: kind[1] for name, kind in zip(names, kinds, strict=True) if kind and kind[0] == "order"}
    flags = {name: kind[1] for name, kind in zip(names, kinds, strict=True) if kind and kind[0] == "flag"}
    argument = definition.args.args[0].arg
    if argument in names or FALLBACK in names or any(name.startswith("_cyclr_t") for name in names):
        return None
    body = _Rewrite(orders, flags).statements(definition.body)
    if guarded:
        guard = ast.parse(
            f"if type({argument}) is not int or {argument} < 0:\n    return {FALLBACK}({argument})"
        ).body
        body = guard + body
    definition.body = body or [ast.Pass()]
    definition.decorator_list = []
    definition.returns = None
    definition.args.args[0].annotation = None
    parameters = [*names, FALLBACK] if guarded else list(names)
    make = ast.FunctionDef(
        name="_make",
        args=ast.arguments(
            posonlyargs=[],
            args=[ast.arg(arg=name) for name in parameters],
            kwonlyargs=[],
            kw_defaults=[],
            defaults=[],
        ),
        body=[definition, ast.Return(value=ast.Name(id=definition.name, ctx=ast.Load()))],
        decorator_list=[],
    )
    module = ast.fix_missing_locations(ast.Module(body=[make], type_ignores=[]))
    ast.increment_lineno(module, formula.__code__.co_firstlineno - 1)
    try:
        compiled = compile(module, formula.__code__.co_filename, "exec")
    except (SyntaxError, ValueError):
        return None
    namespace: dict[str, Any] = {}
    exec(compiled, formula.__globals__, namespace)  # defines _make only, in `namespace`
    return namespace["_make"]


class _Rewrite(ast.NodeTransformer):
    """Inline the order functions, fold the fixed flags."""

    def __init__(self, orders: dict[str, int], flags: dict[str, bool]) -> None:
        self.orders = orders
        self.flags = flags
        self.temporaries = 0

    def statements(self, body: list[ast.stmt]) -> list[ast.stmt]:
        result: list[ast.stmt] = []
        for statement in body:
            if isinstance(statement, ast.If) and self._flag(statement.test) is not None:
                taken = statement.body if self._flag(statement.test) else statement.orelse
                result += self.statements(taken)
                continue
            new = self.visit(statement)
            result += new if isinstance(new, list) else [new]
        return result

    def _flag(self, test: ast.expr) -> bool | None:
        if isinstance(test, ast.Name) and test.id in self.flags:
            return self.flags[test.id]
        return None

    def generic_visit(self, node: ast.AST) -> ast.AST:
        for name, value in ast.iter_fields(node):
            if isinstance(value, list) and value and isinstance(value[0], ast.stmt):
                setattr(node, name, self.statements(value) or ([ast.Pass()] if name == "body" else []))
            elif isinstance(value, list):
                value[:] = [self.visit(item) if isinstance(item, ast.AST) else item for item in value]
            elif isinstance(value, ast.AST):
                setattr(node, name, self.visit(value))
        return node

    def visit_IfExp(self, node: ast.IfExp) -> ast.AST:
        flag = self._flag(node.test)
        if flag is not None:
            return self.visit(node.body if flag else node.orelse)
        return self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> ast.AST:
        node = self.generic_visit(node)  # type: ignore[assignment]
        if (
            isinstance(node.func, ast.Name)
            and node.func.id in self.orders
            and len(node.args) == 2
            and not node.keywords
            and not any(isinstance(arg, ast.Starred) for arg in node.args)
        ):
            order = _ORDER[self.orders[node.func.id]]
            first, second = self._temporary(), self._temporary()
            test = ast.Compare(
                left=ast.NamedExpr(target=ast.Name(id=first, ctx=ast.Store()), value=node.args[0]),
                ops=[order()],
                comparators=[ast.NamedExpr(target=ast.Name(id=second, ctx=ast.Store()), value=node.args[1])],
            )
            return ast.copy_location(
                ast.IfExp(
                    test=test,
                    body=ast.Name(id=first, ctx=ast.Load()),
                    orelse=ast.Name(id=second, ctx=ast.Load()),
                ),
                node,
            )
        return node

    def _temporary(self) -> str:
        self.temporaries += 1
        return f"_cyclr_t{self.temporaries}"
