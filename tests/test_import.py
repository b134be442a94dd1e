"""``import cyclr`` stays light: numpy only, the frameworks and numba stay unimported."""

import subprocess
import sys

HEAVY = ("numba", "torch", "jax", "keras", "tensorflow", "matplotlib", "optax")


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
