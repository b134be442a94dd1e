"""Random command lines never end in a traceback: exit status 0 or 2, and stderr without "Traceback".

Arguments are drawn from every command's own flags, with hostile values (huge and negative integers,
nan, inf, empty, unicode, flags where values belong, missing values). The runs are in-process (calling
``main(argv)``), deterministic (``derandomize``), in a fresh temporary directory each; the free disk is
reported as 10 MB and plots are capped at 20,000 steps, so that a random size is refused fast instead
of written. One subprocess smoke test checks the console path.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import subprocess
import sys
import tempfile
from collections import namedtuple

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cyclr.cli import _commands, _export, main, make_parser

SWEEP = "lr,loss\n" + "".join(
    f"{10.0 ** (k / 10 - 5)!r},{2.0 - k / 40 + (k / 50) ** 8!r}\n" for k in range(60)
)
VALUES = [
    "0",
    "1",
    "-1",
    "-5",
    "2",
    "10",
    "250",
    "0.5",
    "1e-3",
    "1e308",
    "-0.0",
    "5e-324",
    "nan",
    "inf",
    "-inf",
    "",
    " ",
    "9223372036854775807",
    "9223372036854775808",
    "99999999999999999999",
    str(2**70),
    "-" + str(2**70),
    "1,2",
    "0.1,0.2,0.3",
    "x,y",
    ",",
    "triangular",
    "triangular2",
    "exp_range",
    "cos",
    "welch",
    "CyclicLR",
    "é",
    "\u202e",
    "٣",
    "\x00",
    "-",
    "--",
    "sweep.csv",
    "cfg.json",
    "cfg.toml",
    "out.png",
    "out.csv",
    "adir",
    "adir/",
    "/dev/full",
    "/",
    "x.bogus",
    "missing/x.png",
    "cyclic",
    "one-cycle",
    "sgdr",
    "cosine",
]
values = st.sampled_from(VALUES) | st.integers(-(2**70), 2**70).map(str) | st.text(max_size=6)


def command_flags() -> dict[tuple[str, ...], list[str]]:
    parser = make_parser()
    found: dict[tuple[str, ...], list[str]] = {}

    def walk(parser: argparse.ArgumentParser, path: tuple[str, ...]) -> None:
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, child in action.choices.items():
                    walk(child, (*path, name))
                return
        found[path] = [
            option
            for action in parser._actions
            for option in action.option_strings
            if option not in ("-h", "--help")
        ]

    walk(parser, ())
    return found


FLAGS = command_flags()
COMMANDS = sorted(FLAGS)


@st.composite
def argvs(draw: st.DrawFn) -> list[str]:
    command = draw(st.sampled_from([*COMMANDS, ("frobnicate",), ("find-lr",)]))
    flags = FLAGS.get(command, ["--nope"]) + ["--nope", "-o"]
    argv = list(command)
    if command == ("find-lr", "analyze") and draw(st.booleans()):
        argv.append(draw(st.sampled_from(["sweep.csv", "missing.csv", "cfg.json", "adir", ""])))
    for _ in range(draw(st.integers(0, 6))):
        argv.append(draw(st.sampled_from(flags)))
        if draw(st.integers(0, 9)) > 0:  # sometimes the value is missing
            argv.append(draw(values))
    return argv


@pytest.fixture
def limits(monkeypatch):
    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(_export.shutil, "disk_usage", lambda path: usage(10**7, 0, 10**7))
    monkeypatch.setattr(_commands, "PLOT_STEPS", 20_000)
    import cyclr.demo

    monkeypatch.setattr(
        cyclr.demo, "run", lambda **kwargs: None
    )  # the demo's arguments are checked; no training


def run_in_fresh_directory(argv: list[str]) -> tuple[int, str, str]:
    with tempfile.TemporaryDirectory() as directory:
        previous = os.getcwd()
        os.chdir(directory)
        try:
            with open("sweep.csv", "w") as handle:
                handle.write(SWEEP)
            with open("cfg.json", "w") as handle:
                handle.write('{"schedule": "CyclicLR", "step_size_up": 5}')
            with open("cfg.toml", "w") as handle:
                handle.write('schedule = "OneCycleLR"\nmax_lr = 0.1\ntotal_steps = 100\n')
            os.mkdir("adir")
            out, err = io.StringIO(), io.StringIO()
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                try:
                    status = main(argv)
                except SystemExit as done:  # --help
                    status = done.code if isinstance(done.code, int) else 2
            return status, out.getvalue(), err.getvalue()
        finally:
            os.chdir(previous)


@settings(
    derandomize=True,
    database=None,
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(argvs())
def test_random_command_lines_never_end_in_a_traceback(limits, argv):
    status, out, err = run_in_fresh_directory(argv)  # an exception escaping main fails the test here
    assert status in (0, 2), (argv, status, err)
    assert "Traceback" not in err
    if status == 2:
        assert (
            len(err.strip().splitlines()) == 1
            or err.startswith("usage: cyclr\n")
            or err.startswith("usage: cyclr ")
        ), (argv, err)


def test_the_console_script_on_a_hostile_line(tmp_path):
    for argv in (
        ["show", "--steps", "99999999999999999999,-1"],
        ["export", "--format", "npy", "-o", "/dev/full"],
        ["plot", "-o", "x.bogus", "--num-steps", "nan"],
        [],
    ):
        done = subprocess.run(
            [sys.executable, "-m", "cyclr", *argv], capture_output=True, text=True, cwd=tmp_path
        )
        assert done.returncode == 2 and "Traceback" not in done.stderr, (argv, done.stderr)
