"""The ``cyclr`` command line: show, plot, export and write schedules, analyze LR range tests, run the demo.

Schedule options are generated from the specs' own parameters, so every family member is reachable
with flags (``--mode triangular2 --base-lr 1e-4 --max-lr 1e-3 --step-size-up 1000``) or from a config
file holding ``spec.to_dict()`` data (``--config schedule.toml|json``). Every mistake, and every
ValueError, TypeError or OSError the library raises for the input, prints one line and exits with
status 2; Ctrl-C prints one line and exits with 130. No input is ever overwritten, an existing output
only with ``--force``, and every file is written atomically (see ``_files``).

Examples:
    >>> main(["show", "--step-size-up", "10", "--steps", "0,10"])  # doctest: +ELLIPSIS
    CyclicLR(base_lr=0.001, max_lr=0.006, step_size_up=10, ...)
            step            lr      momentum
               0         0.001           0.9
              10         0.006           0.8
    0
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from . import _commands
from ._options import add_schedule_options, build_spec
from ._usage import Parser, UsageError

EXAMPLES = """examples:
  cyclr show --mode triangular2 --base-lr 1e-4 --max-lr 1e-3 --step-size-up 1000 --every 250
  cyclr show --schedule one-cycle --max-lr 0.1 --total-steps 1000 --steps 0,299,999
  cyclr show --schedule sgdr --base-lr 0.1 --T-0 100 --T-mult 2 --warmup-steps 50
  cyclr plot --schedule cyclic --waveform cosine -o schedule.png
  cyclr config --schedule one-cycle --max-lr 0.1 --total-steps 1000 -o schedule.toml
  cyclr export --config schedule.toml --format csv -o schedule.csv --num-steps 10000
  cyclr find-lr analyze sweep.csv -o sweep.png
  cyclr demo

