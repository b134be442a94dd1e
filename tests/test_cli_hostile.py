"""Hostile command lines: each prints ONE line naming the problem and exits 2; nothing is destroyed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from cyclr.cli import main

INT64_MAX = 2**63 - 1


def run(capsys, *argv):
    status = main([str(arg) for arg in argv])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def one_line_error(capsys, *argv, contains=()):
    status, out, err = run(capsys, *argv)
    assert status == 2, (out, err)
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1, err
    assert err.startswith("cyclr"), err
    for text in contains:
        assert text in err, err
    return err.strip()


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return tmp_path


# -- outputs: directories, missing parents, devices, unknown formats ----------------------------------------

LRS = [10.0 ** (k / 10 - 5) for k in range(60)]
SWEEP = "lr,loss\n" + "".join(f"{lr!r},{1 / (1 + (lr / 1e-3) ** 2) + (lr / 0.3) ** 2!r}\n" for lr in LRS)


def output_argvs(output):
    return [
        ["export", "--format", "csv", "-o", output],
        ["plot", "-o", output],
        ["find-lr", "analyze", "sweep.csv", "-o", output],
    ]


@pytest.mark.parametrize("index", range(3))
def test_output_to_a_directory(capsys, workdir, index):
    (workdir / "adir").mkdir()
    (workdir / "sweep.csv").write_text(SWEEP)
    one_line_error(capsys, *output_argvs("adir/")[index], contains=["adir", "is a directory"])
    if index == 0:
        one_line_error(capsys, *output_argvs("adir")[index], contains=["adir", "is a directory"])


@pytest.mark.parametrize("index", range(3))
def test_output_in_a_missing_directory(capsys, workdir, index):
    (workdir / "sweep.csv").write_text(SWEEP)
    one_line_error(capsys, *output_argvs("nowhere/x.png")[index], contains=["nowhere", "does not exist"])
    assert not (workdir / "nowhere").exists()


@pytest.mark.parametrize("index", range(3))
def test_output_to_dev_full(capsys, workdir, index):
    (workdir / "sweep.csv").write_text(SWEEP)
    one_line_error(capsys, *output_argvs("/dev/full")[index], contains=["/dev/full", "not a regular file"])
    one_line_error(
        capsys, *output_argvs("/dev/full")[index], "--force", contains=["/dev/full", "not a regular file"]
    )
    assert Path("/dev/full").is_char_device()


def test_a_full_disk_leaves_no_partial_file_and_keeps_the_old_one(capsys, workdir, monkeypatch):
    target = workdir / "x.csv"
    target.write_text("precious\n")

    def disk_full(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", disk_full)
    one_line_error(capsys, "export", "--format", "csv", "-o", "x.csv", "--force", contains=["No space left"])
    monkeypatch.undo()
    assert target.read_text() == "precious\n"
    assert sorted(p.name for p in workdir.iterdir()) == ["x.csv"]


def test_plot_to_an_unknown_format(capsys, workdir):
    one_line_error(capsys, "plot", "-o", "x.bogus", contains=["x.bogus", "'bogus'", "png"])
    assert not (workdir / "x.bogus").exists()


def test_plot_to_a_format_matplotlib_cannot_write_here(capsys, workdir, monkeypatch):
    import matplotlib.figure

    def no_tex(self, *args, **kwargs):
        raise RuntimeError("'xelatex' not found; install it")  # what .pgf says without TeX

    monkeypatch.setattr(matplotlib.figure.Figure, "savefig", no_tex)
    one_line_error(capsys, "plot", "-o", "x.pgf", contains=["x.pgf", "cannot write pgf", "xelatex"])
    assert list(workdir.iterdir()) == []


def test_output_directory_not_writable(capsys, workdir, monkeypatch):
    import tempfile

    def denied(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(tempfile, "mkstemp", denied)
    one_line_error(
        capsys,
        "export",
        "--format",
        "csv",
        "-o",
        "x.csv",
        contains=["cannot write", "x.csv", "Permission denied"],
    )


@pytest.mark.parametrize("num_steps", ["0", "-5"])
def test_plot_num_steps_not_positive(capsys, workdir, num_steps):
    one_line_error(
        capsys, "plot", "-o", "x.png", "--num-steps", num_steps, contains=["--num-steps", num_steps]
    )


def test_plot_num_steps_too_many(capsys, workdir):
    one_line_error(capsys, "plot", "-o", "x.png", "--num-steps", 10**12, contains=["--num-steps", "at most"])


# -- configs ---------------------------------------------------------------------------------------------


def test_config_binary_file(capsys, workdir):
    (workdir / "c.json").write_bytes(bytes(range(256)) * 4)
    one_line_error(capsys, "show", "--config", "c.json", contains=["--config c.json"])


def test_config_deeply_nested_json(capsys, workdir):
    (workdir / "deep.json").write_text("[" * 100_000 + "]" * 100_000)
    one_line_error(capsys, "show", "--config", "deep.json", contains=["--config deep.json", "nested"])
    depth = 5000  # Warmup inside Warmup inside ...: json.dumps itself cannot write it, so build the text
    text = (
        '{"schedule": "Warmup", "warmup_steps": 1, "spec": ' * depth
        + '{"schedule": "CyclicLR"}'
        + "}" * depth
    )
    (workdir / "deep2.json").write_text(text)
    one_line_error(capsys, "show", "--config", "deep2.json", contains=["--config deep2.json"])


def test_config_deeply_nested_toml(capsys, workdir):
    (workdir / "deep.toml").write_text("a = " + "[" * 100_000 + "]" * 100_000 + "\n")
    one_line_error(capsys, "show", "--config", "deep.toml", contains=["--config deep.toml"])


@pytest.mark.parametrize("name", ["x.TOML", "x.Toml", "x.JSON", "x.Json", "x.json", "x.toml"])
def test_config_extension_is_case_insensitive(capsys, workdir, name):
    text = (
        'schedule = "CyclicLR"\nstep_size_up = 7\n'
        if name.lower().endswith("toml")
        else '{"step_size_up": 7}'
    )
    (workdir / name).write_text(text)
    status, out, err = run(capsys, "show", "--config", name, "--steps", "7")
    assert status == 0, err
    assert "step_size_up=7" in out


def test_config_unknown_extension(capsys, workdir):
    (workdir / "x.yaml").write_text("step_size_up: 7\n")
    one_line_error(capsys, "show", "--config", "x.yaml", contains=["--config x.yaml", ".json", ".toml"])


def test_config_a_directory(capsys, workdir):
    (workdir / "d.json").mkdir()
    one_line_error(capsys, "show", "--config", "d.json", contains=["--config d.json"])


# -- integer limits ---------------------------------------------------------------------------------------


def test_steps_beyond_int64(capsys):
    status, out, err = run(capsys, "show", "--steps", "99999999999999999999")
    if status == 0:  # the scalar path is exact at any step
        assert "99999999999999999999" in out
    else:
        assert status == 2 and len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_start_at_int64_max(capsys):
    status, out, err = run(capsys, "show", "--start", INT64_MAX)
    assert status in (0, 2) and "Traceback" not in err and len(err.strip().splitlines()) <= 1
    one_line_error(capsys, "plot", "-o", "/tmp/never.png", "--start", INT64_MAX, contains=["int64"])


def test_export_past_int64(capsys, workdir):
    one_line_error(
        capsys,
        "export",
        "--format",
        "csv",
        "-o",
        "x.csv",
        "--start",
        INT64_MAX - 7,
        "--num-steps",
        100,
        contains=["int64", str(INT64_MAX)],
    )
    assert not (workdir / "x.csv").exists()


@pytest.mark.parametrize("fmt", ["csv", "json", "npy"])
def test_export_larger_than_the_disk(capsys, workdir, fmt):
    one_line_error(
        capsys,
        "export",
        "--format",
        fmt,
        "-o",
        f"x.{fmt}",
        "--num-steps",
        10**12,
        contains=["--num-steps 1000000000000", "free"],
    )
    assert list(workdir.iterdir()) == []


def test_export_streams_and_matches_the_spec(capsys, workdir, monkeypatch):
    import cyclr
    from cyclr.cli import _export

    monkeypatch.setattr(_export, "CHUNK", 7)  # many chunks, the last one partial
    spec = cyclr.CyclicLR(base_lr=[0.1, 0.2], max_lr=[1.0, 2.0], step_size_up=5)
    args = [
        "--base-lr",
        "0.1,0.2",
        "--max-lr",
        "1,2",
        "--step-size-up",
        "5",
        "--start",
        "3",
        "--num-steps",
        "45",
    ]
    lr, momentum = spec.precompute(45, start=3)
    assert run(capsys, "export", "--format", "csv", "-o", "x.csv", *args)[0] == 0
    rows = np.loadtxt("x.csv", delimiter=",", skiprows=1)
    assert np.array_equal(rows[:, 0], np.arange(3, 48))
    assert np.array_equal(rows[:, 1:3], lr) and np.array_equal(rows[:, 3:], momentum)
    assert run(capsys, "export", "--format", "json", "-o", "x.json", *args)[0] == 0
    data = json.loads(Path("x.json").read_text())
    assert data["spec"] == spec.to_dict() and data["step"] == list(range(3, 48))
    assert data["lr[1]"] == lr[:, 1].tolist() and data["momentum[0]"] == momentum[:, 0].tolist()
    assert run(capsys, "export", "--format", "npy", "-o", "x.npy", *args)[0] == 0
    table = np.load("x.npy")
    assert np.array_equal(table["step"], np.arange(3, 48)) and np.array_equal(table["lr[0]"], lr[:, 0])
    assert np.array_equal(table["momentum[1]"], momentum[:, 1])


def test_show_too_many_rows(capsys):
    one_line_error(capsys, "show", "--every", "1", "--num-steps", 10**12, contains=["rows", "export"])


def test_sgdr_huge_t_mult(capsys):
    status, out, err = run(
        capsys, "show", "--schedule", "sgdr", "--base-lr", "0.1", "--T-0", "1", "--T-mult", "1000000000"
    )
    assert status in (0, 2) and "Traceback" not in err and len(err.strip().splitlines()) <= 1, err
    status, out, err = run(
        capsys,
        "export",
        "--format",
        "csv",
        "-o",
        "/tmp/cyclr-never.csv",
        "--schedule",
        "sgdr",
        "--base-lr",
        "0.1",
        "--T-0",
        "1",
        "--T-mult",
        "1000000000",
    )
    assert status == 2 and "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    assert not Path("/tmp/cyclr-never.csv").exists()


# -- the demo ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "contains"),
    [
        (["demo", "--epochs", "0"], ["--epochs", "0"]),
        (["demo", "--epochs", "-3"], ["--epochs", "-3"]),
        (["demo", "--seeds", "0"], ["--seeds", "0"]),
        (["demo", "--seed", "-1"], ["--seed", "-1"]),
        (["demo", "--seed", str(2**200)], ["--seed"]),
    ],
)
def test_demo_bad_numbers(capsys, workdir, argv, contains):
    one_line_error(capsys, *argv, contains=contains)


# -- missing optional packages (in a subprocess, the package blocked on the import path) -------------------

BLOCKER = textwrap.dedent("""
    import sys

    class Blocker:
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in {blocked!r}:
                raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
            return None

    sys.meta_path.insert(0, Blocker())
