"""The ``cyclr`` command line: show, plot and export schedules, analyze LR range tests, run the demo.

Schedule options are generated from the specs' own parameters, so every family member is reachable
with flags (``--mode triangular2 --base-lr 1e-4 --max-lr 1e-3 --step-size-up 1000``) or from a config
file holding ``spec.to_dict()`` data (``--config schedule.toml|json``). Mistakes print one line naming
the flag or the value, and exit with status 2.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import io
import json
import sys
import typing
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

import numpy as np

from ._spec import Spec, _parameter_names, from_dict
from .compose import warmup
from .cosine import CosineAnnealingLR, CosineAnnealingWarmRestarts
from .cyclic import CyclicLR
from .onecycle import OneCycleLR

FAMILIES: dict[str, type[Spec]] = {
    "cyclic": CyclicLR,
    "one-cycle": OneCycleLR,
    "sgdr": CosineAnnealingWarmRestarts,
    "cosine": CosineAnnealingLR,
}
EXAMPLES = """examples:
  cyclr show --mode triangular2 --base-lr 1e-4 --max-lr 1e-3 --step-size-up 1000 --every 250
  cyclr show --schedule one-cycle --max-lr 0.1 --total-steps 1000 --steps 0,299,999
  cyclr show --schedule sgdr --base-lr 0.1 --T-0 100 --T-mult 2 --warmup-steps 50
  cyclr plot --schedule cyclic --waveform cosine -o schedule.png
  cyclr export --config schedule.toml --format csv -o schedule.csv --num-steps 10000
  cyclr find-lr analyze losses.csv -o range_test.png
  cyclr demo
"""


class UsageError(Exception):
    """A mistake on the command line: printed as one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{self.prog}: error: {message}")


# -- schedule options ----------------------------------------------------------------------------------


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def _option_kinds() -> dict[str, tuple[str, type]]:
    """Every CLI-settable spec parameter: name -> (kind, python type), kind in scalar/groups/flag."""
    kinds: dict[str, tuple[str, type]] = {}
    for family in FAMILIES.values():
        hints = typing.get_type_hints(family)
        for name in _parameter_names(family):
            args = typing.get_args(hints[name]) or (hints[name],)
            if bool in args:
                kinds[name] = ("flag", bool)
            elif any(typing.get_origin(arg) in (Sequence, list, tuple) for arg in args):
                kinds[name] = ("groups", float)
            elif int in args:
                kinds[name] = ("scalar", int)
            elif float in args:
                kinds[name] = ("scalar", float)
            elif str in args:
                kinds[name] = ("scalar", str)
            # callables (scale_fn) and specs have no flag: use a config file or Python
    return kinds


