"""``import cyclr`` stays light: numpy only, the frameworks and numba stay unimported."""

import os
import subprocess
import sys

import pytest

HEAVY = ("numba", "torch", "jax", "keras", "tensorflow", "matplotlib", "optax", "array_api_compat", "dask")


def imported_after(code: str) -> list[str]:
    probe = f"{code}\nimport sys\nprint(sorted(m for m in {HEAVY!r} if m in sys.modules))"
    output = subprocess.run([sys.executable, "-c", probe], check=True, capture_output=True, text=True)
    return eval(output.stdout.strip().splitlines()[-1])


def test_import_cyclr_imports_no_framework_nor_numba():
    assert imported_after("import cyclr") == []


def test_using_the_core_imports_no_framework_nor_numba():
    code = "import cyclr, numpy as np\ns = cyclr.CyclicLR()\ns.lr_at(5); s.precompute(100); s.to_dict()"
    assert imported_after(code) == []


def test_each_adapter_imports_only_its_framework():
    assert imported_after("import cyclr.torch") == ["torch"]
    assert imported_after("import cyclr.jax") == ["jax"]
    assert "keras" in imported_after("import cyclr.keras")
    assert "torch" not in imported_after("import cyclr.jax")


def test_cyclr_numba_is_lazy_and_reachable_as_an_attribute():
    assert imported_after("import cyclr\ncyclr.numba.compile") == ["numba"]
    assert imported_after("import cyclr.numba") == ["numba"]


MISSING_BACKENDS = [
    # (KERAS_BACKEND, the module made unimportable, what the message must tell the user to install)
    ("jax", "jax", 'pip install "cyclr[keras,jax]"'),
    ("torch", "torch", 'pip install "cyclr[keras,torch]"'),
    ("tensorflow", "tensorflow", 'set KERAS_BACKEND=jax or KERAS_BACKEND=torch (pip install "cyclr[keras,jax]"'),
    ("jax", "keras", 'pip install "cyclr[keras,jax]" and set KERAS_BACKEND=jax'),
    ("no-such-backend", None, 'pip install "cyclr[keras,jax]" and set KERAS_BACKEND=jax'),
]


@pytest.mark.parametrize(("backend", "missing", "advice"), MISSING_BACKENDS)
def test_import_cyclr_keras_without_a_usable_backend_says_which_extra_to_add(backend, missing, advice, tmp_path):
    """With KERAS_BACKEND naming a backend that is not installed, one ImportError names the extra to add.

    The backend is made missing for real: a module of its name that fails to import stands first on the path.
    """
    if missing is not None:
        (tmp_path / f"{missing}.py").write_text(f"raise ModuleNotFoundError({f'No module named {missing!r}'!r}, name={missing!r})\n")
    env = {**os.environ, "KERAS_BACKEND": backend, "PYTHONPATH": os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", "")])}
    probe = "try:\n    import cyclr.keras\nexcept Exception as error:\n    print(type(error).__name__, error, sep=': ')\n"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("ImportError: cyclr.keras"), done.stdout
    assert advice in done.stdout, done.stdout
    assert len(done.stdout.strip().splitlines()) == 1, done.stdout


def _imports_of(path) -> set[str]:
    """The cyclr modules a file imports, at any depth in it (module level or inside a function)."""
    import ast

    package = "cyclr." + ".".join(path.relative_to(PACKAGE).with_suffix("").parts)
    package = package.removesuffix(".__init__")
    base = package if path.name == "__init__.py" else package.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                parent = base.rsplit(".", node.level - 1)[0] if node.level > 1 else base
                module = f"{parent}.{node.module}" if node.module else parent
                names = [f"{module}.{alias.name}" for alias in node.names]
                found.update(name for name in [module, *names] if name.startswith("cyclr"))
            elif node.module and node.module.startswith("cyclr"):
                found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name.startswith("cyclr"))
    return found


PACKAGE = __import__("pathlib").Path(__file__).resolve().parent.parent / "cyclr"


def test_the_spec_base_never_imports_the_numba_path():
    """cyclr.numba builds on cyclr._spec; the spec names its compiled backend, it does not import it."""
    graph = {}
    for path in PACKAGE.rglob("*.py"):
        name = ("cyclr." + ".".join(path.relative_to(PACKAGE).with_suffix("").parts)).removesuffix(".__init__")
        graph[name] = _imports_of(path)
    assert "cyclr._spec" in graph["cyclr.numba"]
    reachable, todo = set(), ["cyclr._spec"]
    while todo:
        for name in graph.get(todo.pop(), ()):
            if name in graph and name not in reachable:
                reachable.add(name)
                todo.append(name)
    assert "cyclr.numba" not in reachable
