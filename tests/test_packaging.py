"""The package as a user receives it: the sdist and the wheel built by ``python -m build``, the wheel's
metadata, and the wheel installed (not editable) into a clean virtual environment, imported module by
module, its numba kernels compiled from a read-only site-packages.

Slow-ish (a build and one venv, about a minute): it is what a release would ship, so it runs in CI.
Needs the ``build`` package (in the ``test`` extra) and pip able to install numpy and numba.
"""

from __future__ import annotations

import email.parser
import os
import shutil
import stat
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

import pytest

import cyclr

ROOT = Path(__file__).resolve().parent.parent
MODULES = sorted(
    "cyclr" if path.name == "__init__.py" else f"cyclr.{path.stem}"
    for path in (ROOT / "cyclr").glob("*.py")
    if path.name != "__main__.py"  # running it is the command line: tested below as `python -m cyclr`
)
EXTRAS = {"torch", "jax", "keras", "plot", "progress", "demo", "all", "test", "docs", "lint"}


def _run(*command: str | Path, **kwargs) -> subprocess.CompletedProcess:
    done = subprocess.run([str(part) for part in command], capture_output=True, text=True, **kwargs)
    assert done.returncode == 0, f"{command}: exit {done.returncode}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done


def _copy_checkout(target: Path) -> None:
    """The files of this checkout that git would commit (tracked, or new and not ignored), copied to target."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT, capture_output=True
    )
    if listed.returncode != 0:  # not a git checkout (an unpacked sdist): everything but the usual outputs
        shutil.copytree(ROOT, target, dirs_exist_ok=True, ignore=shutil.ignore_patterns(".*", "build", "dist", "site", "*.egg-info", "__pycache__"))
        return
    for name in listed.stdout.decode().split("\0"):
        if name and (ROOT / name).is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, target / name)


@pytest.fixture(scope="module")
def dist(tmp_path_factory) -> dict[str, Path]:
    """``python -m build``: the sdist, then the wheel built from the sdist (what an index would serve)."""
    pytest.importorskip("build", reason="the build package is needed: pip install build (in the test extra)")
    out, source = tmp_path_factory.mktemp("dist"), tmp_path_factory.mktemp("checkout")
    _copy_checkout(source)  # build writes cyclr.egg-info and build/ into the tree it builds: not into ours
    _run(sys.executable, "-m", "build", "--outdir", out, source, cwd=source, env=_clean_env())
    (sdist,), (wheel,) = out.glob("*.tar.gz"), out.glob("*.whl")
    return {"sdist": sdist, "wheel": wheel}


@pytest.fixture(scope="module")
def installed(dist) -> dict[str, Path]:
    """A clean venv (no system site-packages) with the wheel and its dependencies installed by pip.

    The folder is world-readable (not under pytest's 0700 tmp) so that a process without privileges can
    run from it. The optional frameworks are not reinstalled (gigabytes): a ``.pth`` file appends this
    environment's site-packages *after* the venv's own, so cyclr, numpy and numba come from the venv and
    only torch, jax, keras, ... are borrowed.
    """
    folder = Path(tempfile.mkdtemp(prefix="cyclr-wheel-venv-"))
    folder.chmod(0o755)
    venv = folder / "venv"
    try:
        _run(sys.executable, "-m", "venv", venv, env=_clean_env())
        python = venv / "bin" / "python"
        _run(python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", dist["wheel"], env=_clean_env())
        purelib = "import sysconfig; print(sysconfig.get_paths()['purelib'])"
        site = Path(_run(python, "-c", purelib, env=_clean_env()).stdout.strip())
        borrowed = [path for path in sys.path if path.endswith("site-packages") and Path(path).is_dir()]
        (site / "zz_borrowed_frameworks.pth").write_text("\n".join(borrowed) + "\n")
        yield {"python": python, "site": site, "bin": venv / "bin", "folder": folder}
    finally:
        for path, _, _ in os.walk(folder):  # the read-only test below takes write permission away
            Path(path).chmod(0o755)
        shutil.rmtree(folder, ignore_errors=True)


def _clean_env(**extra: str) -> dict[str, str]:
    """The environment without this checkout on the path (PYTHONPATH would shadow the installed wheel)."""
    env = {key: value for key, value in os.environ.items() if key not in ("PYTHONPATH", "NUMBA_CACHE_DIR", "XDG_CACHE_HOME")}
    return {**env, "KERAS_BACKEND": "jax", "MPLBACKEND": "Agg", **extra}


def test_the_sdist_holds_the_package_licence_and_readme(dist):
    with tarfile.open(dist["sdist"]) as sdist:
        names = {name.split("/", 1)[1] for name in sdist.getnames() if "/" in name}
    sources = {f"cyclr/{path.name}" for path in (ROOT / "cyclr").glob("*.py")}
    assert sources <= names, sorted(sources - names)
    assert {"cyclr/py.typed", "pyproject.toml", "README.md", "LICENSE"} <= names


def test_the_wheel_holds_the_package_typed_and_nothing_else(dist):
    with zipfile.ZipFile(dist["wheel"]) as wheel:
        names = set(wheel.namelist())
    sources = {f"cyclr/{path.name}" for path in (ROOT / "cyclr").glob("*.py")}
    assert sources <= names, sorted(sources - names)
    assert "cyclr/py.typed" in names
    top = {name.split("/", 1)[0] for name in names}
    assert top == {"cyclr", f"cyclr-{cyclr.__version__}.dist-info"}, top  # no tests/, docs/, benchmarks/
    assert any(name.endswith(".dist-info/licenses/LICENSE") for name in names), sorted(names)


def test_the_wheel_metadata_is_complete(dist):
    with zipfile.ZipFile(dist["wheel"]) as wheel:
        info = f"cyclr-{cyclr.__version__}.dist-info"
        metadata = email.parser.Parser().parsestr(wheel.read(f"{info}/METADATA").decode())
        entry_points = wheel.read(f"{info}/entry_points.txt").decode()
    assert metadata["Name"] == "cyclr"
    assert metadata["Version"] == cyclr.__version__
    assert metadata["Requires-Python"] == ">=3.10"
    assert metadata["License-Expression"] == "MIT"
    assert metadata["Description-Content-Type"] == "text/markdown"
    assert metadata.get_payload().startswith("# cyclr")  # README is the long description
    assert metadata["Summary"]
    assert set(metadata.get_all("Provides-Extra")) == EXTRAS
    requires = metadata.get_all("Requires-Dist")
    assert {"numpy>=1.24", "numba>=0.58"} <= {requirement.split(";")[0].replace(" ", "") for requirement in requires}
    assert "Typing :: Typed" in metadata.get_all("Classifier")
    assert "cyclr = cyclr.cli:entry_point" in entry_points


def test_every_module_imports_from_the_installed_wheel(installed):
    probe = (
        "import importlib, pathlib, cyclr\n"
        f"for name in {MODULES!r}:\n"
        "    module = importlib.import_module(name)\n"
        f"    assert pathlib.Path(module.__file__).is_relative_to({str(installed['site'])!r}), module.__file__\n"
        "print(cyclr.CyclicLR(step_size_up=10).lr_at(5))\n"
    )
    done = _run(installed["python"], "-c", probe, env=_clean_env(), cwd=installed["folder"])
    assert done.stdout.split() == ["0.0035"]
    assert (installed["site"] / "cyclr" / "py.typed").exists()


def test_the_installed_command_line_runs(installed):
    for command in ([installed["bin"] / "cyclr", "--help"], [installed["python"], "-m", "cyclr", "--help"]):
        done = _run(*command, env=_clean_env(), cwd=installed["folder"])
        assert "show" in done.stdout and "demo" in done.stdout


def _without_write_access() -> list[str]:
    """A command prefix under which the installed files are really read-only.

    ``chmod a-w`` does not stop root (it may write anywhere): as root, run with every capability
    dropped (``setpriv``), which makes root obey the file modes like any user.
    """
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("running as root without setpriv (util-linux): a read-only folder cannot be simulated")
    return [setpriv, "--bounding-set=-all", "--inh-caps=-all", "--"]


NUMBA_PROBE = """
import numpy as np, cyclr, cyclr.numba
spec = cyclr.CyclicLR(base_lr=0.001, max_lr=0.006, step_size_up=7, mode="triangular2")
lr, momentum = spec.precompute(5000, backend="numba")
assert np.array_equal(lr, spec.lr_at(np.arange(5000))), "precompute(backend='numba') differs from lr_at"
assert cyclr.numba.compile(spec)(12) == spec(12)
print("ok")
"""


@pytest.mark.parametrize("home", ["writable", "read-only"])
def test_numba_kernels_compile_from_a_read_only_site_packages(installed, home, tmp_path):
    """``cache=True`` kernels next to read-only sources: numba caches elsewhere or not at all, never fails.

    With a writable home numba keeps its cache in ~/.cache/numba; with none (a locked-down container)
    the kernel must still compile and give the same values.
    """
    package = installed["site"] / "cyclr"
    for path in [package, *package.rglob("*")]:
        path.chmod(path.stat().st_mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))
    home_dir = Path(tempfile.mkdtemp(prefix="cyclr-home-", dir=installed["folder"]))
    if home == "read-only":
        home_dir.chmod(0o555)
    try:
        for _ in range(2):  # the second run loads from the cache, where there is one
            done = subprocess.run(
                [*_without_write_access(), str(installed["python"]), "-c", NUMBA_PROBE],
                capture_output=True, text=True, cwd=home_dir, env=_clean_env(HOME=str(home_dir)),
            )
            assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr[-3000:]
    finally:
        for path in [package, *package.rglob("*")]:
            path.chmod(path.stat().st_mode | stat.S_IWUSR)
    assert not list(package.rglob("*.nbi")), "numba wrote into the read-only package"
    if home == "writable":
        assert list(home_dir.rglob("*.nbi")), "numba kept no cache in the user's cache folder"
