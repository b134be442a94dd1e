"""The schedule options: one flag per spec parameter, its help taken from the spec, and the config file.

Each flag's help is derived from the specs themselves, so it cannot drift from them: the description
from the class docstring's ``Args:`` entry, the default from the dataclass field, and the choices from
the module constant the constructor validates against (``mode`` -> ``MODES``, ``waveform`` ->
``WAVEFORMS``, ...). A config file holds ``spec.to_dict()`` data as JSON or TOML (see docs/cli.md).
"""

from __future__ import annotations

import argparse
import dataclasses
import inspect
import json
import math
import re
import sys
import types
import typing
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .._spec import Spec, _parameter_names, from_dict
from ..compose import warmup
from ..cosine import CosineAnnealingLR, CosineAnnealingWarmRestarts
from ..cosine_decay import CosineDecay, CosineDecayRestarts
from ..cyclic import CyclicLR
from ..decay import Constant, ExponentialDecay, InverseTimeDecay, PiecewiseConstant, PolynomialDecay
from ..inverse_sqrt import InverseSqrt
from ..onecycle import OneCycleLR
from ..stepwise import ConstantLR, ExponentialLR, LinearLR, MultiStepLR, PolynomialLR, StepLR
from ..wsd import WarmupStableDecay
from ._usage import UsageError, fail

FAMILIES: dict[str, type[Spec]] = {
    "cyclic": CyclicLR,
    "one-cycle": OneCycleLR,
    "sgdr": CosineAnnealingWarmRestarts,
    "cosine": CosineAnnealingLR,
    "constant": Constant,
    "polynomial": PolynomialDecay,
    "exponential": ExponentialDecay,
    "inverse-time": InverseTimeDecay,
    "piecewise": PiecewiseConstant,
    "constant-lr": ConstantLR,
    "linear-lr": LinearLR,
    "exponential-lr": ExponentialLR,
    "step-lr": StepLR,
    "multistep-lr": MultiStepLR,
    "polynomial-lr": PolynomialLR,
    "cosine-decay": CosineDecay,
    "cosine-decay-restarts": CosineDecayRestarts,
    "inverse-sqrt": InverseSqrt,
    "wsd": WarmupStableDecay,
}
CONFIG_FORMATS = (".json", ".toml")
CONFIG_LIMIT = 1 << 20  # bytes: a config is a few lines; a larger file is not one
DOCS = "https://github.com/cyclr/cyclr/blob/main/docs/cli.md"
CONFIG_HELP = (
    'a .json or .toml file holding spec.to_dict() data, e.g. schedule = "CyclicLR", max_lr = 0.01 '
    f"(`cyclr config` writes one; the format: {DOCS})"
)


def flag(name: str) -> str:
    """The flag of a spec parameter: ``step_size_up`` -> ``--step-size-up``."""
    return "--" + name.replace("_", "-")


def option_kinds() -> dict[str, tuple[str, type]]:
    """Every CLI-settable spec parameter: name -> (kind, python type), kind in scalar/groups/list/flag.

    "groups": a number or one per parameter group (``base_lr``); "list": always a list (``milestones``).
    """
    kinds: dict[str, tuple[str, type]] = {}
    for family in FAMILIES.values():
        hints = typing.get_type_hints(family)
        for name in _parameter_names(family):
            hint = hints[name]
            union = typing.get_origin(hint) in (typing.Union, types.UnionType)
            args = typing.get_args(hint) if union else (hint,)
            if bool in args:
                kinds[name] = ("flag", bool)
            elif any(typing.get_origin(arg) in (Sequence, list, tuple) for arg in args):
                sequences = (Sequence, list, tuple)
                items = [typing.get_args(arg) for arg in args if typing.get_origin(arg) in sequences]
                if int in items[0]:
                    kinds[name] = ("list", int)  # milestones, boundaries: always a list of integers
                elif float in args:
                    kinds[name] = ("groups", float)  # a float, or one per parameter group
                else:
                    kinds[name] = ("list", float)  # factors: always a list
            elif int in args:
                kinds[name] = ("scalar", int)
            elif float in args:
                kinds[name] = ("scalar", float)
            elif str in args:
                kinds[name] = ("scalar", str)
            # callables (scale_fn) and specs have no flag: use a config file or Python
    return kinds