def _number_list(text: str) -> float | tuple[float, ...]:
    try:
        values = tuple(float(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number or comma-separated numbers, got {text!r}") from None
    return values[0] if len(values) == 1 else values


def add_schedule_options(parser: argparse.ArgumentParser) -> None:
    """``--schedule``, ``--config``, ``--warmup-*`` and one flag per spec parameter."""
    group = parser.add_argument_group("schedule (flags override --config)")
    group.add_argument("--schedule", choices=sorted(FAMILIES), help="the family (default: cyclic)")
    group.add_argument("--config", type=Path, help="a .json or .toml file holding spec.to_dict() data")
    group.add_argument("--warmup-steps", type=int, help="wrap the schedule in a linear warmup")
    group.add_argument("--warmup-start-lr", type=float, help="the warmup's first lr (default 0)")
    for name, (kind, kind_type) in _option_kinds().items():
        users = ", ".join(alias for alias, family in FAMILIES.items() if name in _parameter_names(family))
        if kind == "flag":
            group.add_argument(_flag(name), dest=name, action=argparse.BooleanOptionalAction, help=f"({users})")
        elif kind == "groups":
            group.add_argument(_flag(name), dest=name, type=_number_list, metavar="X[,X...]",
                               help=f"one value, or one per parameter group ({users})")
        else:
            group.add_argument(_flag(name), dest=name, type=kind_type, metavar=kind_type.__name__.upper(),
                               help=f"({users})")


def _read_config(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text()
    except OSError as error:
        raise UsageError(f"cyclr: error: --config {path}: {error.strerror}") from error
    try:
        if path.suffix == ".toml":
            if sys.version_info >= (3, 11):
                import tomllib
            else:  # pragma: no cover
                import tomli as tomllib
            return tomllib.loads(text)
        return json.loads(text)
    except ValueError as error:
        raise UsageError(f"cyclr: error: --config {path} is not valid {path.suffix[1:] or 'json'}: {error}") from error


def build_spec(args: argparse.Namespace) -> Spec:
    """The spec the schedule options describe (config file first, then flags, then the warmup)."""
    data: dict[str, Any] = _read_config(args.config) if args.config else {}
    if not isinstance(data, dict):
        raise UsageError(f"cyclr: error: --config {args.config} must hold a table/object of spec parameters")
    family_name = data.pop("schedule", None)
    if args.schedule is not None:
        family = FAMILIES[args.schedule]
        if family_name is not None and family_name != family.__name__:
            raise UsageError(f"cyclr: error: --schedule {args.schedule} contradicts the config's {family_name!r}")
        family_name = family.__name__
    family_name = family_name or "CyclicLR"
    alias, family = next(
        ((alias, family) for alias, family in FAMILIES.items() if family.__name__ == family_name), (None, None)
    )
    for name in _option_kinds():
        value = getattr(args, name)
        if value is None:
            continue
        if family is not None and name not in _parameter_names(family):
            raise UsageError(f"cyclr: error: {_flag(name)} does not apply to --schedule {alias}")
        data[name] = value
    if family is not None:
        for field in dataclasses.fields(family):  # type: ignore[arg-type]
            required = field.init and field.default is dataclasses.MISSING
            if required and field.name not in data:
                raise UsageError(f"cyclr: error: {_flag(field.name)} is required for --schedule {alias}")
    try:
        spec = from_dict({"schedule": family_name, **data})
        if args.warmup_steps is not None or args.warmup_start_lr is not None:
            if args.warmup_steps is None:
                raise UsageError("cyclr: error: --warmup-start-lr needs --warmup-steps")
            spec = warmup(spec, args.warmup_steps, 0.0 if args.warmup_start_lr is None else args.warmup_start_lr)
    except (TypeError, ValueError) as error:
        message = str(error).replace("__init__() ", "")
        raise UsageError(f"cyclr: error: {message}") from error
    return spec


# -- commands ------------------------------------------------------------------------------------------


def _steps(args: argparse.Namespace, spec: Spec) -> np.ndarray:
    from .plotting import natural_length

    if args.steps is not None:
        try:
            steps = np.array([int(part) for part in args.steps.split(",")], dtype=np.int64)
        except ValueError as error:
            raise UsageError(f"cyclr: error: --steps must be integers separated by commas, got {args.steps!r}") from error
        if np.any(steps < 0):
            raise UsageError(f"cyclr: error: --steps must be >= 0, got {args.steps!r}")
        return steps
    num_steps = natural_length(spec) + 1 if args.num_steps is None else args.num_steps
    every = args.every if args.every is not None else max(1, num_steps // 16)
    if num_steps < 1 or every < 1:
        raise UsageError(f"cyclr: error: --num-steps and --every must be positive, got {num_steps} and {every}")
    return np.arange(args.start, args.start + num_steps, every, dtype=np.int64)


def _columns(spec: Spec, steps: np.ndarray) -> tuple[list[str], list[np.ndarray]]:
    lr, momentum = spec(steps)
    names, columns = ["step"], [steps]
    for label, values in (("lr", lr), ("momentum", momentum)):
        if values is None:
            continue
        if values.ndim == 1:
            names.append(label)
            columns.append(values)
        else:
            for group in range(values.shape[1]):
                names.append(f"{label}[{group}]")
                columns.append(values[:, group])
    return names, columns


def command_show(args: argparse.Namespace) -> None:
    spec = build_spec(args)
    names, columns = _columns(spec, _steps(args, spec))
    print(spec)
    widths = [max(len(name), 12) for name in names]
    print("  ".join(name.rjust(width) for name, width in zip(names, widths)))
    for row in zip(*columns):
        cells = [str(int(row[0])).rjust(widths[0])]
        cells += [f"{value:.6g}".rjust(width) for value, width in zip(row[1:], widths[1:])]
        print("  ".join(cells))


def command_plot(args: argparse.Namespace) -> None:
    from .plotting import natural_length, plot, require_matplotlib

    spec = build_spec(args)
    pyplot = require_matplotlib()
    num_steps = natural_length(spec) if args.num_steps is None else args.num_steps
    ax = plot(spec, num_steps, start=args.start)
    ax.figure.tight_layout()
    ax.figure.savefig(args.output, dpi=120)
    pyplot.close(ax.figure)
    print(f"wrote {args.output}")


def command_export(args: argparse.Namespace) -> None:
    from .plotting import natural_length

    spec = build_spec(args)
    num_steps = natural_length(spec) if args.num_steps is None else args.num_steps
    if num_steps < 0:
        raise UsageError(f"cyclr: error: --num-steps must be >= 0, got {num_steps}")
    steps = np.arange(args.start, args.start + num_steps, dtype=np.int64)
    names, columns = _columns(spec, steps)
    output: Path = args.output
    if args.format == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(names)
        for row in zip(*columns):
            writer.writerow([int(row[0]), *(repr(float(value)) for value in row[1:])])
        output.write_text(buffer.getvalue())
    elif args.format == "json":
        try:
            described: Any = spec.to_dict()
        except ValueError:
            described = repr(spec)
        output.write_text(json.dumps({"spec": described, **{n: c.tolist() for n, c in zip(names, columns)}}))
    else:
        table = np.empty(len(steps), dtype=[(name, np.int64 if name == "step" else np.float64) for name in names])
        for name, column in zip(names, columns):
            table[name] = column
        with output.open("wb") as handle:
            np.save(handle, table)
    print(f"wrote {len(steps)} steps to {output}")


def command_find_lr_analyze(args: argparse.Namespace) -> None:
    from .rangetest import plot_sweep, read_sweep, suggest

    try:
        lrs, losses = read_sweep(args.sweep)
    except OSError as error:
        raise UsageError(f"cyclr: error: {args.sweep}: {error.strerror}") from error
    except ValueError as error:
        raise UsageError(f"cyclr: error: {args.sweep}: {error}") from error
    options = {"skip_start": args.skip_start, "skip_end": args.skip_end, "log_loss": args.log_loss}
    if args.bandwidth is not None:
        options["bandwidth"] = args.bandwidth
    try:
        suggestion = suggest(lrs, losses, **options)
    except (TypeError, ValueError) as error:
        raise UsageError(f"cyclr: error: {args.sweep}: {error}") from error
    print(f"{args.sweep}: {len(lrs)} points, lr {lrs[0]:.3g} .. {lrs[-1]:.3g}")
    print(suggestion)
    print(f"\nCyclicLR(base_lr={suggestion.base_lr:.3g}, max_lr={suggestion.max_lr:.3g}, ...)")
    if args.output is not None:
        from .plotting import require_matplotlib

        pyplot = require_matplotlib()
        ax = plot_sweep(lrs, losses, suggestion=suggestion, title=f"LR range test: {args.sweep.name}")
        ax.figure.tight_layout()
        ax.figure.savefig(args.output, dpi=120)
        pyplot.close(ax.figure)
        print(f"wrote {args.output}")


def command_demo(args: argparse.Namespace) -> None:
    from .demo import run

    run(epochs=args.epochs, seed=args.seed, plot_path=None if args.no_plot else args.output)


def make_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="cyclr",
        description="Cyclical learning-rate schedules: show, plot and export them, analyze LR range tests.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=_Parser)

    def command(name: str, help_text: str) -> argparse.ArgumentParser:
        return commands.add_parser(name, help=help_text, description=help_text, epilog=EXAMPLES,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)

    show = command("show", "Print lr and momentum at chosen steps.")
    show.add_argument("--steps", help="comma-separated steps, e.g. 0,500,1000")
    show.add_argument("--every", type=int, help="print every N-th step (default: about 16 rows)")
    show.add_argument("--num-steps", type=int, help="how many steps to cover (default: two cycles or so)")
    show.add_argument("--start", type=int, default=0, help="the first step")
    add_schedule_options(show)
    show.set_defaults(run=command_show)

    plot = command("plot", "Plot lr and momentum against the step, cycle boundaries marked.")
    plot.add_argument("-o", "--output", type=Path, required=True, help="the image to write (.png, .svg, .pdf)")
    plot.add_argument("--num-steps", type=int, help="how many steps to draw")
    plot.add_argument("--start", type=int, default=0, help="the first step")
    add_schedule_options(plot)
    plot.set_defaults(run=command_plot)

    export = command("export", "Write the precomputed schedule to a file.")
    export.add_argument("--format", choices=["csv", "json", "npy"], required=True)
    export.add_argument("-o", "--output", type=Path, required=True, help="the file to write")
    export.add_argument("--num-steps", type=int, help="how many steps (default: two cycles or so)")
    export.add_argument("--start", type=int, default=0, help="the first step")
    add_schedule_options(export)
    export.set_defaults(run=command_export)

    find_lr = command("find-lr", "The LR range test: suggest base_lr and max_lr from a recorded sweep.")
    find_lr_commands = find_lr.add_subparsers(dest="find_lr_command", required=True, metavar="COMMAND",
                                              parser_class=_Parser)
    analyze = find_lr_commands.add_parser(
        "analyze", help="suggestions from a CSV sweep with lr and loss columns",
        description="Suggest base_lr and max_lr (Smith's rule) from a recorded sweep: a CSV file with a "
        "header naming its lr and loss columns (RangeTestResult.to_csv writes one).",
    )
    analyze.add_argument("sweep", type=Path, help="the CSV file")
    analyze.add_argument("-o", "--output", type=Path, help="also plot the sweep with the suggestion")
    analyze.add_argument("--skip-start", type=int, help="points ignored at the start (default: a tenth)")
    analyze.add_argument("--skip-end", type=int, help="points ignored at the end (default: a twentieth)")
    analyze.add_argument("--bandwidth", type=float, help="smoothing width in decades of lr (default 0.2)")
    analyze.add_argument("--log-loss", action="store_true", help="apply the rule to log(loss)")
    analyze.set_defaults(run=command_find_lr_analyze)

    demo = command("demo", "Train a small network on scikit-learn's digits: fixed lr vs triangular vs triangular2.")
    demo.add_argument("--epochs", type=int, default=12, help="epochs per run (default 12)")
    demo.add_argument("--seed", type=int, default=0)
    demo.add_argument("-o", "--output", type=Path, default=Path("cyclr_demo.png"), help="the plot to write")
    demo.add_argument("--no-plot", action="store_true", help="skip the plot")
    demo.set_defaults(run=command_demo)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status (0, or 2 for a usage mistake)."""
    parser = make_parser()
    try:
        args = parser.parse_args(argv)
        if getattr(args, "start", 0) is not None and getattr(args, "start", 0) < 0:
            raise UsageError(f"cyclr: error: --start must be >= 0, got {args.start}")
        args.run(args)
    except UsageError as error:
        print(error, file=sys.stderr)
        return 2
    except BrokenPipeError:  # pragma: no cover - e.g. piped into head
        return 0
    return 0


def entry_point() -> None:  # pragma: no cover - the console script
    sys.exit(main())

