"""cyclr demo: the three runs train for real, the update is a numba kernel calling cyclr, and it reports."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from cyclr import demo


def test_demo_runs_and_reports_a_table(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "cyclr", "demo", "-o", str(tmp_path / "demo.png")],
        capture_output=True, text=True, cwd=tmp_path, check=True,
    )
    lines = done.stdout.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("epoch"))
    rows = [line.split() for line in lines[header + 1 : header + 13]]
    assert [int(row[0]) for row in rows] == list(range(1, 13))
    accuracies = np.array([[float(value) for value in row[1:]] for row in rows])
    assert accuracies.shape == (12, 3)
    assert np.all(accuracies[-1] > 0.9)  # every run learns digits; which is best is reported, not asserted
    assert any(line.startswith("final: ") for line in lines)
    assert any(line.startswith("LR range test: 150 steps") and "suggested base_lr" in line for line in lines)
    assert (tmp_path / "demo.png").read_bytes()[:4] == b"\x89PNG"


def test_the_update_kernel_is_sgd_with_momentum_at_the_specs_lr():
    spec = demo.schedules(10, base_lr=0.01, max_lr=0.1)["triangular2"]
    update = demo.make_update(spec)
    params, grads, velocity = np.ones(5), np.full(5, 0.5), np.zeros(5)
    expected_params, expected_velocity = params.copy(), velocity.copy()
    for step in range(30):
        update(params, grads, velocity, step)
        expected_velocity = demo.MOMENTUM * expected_velocity - spec.lr_at(step) * grads
        expected_params = expected_params + expected_velocity
    np.testing.assert_allclose(params, expected_params, rtol=1e-14)


def test_the_range_test_suggests_a_range_where_the_loss_falls():
    sweep = demo.range_test(demo.load_digits_split(0), seed=0)
    suggestion = sweep.suggestion
    assert 1e-4 < suggestion.base_lr < suggestion.max_lr < 10.0
    inside = (sweep.lrs >= suggestion.base_lr) & (sweep.lrs <= suggestion.max_lr)
    assert sweep.losses[inside][-5:].mean() < sweep.losses[inside][:5].mean()  # it falls across the range
    fixed, triangular, triangular2 = demo.schedules(44, suggestion.base_lr, suggestion.max_lr).values()
    assert fixed.lr_at(0) == fixed.lr_at(1000) == suggestion.max_lr / 3
    assert triangular.lr_at(0) == suggestion.base_lr
    assert triangular.lr_at(88) == pytest.approx(suggestion.max_lr, rel=1e-15)


def test_gradients_match_finite_differences():
    rng = np.random.default_rng(0)
    params = demo.initial_params(0) + rng.normal(0, 0.01, demo.initial_params(0).shape)
    images, labels = rng.random((8, 64)), rng.integers(0, 10, 8)
    grads = np.zeros_like(params)
    demo.gradients(params, images, labels, grads)
    for index in rng.choice(params.size, 12, replace=False):
        shifted = params.copy()
        shifted[index] += 1e-6
        up = demo.gradients(shifted, images, labels, np.zeros_like(params))
        shifted[index] -= 2e-6
        down = demo.gradients(shifted, images, labels, np.zeros_like(params))
        assert (up - down) / 2e-6 == np.float64(grads[index]) or abs((up - down) / 2e-6 - grads[index]) < 1e-6