""")


@pytest.mark.parametrize(
    ("blocked", "argv", "extra"),
    [
        (["sklearn"], ["demo", "--no-plot"], 'pip install "cyclr[demo]"'),
        (["matplotlib"], ["demo"], 'pip install "cyclr[demo]"'),
        (["matplotlib"], ["plot", "-o", "x.png"], 'pip install "cyclr[plot]"'),
        (["matplotlib"], ["find-lr", "analyze", "sweep.csv", "-o", "x.png"], 'pip install "cyclr[plot]"'),
        (["numba"], ["demo", "--no-plot"], 'pip install "cyclr[demo]"'),
    ],
)
def test_missing_optional_package(tmp_path, blocked, argv, extra):
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(BLOCKER.format(blocked=set(blocked)))
    (tmp_path / "sweep.csv").write_text(SWEEP)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run(
        [sys.executable, "-m", "cyclr", *argv],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=120,
    )
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert extra in done.stderr
    assert not (tmp_path / "x.png").exists() and not (tmp_path / "cyclr_demo.png").exists()


def test_keyboard_interrupt_exits_130(capsys, monkeypatch):
    from cyclr.cli import _commands

    def interrupted(args):
        raise KeyboardInterrupt

    monkeypatch.setattr(_commands, "command_show", interrupted)
    status, out, err = run(capsys, "show")
    assert status == 130
    assert err.strip() == "cyclr: interrupted"


def test_keyboard_interrupt_in_a_subprocess(tmp_path):
    code = (
        "import cyclr.cli._commands as c\n"
        "def stop(args): raise KeyboardInterrupt\n"
        "c.command_show = stop\n"
        "from cyclr.cli import entry_point\n"
        "import sys; sys.argv = ['cyclr', 'show']; entry_point()\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 130 and done.stderr.strip() == "cyclr: interrupted"


# -- never overwrite: inputs refused, outputs only with --force, atomically -------------------------------


def test_export_refuses_to_overwrite_its_config(capsys, workdir):
    config = workdir / "cfg.json"
    config.write_text('{"schedule": "CyclicLR", "step_size_up": 5}')
    before = config.read_bytes()
    (workdir / "sub").mkdir()
    for flags in ([], ["--force"]):
        one_line_error(
            capsys,
            "export",
            "--format",
            "csv",
            "--config",
            "cfg.json",
            "-o",
            "cfg.json",
            *flags,
            contains=["cfg.json", "input"],
        )
        one_line_error(
            capsys,
            "export",
            "--format",
            "csv",
            "--config",
            "cfg.json",
            "-o",
            "./sub/../cfg.json",
            *flags,
            contains=["input"],
        )
    (workdir / "link.csv").symlink_to(config)
    os.link(config, workdir / "hard.csv")
    for output in ("link.csv", "hard.csv"):
        one_line_error(
            capsys,
            "export",
            "--format",
            "csv",
            "--config",
            "cfg.json",
            "-o",
            output,
            "--force",
            contains=["input"],
        )
    assert config.read_bytes() == before


def test_analyze_refuses_to_overwrite_its_sweep(capsys, workdir):
    (workdir / "sweep.csv").write_text(SWEEP)
    (workdir / "sweep.png").symlink_to(workdir / "sweep.csv")
    one_line_error(
        capsys, "find-lr", "analyze", "sweep.csv", "-o", "sweep.png", "--force", contains=["input"]
    )
    assert (workdir / "sweep.csv").read_text() == SWEEP


@pytest.mark.parametrize(
    "argv",
    [
        ["export", "--format", "csv", "-o", "out.csv"],
        ["plot", "-o", "out.csv"],
    ],
)
def test_existing_output_needs_force(capsys, workdir, argv):
    (workdir / "out.csv").write_text("keep")
    if argv[0] == "plot":
        argv = ["plot", "-o", "out.png"]
        (workdir / "out.png").write_text("keep")
    name = argv[-1]
    one_line_error(capsys, *argv, contains=[name, "exists", "--force"])
    assert (workdir / name).read_text() == "keep"
    status, out, err = run(capsys, *argv, "--force")
    assert status == 0, err
    assert (workdir / name).read_bytes() != b"keep"
    assert sorted(p.name for p in workdir.iterdir()) == sorted({"out.csv", name})


def test_force_through_a_symlink_writes_the_target(capsys, workdir):
    (workdir / "real.csv").write_text("old")
    (workdir / "link.csv").symlink_to("real.csv")
    assert run(capsys, "export", "--format", "csv", "-o", "link.csv", "--force", "--num-steps", "3")[0] == 0
    assert (workdir / "link.csv").is_symlink() and (workdir / "real.csv").read_text().startswith(
        "step,lr,momentum"
    )


@pytest.mark.parametrize("argv", [["plot", "--num-steps", "10"], ["find-lr", "analyze", "sweep.csv"]])
def test_output_without_extension_reports_the_real_path(capsys, workdir, argv):
    (workdir / "sweep.csv").write_text(SWEEP)
    status, out, err = run(capsys, *argv, "-o", "adir")
    assert status == 0, err
    assert (workdir / "adir.png").read_bytes()[:4] == b"\x89PNG" and not (workdir / "adir").exists()
    assert out.strip().splitlines()[-1] == "wrote adir.png"


def test_analyze_field_over_128_kib(capsys, workdir):
    (workdir / "big.csv").write_text("lr,loss\n" + "1" * (200 * 1024) + ",2\n")
    one_line_error(capsys, "find-lr", "analyze", "big.csv", contains=["big.csv"])


def test_analyze_binary_and_missing_sweep(capsys, workdir):
    (workdir / "bin.csv").write_bytes(bytes(range(256)))
    one_line_error(capsys, "find-lr", "analyze", "bin.csv", contains=["bin.csv"])
    (workdir / "d.csv").mkdir()
    one_line_error(capsys, "find-lr", "analyze", "d.csv", contains=["d.csv"])