def docstring_args(cls: type) -> dict[str, str]:
    """The ``Args:`` section of a class docstring: parameter name -> its description, on one line."""
    lines = inspect.cleandoc(cls.__doc__ or "").splitlines()
    entries: dict[str, str] = {}
    inside, current = False, None
    for line in lines:
        if line.strip() == "Args:":
            inside = True
            continue
        if not inside:
            continue
        if line and not line.startswith(" "):
            break  # the next section (Raises:, Examples:)
        entry = re.match(r"^ {4}(\w+): (.*)$", line)
        if entry:
            current = entry.group(1)
            entries[current] = entry.group(2).strip()
        elif current and line.strip():
            entries[current] += " " + line.strip()
    return {name: text.replace("``", "") for name, text in entries.items()}


def choices(family: type[Spec], name: str) -> tuple[str, ...] | None:
    """The values a string parameter accepts: the module constant its constructor validates against."""
    plural = name.upper()[:-1] + "IES" if name.endswith("y") else name.upper() + "S"
    found = getattr(sys.modules[family.__module__], plural, None)
    return tuple(found) if isinstance(found, tuple) else None


def _default(field: dataclasses.Field) -> str:
    if field.default is dataclasses.MISSING:
        return "required"
    if field.default is None:
        return "default: none"
    return f"default: {field.default!r}" if isinstance(field.default, str) else f"default: {field.default}"


def flag_help(name: str) -> str:
    """``--NAME``'s help: for each family that has the parameter, its description and default."""
    parts: dict[str, list[str]] = {}
    for alias, family in FAMILIES.items():
        if name not in _parameter_names(family):
            continue
        field = next(field for field in dataclasses.fields(family) if field.name == name)  # type: ignore[arg-type]
        description = docstring_args(family).get(name, "").rstrip(".")
        accepted = choices(family, name)
        if accepted and not all(repr(value) in description or value in description for value in accepted):
            description += f" (one of {', '.join(accepted)})"
        parts.setdefault(f"{description}; {_default(field)}", []).append(alias)
    text = " | ".join(f"{', '.join(aliases)}: {what}" for what, aliases in parts.items())
    return text.replace("%", "%%")


