"""cyclr demo: the paper's measure (iterations to a target accuracy, final accuracy) over seeds, honestly."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from cyclr import demo


@pytest.fixture(scope="module")
def report():
    return demo.measure(epochs=4, seed=3, seeds=2, out=lambda line: None)


def test_the_report_has_the_papers_numbers(report):
    assert [runs.name for runs in report.runs][1:] == ["triangular", "triangular2"]
    assert report.runs[0].name.startswith("fixed ")
    steps_per_epoch = 1437 // demo.BATCH
    for runs in report.runs:
        assert runs.steps == tuple(range(11, 4 * steps_per_epoch + 1, 11))  # four evaluations an epoch
        assert len(runs.accuracy) == 2 and all(len(history) == len(runs.steps) for history in runs.accuracy)
        assert np.all((np.array(runs.accuracy) >= 0) & (np.array(runs.accuracy) <= 1))
    assert report.target == report.runs[0].final.mean()
    rows = report.summary()
    assert [row["name"] for row in rows] == [runs.name for runs in report.runs]
    for row, runs in zip(rows, report.runs, strict=True):
        reached = [step for step in runs.iterations_to(report.target) if step is not None]
        assert row["reached"] == len(reached) and row["seeds"] == 2
        assert row["final_mean"] == runs.final.mean() and row["final_std"] == runs.final.std()
        assert row["iterations_mean"] == (np.mean(reached) if reached else None)


def test_iterations_to_a_target_is_the_first_measurement_reaching_it():
    runs = demo.Runs(
        "x",
        demo.schedules(10, 0.01, 0.1)["triangular"],
        (5, 10, 15),
        ((0.5, 0.9, 0.8), (0.1, 0.2, 0.95)),
        0.0,
    )
    assert runs.iterations_to(0.85) == [10, 15]
    assert runs.iterations_to(0.96) == [None, None]
    assert list(runs.final) == [0.8, 0.95]


def test_same_seed_same_numbers(report):
    again = demo.measure(epochs=4, seed=3, seeds=2, out=lambda line: None)
    assert [runs.accuracy for runs in again.runs] == [runs.accuracy for runs in report.runs]
    assert (again.base_lr, again.max_lr, again.target) == (report.base_lr, report.max_lr, report.target)
    assert list(again.sweep.losses) == list(report.sweep.losses)


def test_seeds_differ(report):
    first, second = report.runs[1].accuracy
    assert first != second


def test_the_text_reports_what_was_measured(report):
    lines = demo.describe(report)
    text = "\n".join(lines)
    assert f"target accuracy {report.target:.4f}" in text
    for row in report.summary():
        assert f"{row['final_mean']:.4f} +- {row['final_std']:.4f}" in text
    assert sum(line.startswith(("triangular:", "triangular2:")) for line in lines) == 2


def test_the_figure_has_a_legend_on_every_panel_and_an_honest_title(report):
    import matplotlib

    matplotlib.use("Agg")
    figure = demo.draw(report)
    assert len(figure.axes) == 3
    assert all(ax.get_legend() is not None for ax in figure.axes)
    title = figure.axes[2].get_title()
    assert "finished" not in title or "blows up" not in title
    if report.sweep.reason == "diverged":
        assert "diverged" in title


def test_sweep_title_never_says_finished_over_a_blow_up():
    class Sweep:
        reason = "finished"
        lrs = np.logspace(-4, 1, 50)
        losses = np.concatenate([np.linspace(2.5, 0.3, 40), np.geomspace(0.3, 50, 10)])

    class Minimum:
        lr = 1.0

    class Suggestion:
        minimum = Minimum()

    title = demo.sweep_title(Sweep(), Suggestion())
    assert "finished" not in title and "blows up past lr 1" in title
    Sweep.losses = np.linspace(2.5, 0.3, 50)
    assert "(finished)" in demo.sweep_title(Sweep(), Suggestion())


def test_demo_runs_from_the_command_line(tmp_path):
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "cyclr",
            "demo",
            "--epochs",
            "4",
            "--seeds",
            "2",
            "-o",
            str(tmp_path / "demo.png"),
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=True,
    )
    lines = done.stdout.splitlines()
    assert any(line.startswith("LR range test: ") for line in lines)
    header = next(i for i, line in enumerate(lines) if line.startswith("schedule"))
    rows = [line.split() for line in lines[header + 1 : header + 4]]
    assert [row[0] for row in rows][1:] == ["triangular", "triangular2"]
    assert all(row[-1].endswith("/2") for row in rows)
    assert lines[-1] == f"wrote {tmp_path / 'demo.png'}"
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
        # central difference: truncation O(h^2 * f''') ~ 1e-12, rounding ~ eps * |f| / h ~ 1e-10
        assert abs((up - down) / 2e-6 - grads[index]) < 1e-6