`cyclr COMMAND --help` lists a command's options; the config and sweep formats: docs/cli.md
"""
DEMO_OUTPUT = "cyclr_demo.png"


def _force(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--force", action="store_true", help="replace the output file if it exists")


def _range(parser: argparse.ArgumentParser, num_steps_help: str) -> None:
    parser.add_argument("--num-steps", type=int, metavar="INT", help=num_steps_help)
    parser.add_argument("--start", type=int, default=0, metavar="INT", help="the first step (default: 0)")


def make_parser() -> argparse.ArgumentParser:
    """The parser of every command (help derived from the specs, see ``_options``)."""
    parser = Parser(
        prog="cyclr",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Cyclical learning-rate schedules: show, plot and export them, analyze LR range tests.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=Parser)

    def command(name: str, help_text: str) -> argparse.ArgumentParser:
        return commands.add_parser(name, help=help_text, description=help_text)

    show = command("show", "Print lr and momentum at chosen steps.")
    show.add_argument("--steps", metavar="K[,K...]", help="comma-separated steps, e.g. 0,500,1000 (any size)")
    show.add_argument(
        "--every", type=int, metavar="INT", help="print every N-th step (default: about 16 rows)"
    )
    _range(show, "how many steps to cover (default: the schedule's natural length, e.g. two cycles)")
    add_schedule_options(show)
    show.set_defaults(run=_commands.command_show)

    plot = command("plot", "Plot lr and momentum against the step, cycle boundaries marked.")
    plot.add_argument(
        "-o",
        "--output",
        type=Path,
        required=True,
        metavar="FILE",
        help="the image to write: .png (also when no extension is given), .svg, .pdf, ...",
    )
    _force(plot)
    _range(plot, f"how many steps to draw, 1 to {_commands.PLOT_STEPS} (default: the natural length)")
    add_schedule_options(plot)
    plot.set_defaults(run=_commands.command_plot)

    export = command("export", "Write the precomputed schedule (step, lr, momentum) to a file.")
    export.add_argument("--format", choices=["csv", "json", "npy"], required=True, help="the file format")
    export.add_argument("-o", "--output", type=Path, required=True, metavar="FILE", help="the file to write")
    _force(export)
    _range(export, "how many steps (default: the natural length); streamed, checked against the free disk")
    add_schedule_options(export)
    export.set_defaults(run=_commands.command_export)

    config = command(
        "config", "Write the schedule as an editable config file (spec.to_dict() as TOML or JSON)."
    )
    config.add_argument(
        "-o",
        "--output",
        type=Path,
        metavar="FILE",
        help="the file to write (.toml or .json; default: print TOML)",
    )
    config.add_argument(
        "--format", choices=["toml", "json"], help="the format (default: from -o's extension)"
    )
    _force(config)
    add_schedule_options(config)
    config.set_defaults(run=_commands.command_config)

    find_lr = command("find-lr", "The LR range test: suggest base_lr and max_lr from a recorded sweep.")
    find_lr_commands = find_lr.add_subparsers(
        dest="find_lr_command", required=True, metavar="COMMAND", parser_class=Parser
    )
    analyze = find_lr_commands.add_parser(
        "analyze",
        help="suggestions from a CSV sweep with lr and loss columns",
        description="Suggest base_lr and max_lr (Smith's rule) from a recorded sweep: a CSV file with a "
        "header naming its lr and loss columns (RangeTestResult.to_csv writes one; see docs/cli.md).",
    )
    analyze.add_argument("sweep", type=Path, help="the CSV file")
    analyze.add_argument(
        "--lr-column",
        metavar="NAME",
        help="the lr column's header (default: lr or learning_rate, in any case)",
    )
    analyze.add_argument(
        "--loss-column",
        metavar="NAME",
        help="the loss column's header (default: loss, train_loss or training_loss, in any case)",
    )
    analyze.add_argument(
        "-o",
        "--output",
        type=Path,
        metavar="FILE",
        help="also plot the sweep with the suggestion (.png when no extension is given)",
    )
    _force(analyze)
    analyze.add_argument(
        "--skip-start", type=int, metavar="INT", help="points ignored at the start (default: a tenth)"
    )
    analyze.add_argument(
        "--skip-end", type=int, metavar="INT", help="points ignored at the end (default: a twentieth)"
    )
    analyze.add_argument(
        "--bandwidth", type=float, metavar="FLOAT", help="smoothing width in decades of lr (default: 0.2)"
    )
    analyze.add_argument("--log-loss", action="store_true", help="apply the rule to log(loss)")
    analyze.set_defaults(run=_commands.command_find_lr_analyze)

    demo = command(
        "demo",
        "Digits, trained by SGD: iterations to a target accuracy with fixed lr vs triangular "
        "vs triangular2, over several seeds, after an LR range test picks the range.",
    )
    demo.add_argument(
        "--epochs",
        type=int,
        default=12,
        metavar="INT",
        help=f"epochs per run, 1 to {_commands.DEMO_EPOCHS} (default: 12)",
    )
    demo.add_argument(
        "--seeds",
        type=int,
        default=5,
        metavar="INT",
        help=f"runs per schedule, each with its own seed, 1 to {_commands.DEMO_SEEDS} (default: 5)",
    )
    demo.add_argument(
        "--seed", type=int, default=0, metavar="INT", help="the first seed, 0 to 2**32 - 1 (default: 0)"
    )
    demo.add_argument(
        "-o",
        "--output",
        type=Path,
        default=Path(DEMO_OUTPUT),
        metavar="FILE",
        help=f"the figure to write (default: {DEMO_OUTPUT})",
    )
    _force(demo)
    demo.add_argument("--no-plot", action="store_true", help="write no figure")
    demo.set_defaults(run=_commands.command_demo)
    return parser


def _commands_list(parser: argparse.ArgumentParser) -> str:
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return "\n".join(f"  {choice.dest:<9} {choice.help}" for choice in action._choices_actions)


def one_line(text: str) -> str:
    r"""``text`` on one line: line breaks and other control characters (from the user's own input, quoted
    back in a message) are written as escapes, so an error is always exactly one line.

    Examples:
        >>> one_line("unrecognized arguments: a\x85b\nc")
        'unrecognized arguments: a\\x85b\\nc'
    """
    return "".join(char if char.isprintable() or char == " " else repr(char)[1:-1] for char in text.strip())


def _say(text: str) -> None:
    print(one_line(text), file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status: 0, 2 for a mistake, 130 for Ctrl-C."""
    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        parser = make_parser()
        if not argv:
            print(
                parser.format_usage()
                + "\ncommands:\n"
                + _commands_list(parser)
                + "\n\n`cyclr --help` for examples, `cyclr COMMAND --help` for a command's options",
                file=sys.stderr,
            )
            return 2
        args = parser.parse_args(argv)
        args.run(args)
    except UsageError as error:
        _say(str(error))
        return 2
    except KeyboardInterrupt:
        print("cyclr: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # piped into head: the reader has what it wanted; silence the final flush
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except RecursionError:  # a config nested thousands deep: refused here if the library did not
        _say("cyclr: error: the schedule is nested too deeply (RecursionError); flatten the config")
        return 2
    except ImportError as error:  # an optional package is missing: say which extra brings it
        top = (getattr(error, "name", None) or "").split(".")[0]
        if "pip install" not in str(error) and (not top or top == "cyclr"):
            raise
        _say(f"cyclr: error: {error}")
        return 2
    except (ValueError, TypeError, ArithmeticError, OSError, MemoryError) as error:
        # the library refused the input (or the system refused a file): one line, as for usage errors
        where = f"{error.filename}: " if isinstance(error, OSError) and error.filename else ""
        text = (error.strerror if isinstance(error, OSError) and error.strerror else str(error)) or type(
            error
        ).__name__
        _say(f"cyclr: error: {where}{text}")
        return 2
    return 0


def entry_point() -> None:
    """The console script ``cyclr``."""
    sys.exit(main())


__all__ = ["UsageError", "build_spec", "entry_point", "main", "make_parser"]
