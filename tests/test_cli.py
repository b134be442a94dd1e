"""The cyclr command line: every command, config files, and one-line errors with exit status 2."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import numpy as np
import pytest

import cyclr
from cyclr.cli import main
from cyclr.cli._options import FAMILIES


def run(capsys, *argv):
    status = main(list(argv))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def table(output: str) -> list[list[str]]:
    return [line.split() for line in output.splitlines()[2:]]


def test_show_chosen_steps(capsys):
    status, out, err = run(
        capsys,
        "show",
        "--mode",
        "triangular2",
        "--base-lr",
        "1e-4",
        "--max-lr",
        "1e-3",
        "--step-size-up",
        "1000",
        "--steps",
        "0,1000,3000",
    )
    assert status == 0 and err == ""
    spec = cyclr.CyclicLR(base_lr=1e-4, max_lr=1e-3, step_size_up=1000, mode="triangular2")
    assert out.splitlines()[0] == repr(spec)
    rows = table(out)
    assert [int(row[0]) for row in rows] == [0, 1000, 3000]
    assert [float(row[1]) for row in rows] == pytest.approx(
        [spec.lr_at(k) for k in (0, 1000, 3000)], rel=1e-5
    )


def test_show_every(capsys):
    status, out, _ = run(capsys, "show", "--every", "250", "--num-steps", "8000")
    assert status == 0
    assert [int(row[0]) for row in table(out)] == list(range(0, 8000, 250))


@pytest.mark.parametrize(
    ("argv", "spec"),
    [
        (
            ["--schedule", "one-cycle", "--max-lr", "0.1", "--total-steps", "1000", "--three-phase"],
            cyclr.OneCycleLR(max_lr=0.1, total_steps=1000, three_phase=True),
        ),
        (
            ["--schedule", "sgdr", "--base-lr", "0.1", "--T-0", "100", "--T-mult", "2", "--eta-min", "1e-4"],
            cyclr.CosineAnnealingWarmRestarts(base_lr=0.1, T_0=100, T_mult=2, eta_min=1e-4),
        ),
        (
            ["--schedule", "cosine", "--base-lr", "0.1,0.2", "--T-max", "50"],
            cyclr.CosineAnnealingLR(base_lr=[0.1, 0.2], T_max=50),
        ),
        (
            ["--waveform", "cosine", "--no-cycle-momentum", "--step-size-down", "300"],
            cyclr.CyclicLR(waveform="cosine", cycle_momentum=False, step_size_down=300),
        ),
        (
            ["--schedule", "cyclic", "--warmup-steps", "100", "--warmup-start-lr", "1e-5"],
            cyclr.warmup(cyclr.CyclicLR(), 100, 1e-5),
        ),
    ],
)
def test_every_family_member_from_flags(capsys, argv, spec):
    status, out, err = run(capsys, "show", "--steps", "0,1,77", *argv)
    assert status == 0, err
    assert out.splitlines()[0] == repr(spec)


@pytest.mark.parametrize("suffix", [".json", ".toml"])
def test_config_file_with_flags_overriding(capsys, tmp_path, suffix):
    path = tmp_path / f"schedule{suffix}"
    if suffix == ".json":
        path.write_text(json.dumps({"schedule": "OneCycleLR", "max_lr": 0.1, "total_steps": 500}))
    else:
        path.write_text('schedule = "OneCycleLR"\nmax_lr = 0.1\ntotal_steps = 500\n')
    status, out, _ = run(capsys, "show", "--config", str(path), "--pct-start", "0.25", "--steps", "0")
    assert status == 0
    assert out.splitlines()[0] == repr(cyclr.OneCycleLR(max_lr=0.1, total_steps=500, pct_start=0.25))


def test_config_file_of_a_composed_spec(capsys, tmp_path):
    spec = cyclr.join([cyclr.CosineAnnealingLR(0.1, 20), cyclr.CosineAnnealingWarmRestarts(0.05, 7, 2)], [20])
    path = tmp_path / "joined.json"
    path.write_text(json.dumps(spec.to_dict()))
    status, out, _ = run(capsys, "show", "--config", str(path), "--steps", "0,25")
    assert status == 0 and out.splitlines()[0] == repr(spec)


@pytest.mark.parametrize("fmt", ["csv", "json", "npy"])
def test_export(capsys, tmp_path, fmt):
    output = tmp_path / f"schedule.{fmt}"
    status, out, _ = run(
        capsys,
        "export",
        "--format",
        fmt,
        "-o",
        str(output),
        "--num-steps",
        "100",
        "--start",
        "5",
        "--step-size-up",
        "20",
        "--base-lr",
        "0.1,0.2",
        "--max-lr",
        "1,2",
    )
    assert status == 0 and "wrote 100 steps" in out
    spec = cyclr.CyclicLR(base_lr=[0.1, 0.2], max_lr=[1, 2], step_size_up=20)
    lr, momentum = spec.precompute(100, start=5)
    if fmt == "csv":
        rows = np.loadtxt(output, delimiter=",", skiprows=1)
        assert output.read_text().splitlines()[0] == "step,lr[0],lr[1],momentum[0],momentum[1]"
        assert np.array_equal(rows[:, 0], np.arange(5, 105))
        assert np.array_equal(rows[:, 1:3], lr) and np.array_equal(rows[:, 3:], momentum)  # repr round-trips
    elif fmt == "json":
        data = json.loads(output.read_text())
        assert cyclr.from_dict(data["spec"]) == spec
        assert data["lr[1]"] == lr[:, 1].tolist()
    else:
        loaded = np.load(output)
        assert np.array_equal(loaded["step"], np.arange(5, 105)) and np.array_equal(loaded["lr[0]"], lr[:, 0])


def test_plot(capsys, tmp_path):
    output = tmp_path / "schedule.png"
    status, out, _ = run(
        capsys,
        "plot",
        "-o",
        str(output),
        "--schedule",
        "one-cycle",
        "--max-lr",
        "0.1",
        "--total-steps",
        "300",
    )
    assert status == 0 and output.read_bytes()[:4] == b"\x89PNG"


# -- one clear line, exit status 2, no traceback ----------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["show", "--mode", "triangle"],
            "cyclr: error: mode must be one of ['triangular', 'triangular2', 'exp_range'], got 'triangle'; did you mean 'triangular'?",  # noqa: E501
        ),
        (
            ["show", "--base-lr", "abc"],
            "cyclr show: error: argument --base-lr: expected a number or comma-separated numbers, got 'abc'",
        ),
        (["show", "--step-size-up", "0"], "cyclr: error: step_size_up must be a positive integer, got 0"),
        (
            ["show", "--step-size-up", "1.5"],
            "cyclr show: error: argument --step-size-up: invalid int value: '1.5'",
        ),
        (["show", "--T-0", "5"], "cyclr: error: --T-0 does not apply to --schedule cyclic"),
        (["show", "--schedule", "one-cycle"], "cyclr: error: --max-lr is required for --schedule one-cycle"),
        (
            ["show", "--schedule", "onecycle"],
            "cyclr show: error: argument --schedule: invalid choice: 'onecycle' "
            f"(choose from {', '.join(sorted(FAMILIES))})",
        ),
        (["show", "--steps", "0,x"], "cyclr: error: --steps must be integers separated by commas, got '0,x'"),
        (["show", "--steps", "-5"], "cyclr: error: --steps must be >= 0, got '-5'"),
        (["show", "--start", "-1"], "cyclr: error: --start must be >= 0, got -1"),
        (["show", "--warmup-start-lr", "0.1"], "cyclr: error: --warmup-start-lr needs --warmup-steps"),
        (
            ["show", "--config", "missing.json"],
            "cyclr: error: --config missing.json: No such file or directory",
        ),
        (["export", "-o", "x.csv"], "cyclr export: error: the following arguments are required: --format"),
        (
            ["frobnicate"],
            "cyclr: error: argument COMMAND: invalid choice: 'frobnicate' (choose from show, plot, export, config, find-lr, demo)",  # noqa: E501
        ),
    ],
)
def test_mistakes_print_one_line_and_exit_2(capsys, argv, message):
    status, out, err = run(capsys, *argv)
    assert status == 2
    assert unquote_choices(err.strip()) == message
    assert out == ""


def unquote_choices(text: str) -> str:
    """argparse quotes the choices in some Python versions and not in others."""
    return re.sub(
        r"\(choose from ([^)]*)\)", lambda m: "(choose from " + m.group(1).replace("'", "") + ")", text
    )


def test_find_lr_analyze(capsys, tmp_path):
    lrs = np.logspace(-6, 0, 61)
    losses = 1 / (1 + (lrs / 1e-3) ** 2) + (lrs / 0.3) ** 2
    sweep = tmp_path / "sweep.csv"
    sweep.write_text(
        "step,lr,loss\n"
        + "".join(
            f"{k},{float(lr)!r},{float(loss)!r}\n"
            for k, (lr, loss) in enumerate(zip(lrs, losses, strict=True))
        )  # noqa: E501
    )
    status, out, err = run(capsys, "find-lr", "analyze", str(sweep), "-o", str(tmp_path / "sweep.png"))
    assert status == 0, err
    expected = cyclr.suggest(lrs, losses)
    assert str(expected) in out
    assert f"CyclicLR(base_lr={expected.base_lr:.3g}, max_lr={expected.max_lr:.3g}, ...)" in out
    assert (tmp_path / "sweep.png").read_bytes()[:4] == b"\x89PNG"


def test_find_lr_analyze_reads_what_find_lr_writes(capsys, tmp_path):
    result = cyclr.find_lr(lambda lr: 1 / (1 + (lr / 1e-3) ** 2) + (lr / 0.3) ** 2, progress=False)
    result.to_csv(tmp_path / "recorded.csv")
    status, out, _ = run(capsys, "find-lr", "analyze", str(tmp_path / "recorded.csv"), "--skip-end", "0")
    assert status == 0
    assert str(cyclr.suggest(result.lrs, result.losses, skip_end=0)) in out


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "No such file or directory"),
        ("lr,cost\n0.1,2\n", "has no loss column"),
        (
            "lr,loss\n" + "".join(f"{10.0 ** (k / 10 - 5)!r},2.0\n" for k in range(40)),
            "the loss does not fall over the sweep",
        ),
        ("lr,loss\n0.1,2\n0.2,1\n", "suggest needs at least 10 finite losses"),
    ],
)
def test_find_lr_analyze_errors(capsys, tmp_path, content, message):
    sweep = tmp_path / "sweep.csv"
    if content is not None:
        sweep.write_text(content)
    status, out, err = run(capsys, "find-lr", "analyze", str(sweep))
    assert status == 2 and out == ""
    assert err.startswith(f"cyclr: error: {sweep}") and message in err
    assert len(err.strip().splitlines()) == 1


def test_find_lr_analyze_takes_the_columns_named_by_flags(capsys, tmp_path):
    result = cyclr.find_lr(lambda lr: 1 / (1 + (lr / 1e-3) ** 2) + (lr / 0.3) ** 2, progress=False)
    sweep = tmp_path / "sweep.csv"
    pairs = zip(result.lrs.tolist(), result.losses.tolist(), strict=True)
    rows = "".join(f"{lr!r},{loss!r},0\n" for lr, loss in pairs)
    sweep.write_text("rate,cost,other\n" + rows)
    status, out, _ = run(
        capsys, "find-lr", "analyze", str(sweep), "--lr-column", "rate", "--loss-column", "cost"
    )
    assert status == 0
    assert str(cyclr.suggest(result.lrs, result.losses)) in out
    status, _, err = run(capsys, "find-lr", "analyze", str(sweep), "--lr-column", "nope")
    assert status == 2 and "nope" in err and len(err.strip().splitlines()) == 1


def test_bad_config_contents(capsys, tmp_path):
    path = tmp_path / "bad.json"
    path.write_text("{not json")
    status, _, err = run(capsys, "show", "--config", str(path))
    assert status == 2 and err.startswith(f"cyclr: error: --config {path} is not valid json")
    path.write_text(json.dumps({"schedule": "CosineAnnealingLR", "base_lr": 0.1, "T_max": 10}))
    status, _, err = run(capsys, "show", "--config", str(path), "--schedule", "cyclic")
    assert (
        status == 2
        and err.strip() == "cyclr: error: --schedule cyclic contradicts the config's 'CosineAnnealingLR'"
    )


def test_console_script_and_module_without_traceback(tmp_path):
    for command in (["cyclr"], [sys.executable, "-m", "cyclr"]):
        done = subprocess.run(
            [*command, "show", "--mode", "nope"], capture_output=True, text=True, cwd=tmp_path
        )
        assert done.returncode == 2
        assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1
        done = subprocess.run(
            [*command, "show", "--steps", "0"], capture_output=True, text=True, cwd=tmp_path
        )
        assert done.returncode == 0 and "CyclicLR" in done.stdout


def test_help_shows_examples_once():
    done = subprocess.run([sys.executable, "-m", "cyclr", "--help"], capture_output=True, text=True)
    assert done.returncode == 0
    assert done.stdout.count("examples:") == 1 and "cyclr show --mode triangular2" in done.stdout
    for command in ("show", "plot", "export", "config", "demo"):
        done = subprocess.run(
            [sys.executable, "-m", "cyclr", command, "--help"], capture_output=True, text=True
        )
        assert done.returncode == 0 and "examples:" not in done.stdout
    assert "--step-size-up" in done.stdout or command == "demo"
