"""The commands: show, plot, export, config, find-lr analyze, demo. Each checks its outputs first."""

from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path
from typing import Any

import numpy as np

from .._spec import Spec
from ..plotting import MAX_PLOT_STEPS as PLOT_STEPS
from ._export import INT64_MAX, check_range, export
from ._files import atomic_write, check_output, shown
from ._options import build_spec, to_toml
from ._usage import fail

SHOW_ROWS = 10_000
DEMO_EPOCHS = 200
DEMO_SEEDS = 20


def _inputs(args: argparse.Namespace) -> list[tuple[str, Path]]:
    return [("--config", args.config)] if getattr(args, "config", None) is not None else []


def _positive(flag: str, value: int | None, limit: int | None = None, what: str = "") -> None:
    if value is not None and value < 1:
        fail(f"{flag} must be a positive integer, got {value}")
    if value is not None and limit is not None and value > limit:
        fail(f"{flag} must be at most {limit}{what}, got {value}")


def _natural_length(spec: Spec) -> int:
    from ..plotting import natural_length

    return natural_length(spec)


# -- show ----------------------------------------------------------------------------------------------


def show_steps(args: argparse.Namespace, spec: Spec) -> list[int]:
    """The steps ``show`` prints: ``--steps``, or every ``--every`` of ``--num-steps`` from ``--start``."""
    if args.steps is not None:
        try:
            steps = [int(part) for part in args.steps.split(",")]
        except ValueError:
            fail(f"--steps must be integers separated by commas, got {args.steps!r}")
        if any(step < 0 for step in steps):
            fail(f"--steps must be >= 0, got {args.steps!r}")
        if len(steps) > SHOW_ROWS:
            fail(f"--steps: show prints at most {SHOW_ROWS} rows, got {len(steps)}; use cyclr export")
        return steps
    if args.start < 0:
        fail(f"--start must be >= 0, got {args.start}")
    _positive("--num-steps", args.num_steps)
    _positive("--every", args.every)
    num_steps = _natural_length(spec) + 1 if args.num_steps is None else args.num_steps
    every = args.every if args.every is not None else max(1, num_steps // 16)
    rows = -(-num_steps // every)
    if rows > SHOW_ROWS:
        fail(
            f"show prints at most {SHOW_ROWS} rows, got --num-steps {num_steps} --every {every} "
            f"({rows} rows); raise --every or use cyclr export"
        )
    return list(range(args.start, args.start + num_steps, every))


def command_show(args: argparse.Namespace) -> None:
    """A table of step, lr and momentum, from the scalar path (exact at any Python int step)."""
    spec = build_spec(args)
    steps = show_steps(args, spec)
    rows = []
    for step in steps:
        lr, momentum = spec(step)
        rows.append(
            [
                step,
                *np.atleast_1d(lr).tolist(),
                *([] if momentum is None else np.atleast_1d(momentum).tolist()),
            ]
        )
    lr, momentum = spec(steps[0]) if steps else spec(0)
    names = ["step"]
    for label, values in (("lr", lr), ("momentum", momentum)):
        if values is not None:
            count = np.size(values)
            names += [label] if np.ndim(values) == 0 else [f"{label}[{g}]" for g in range(count)]
    print(spec)
    widths = [max(len(name), 12) for name in names]
    print("  ".join(name.rjust(width) for name, width in zip(names, widths, strict=True)))
    for row in rows:
        cells = [str(row[0]).rjust(widths[0])]
        cells += [f"{value:.6g}".rjust(width) for value, width in zip(row[1:], widths[1:], strict=True)]
        print("  ".join(cells))


# -- images --------------------------------------------------------------------------------------------


def image_output(args: argparse.Namespace, inputs: list[tuple[str, Path]]) -> tuple[Path, str]:
    """The image file to write and its format: no suffix means ``.png``; an unknown one is refused."""
    from matplotlib.backend_bases import FigureCanvasBase

    given: Path = args.output
    if str(given).endswith("/") or given.is_dir():
        fail(f"-o {given} is a directory; give a file name")
    if given.exists() and not given.is_file():
        fail(f"-o {given} is not a regular file; write to a file")
    path = given if given.suffix else given.with_name(given.name + ".png")
    fmt = path.suffix[1:].lower()
    known = sorted(FigureCanvasBase.get_supported_filetypes())
    if fmt not in known:
        fail(f"-o {given}: unknown image format {fmt!r}; use one of {', '.join(known)}")
    return check_output(path, force=args.force, inputs=inputs), fmt


def save_figure(figure: Any, target: Path, fmt: str, dpi: int = 120) -> None:
    """Write a matplotlib figure atomically; a format matplotlib cannot write here is one line."""
    try:
        with atomic_write(target, binary=True) as handle:
            figure.savefig(handle, format=fmt, dpi=dpi)
    except RuntimeError as error:  # e.g. .pgf without a TeX installation
        fail(f"-o {target}: matplotlib cannot write {fmt} here: {error}")


def command_plot(args: argparse.Namespace) -> None:
    from ..plotting import plot, require_matplotlib

    require_matplotlib()
    spec = build_spec(args)
    target, fmt = image_output(args, _inputs(args))
    _positive("--num-steps", args.num_steps, PLOT_STEPS, " (one point per step)")
    num_steps = _natural_length(spec) if args.num_steps is None else args.num_steps
    if num_steps > PLOT_STEPS:
        fail(f"the schedule's natural length {num_steps} is over {PLOT_STEPS} steps; pass --num-steps")
    check_range(args.start, num_steps)
    _write_plot(plot(spec, num_steps, start=args.start), target, fmt, args)


def _write_plot(ax: Any, target: Any, fmt: str, args: argparse.Namespace) -> None:
    """Lay out ``ax``'s figure, write it to ``target`` (atomically), close it, and say where it went."""
    import matplotlib.pyplot as pyplot

    ax.figure.tight_layout()
    try:
        save_figure(ax.figure, target, fmt)
    finally:
        pyplot.close(ax.figure)
    print(f"wrote {shown(target, args.output)}")


# -- files ---------------------------------------------------------------------------------------------


def command_export(args: argparse.Namespace) -> None:
    target = check_output(args.output, force=args.force, inputs=_inputs(args))
    spec = build_spec(args)
    if args.num_steps is not None and args.num_steps < 0:
        fail(f"--num-steps must be >= 0, got {args.num_steps}")
    num_steps = _natural_length(spec) if args.num_steps is None else args.num_steps
    export(spec, args.format, target, args.start, num_steps)
    print(f"wrote {num_steps} steps to {shown(target, args.output)}")


def command_config(args: argparse.Namespace) -> None:
    """The spec's ``to_dict()`` as TOML or JSON: a file to edit and read back with ``--config``."""
    fmt = args.format
    if fmt is None:
        suffix = args.output.suffix.lower() if args.output is not None else ".toml"
        if suffix not in (".toml", ".json"):
            fail(
                f"-o {args.output}: unknown config extension {args.output.suffix!r}; "
                "use .toml or .json, or --format"
            )
        fmt = suffix[1:]
    target = (
        None if args.output is None else check_output(args.output, force=args.force, inputs=_inputs(args))
    )
    spec = build_spec(args)
    try:
        data = spec.to_dict()
        text = to_toml(data) if fmt == "toml" else json.dumps(data, indent=2) + "\n"
    except ValueError as error:
        fail(str(error))
    if target is None:
        print(text, end="")
        return
    with atomic_write(target) as handle:
        handle.write(text)
    print(f"wrote {shown(target, args.output)}")


def command_find_lr_analyze(args: argparse.Namespace) -> None:
    from ..rangetest import plot_sweep, read_sweep, suggest

    target = fmt = None
    if args.output is not None:
        from ..plotting import require_matplotlib

        require_matplotlib()
        target, fmt = image_output(args, [("the sweep", args.sweep)])
    if args.sweep.is_dir():
        fail(f"{args.sweep} is a directory; give the sweep's CSV file")
    try:
        lrs, losses = read_sweep(args.sweep, lr_column=args.lr_column, loss_column=args.loss_column)
    except OSError as error:
        fail(f"{args.sweep}: {error.strerror or error}")
    except (ValueError, csv.Error, UnicodeDecodeError) as error:
        fail(str(error))  # read_sweep's messages start with the file's name
    options: dict[str, Any] = {
        "skip_start": args.skip_start,
        "skip_end": args.skip_end,
        "log_loss": args.log_loss,
    }
    if args.bandwidth is not None:
        options["bandwidth"] = args.bandwidth
    try:
        suggestion = suggest(lrs, losses, **options)
    except (TypeError, ValueError) as error:
        fail(f"{args.sweep}: {error}")
    print(f"{args.sweep}: {len(lrs)} points, lr {lrs[0]:.3g} .. {lrs[-1]:.3g}")
    print(suggestion)
    print(f"\nCyclicLR(base_lr={suggestion.base_lr:.3g}, max_lr={suggestion.max_lr:.3g}, ...)")
    if target is not None and fmt is not None:
        ax = plot_sweep(lrs, losses, suggestion=suggestion, title=f"LR range test: {args.sweep.name}")
        _write_plot(ax, target, fmt, args)


def command_demo(args: argparse.Namespace) -> None:
    from .. import demo

    _positive("--epochs", args.epochs, DEMO_EPOCHS)
    _positive("--seeds", args.seeds, DEMO_SEEDS)
    if not 0 <= args.seed <= 2**32 - 1:
        fail(f"--seed must be an integer from 0 to 2**32 - 1, got {args.seed}")
    demo.require(plot=not args.no_plot)
    target = fmt = None
    if not args.no_plot:
        target, fmt = image_output(args, [])
    demo.run(
        epochs=args.epochs,
        seed=args.seed,
        seeds=args.seeds,
        plot=None if target is None else (lambda figure: save_figure(figure, target, fmt or "png", dpi=110)),
    )
    if target is not None:
        print(f"wrote {shown(target, args.output)}")


__all__ = [
    "INT64_MAX",
    "command_config",
    "command_demo",
    "command_export",
    "command_find_lr_analyze",
    "command_plot",
    "command_show",
]