def _number_list(text: str) -> float | tuple[float, ...]:
    try:
        values = tuple(float(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a number or comma-separated numbers, got {text!r}"
        ) from None
    return values[0] if len(values) == 1 else values


def _list_of(kind: type) -> Any:
    """The parser of a comma-separated list of ``kind`` (int or float): always a tuple, even of one."""

    def parse(text: str) -> tuple[Any, ...]:
        try:
            return tuple(kind(part) for part in text.split(","))
        except ValueError:
            noun = "integers" if kind is int else "numbers"
            raise argparse.ArgumentTypeError(f"expected comma-separated {noun}, got {text!r}") from None

    return parse


def add_schedule_options(parser: argparse.ArgumentParser) -> None:
    """``--schedule``, ``--config``, ``--warmup-*`` and one flag per spec parameter."""
    group = parser.add_argument_group("schedule (flags override --config; [family: description; default])")
    group.add_argument(
        "--schedule", choices=sorted(FAMILIES), help="the family (default: cyclic, or the config's)"
    )
    group.add_argument("--config", type=Path, metavar="FILE", help=CONFIG_HELP)
    group.add_argument(
        "--warmup-steps",
        type=int,
        metavar="INT",
        help="wrap the schedule in a linear warmup of this many steps (default: none)",
    )
    group.add_argument(
        "--warmup-start-lr",
        type=float,
        metavar="FLOAT",
        help="the warmup's first lr, with --warmup-steps (default: 0.0)",
    )
    for name, (kind, kind_type) in option_kinds().items():
        text = flag_help(name)
        if kind == "flag":
            group.add_argument(flag(name), dest=name, action=argparse.BooleanOptionalAction, help=text)
        elif kind == "groups":
            group.add_argument(flag(name), dest=name, type=_number_list, metavar="X[,X...]", help=text)
        elif kind == "list":
            metavar = "N[,N...]" if kind_type is int else "X[,X...]"
            group.add_argument(flag(name), dest=name, type=_list_of(kind_type), metavar=metavar, help=text)
        else:
            accepted = next(
                (choices(f, name) for f in FAMILIES.values() if name in _parameter_names(f)), None
            )
            metavar = "{" + ",".join(accepted) + "}" if accepted else kind_type.__name__.upper()
            group.add_argument(flag(name), dest=name, type=kind_type, metavar=metavar, help=text)


# -- config files --------------------------------------------------------------------------------------


def read_config(path: Path) -> dict[str, Any]:
    """The data in a ``--config`` file (JSON or TOML by extension, in any case); refused in one line."""
    suffix = path.suffix.lower()
    if suffix not in CONFIG_FORMATS:
        fail(f"--config {path}: unknown extension {path.suffix!r}; use a .json or .toml file")
    try:
        with path.open("rb") as handle:
            raw = handle.read(CONFIG_LIMIT + 1)
    except OSError as error:
        fail(f"--config {path}: {error.strerror or error}")
    if len(raw) > CONFIG_LIMIT:
        fail(f"--config {path} is larger than {CONFIG_LIMIT} bytes; a config holds one spec's parameters")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        fail(f"--config {path} is not UTF-8 text (byte {error.start}); it must hold JSON or TOML")
    try:
        if suffix == ".toml":
            import tomllib

            data = tomllib.loads(text)
        else:
            data = json.loads(text)
    except RecursionError:
        fail(f"--config {path} is nested too deeply to be a spec")
    except ValueError as error:
        fail(f"--config {path} is not valid {suffix[1:]}: {error}")
    if not isinstance(data, dict):
        fail(f"--config {path} must hold a table/object of spec parameters, got a {type(data).__name__}")
    return data


def _toml_value(name: str, value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else ("nan" if math.isnan(value) else repr(value))
    if isinstance(value, str):
        return json.dumps(value)  # a JSON string is a TOML basic string
    if isinstance(value, list) and not any(isinstance(item, (dict, list)) or item is None for item in value):
        return "[" + ", ".join(_toml_value(name, item) for item in value) + "]"
    raise ValueError(f"{name}={value!r} cannot be written as TOML")


def _toml_key(key: str) -> str:
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else json.dumps(key)


def to_toml(data: dict[str, Any], prefix: str = "") -> str:
    """``spec.to_dict()`` data as TOML: scalars first, nested specs as tables; None values are omitted.

    TOML has no None: a parameter left at None is left out, and reading the file fills its default
    back in, so ``from_dict(tomllib.loads(to_toml(spec.to_dict()))) == spec``.
    """
    lines: list[str] = []
    tables: list[str] = []
    for key, value in data.items():
        path = f"{prefix}.{_toml_key(key)}" if prefix else _toml_key(key)
        if value is None:
            continue
        if isinstance(value, dict):
            tables.append(f"\n[{path}]\n" + to_toml(value, path))
        elif isinstance(value, list) and value and all(isinstance(item, dict) for item in value):
            tables.extend(f"\n[[{path}]]\n" + to_toml(item, path) for item in value)
        else:
            lines.append(f"{_toml_key(key)} = {_toml_value(path, value)}\n")
    return "".join(lines) + "".join(tables)


# -- the spec ------------------------------------------------------------------------------------------


def build_spec(args: argparse.Namespace) -> Spec:
    """The spec the schedule options describe (config file first, then flags, then the warmup)."""
    data: dict[str, Any] = read_config(args.config) if args.config is not None else {}
    family_name = data.pop("schedule", None)
    if family_name is not None and not isinstance(family_name, str):
        fail(f"--config {args.config}: schedule must be a name such as 'CyclicLR', got {family_name!r}")
    if args.schedule is not None:
        chosen = FAMILIES[args.schedule]
        if family_name is not None and family_name != chosen.__name__:
            fail(f"--schedule {args.schedule} contradicts the config's {family_name!r}")
        family_name = chosen.__name__
    family_name = family_name or "CyclicLR"
    alias: str | None
    family: type[Spec] | None
    alias, family = next(
        ((alias, family) for alias, family in FAMILIES.items() if family.__name__ == family_name),
        (None, None),
    )
    for name in option_kinds():
        value = getattr(args, name)
        if value is None:
            continue
        if family is None:
            fail(f"{flag(name)} cannot change a composed {family_name} config; edit the file")
        if name not in _parameter_names(family):
            fail(f"{flag(name)} does not apply to --schedule {alias}")
        data[name] = value
    if family is not None:
        for field in dataclasses.fields(family):  # type: ignore[arg-type]
            required = field.init and field.default is dataclasses.MISSING
            if required and field.name not in data:
                fail(f"{flag(field.name)} is required for --schedule {alias}")
    try:
        spec = from_dict({"schedule": family_name, **data})
        if args.warmup_steps is not None or args.warmup_start_lr is not None:
            if args.warmup_steps is None:
                fail("--warmup-start-lr needs --warmup-steps")
            start_lr = 0.0 if args.warmup_start_lr is None else args.warmup_start_lr
            spec = warmup(spec, args.warmup_steps, start_lr)
    except RecursionError:
        fail(f"--config {args.config} is nested too deeply to be a spec")
    except (TypeError, ValueError, OverflowError) as error:
        fail(str(error).replace("__init__() ", ""))
    except UsageError:
        raise
    return spec
