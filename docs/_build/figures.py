"""mkdocs hook: draw the concept figures from the library itself, so they cannot go stale.

Figures are written to docs/img/generated/ (ignored by git) before mkdocs collects the pages; a file
is rewritten only when its bytes change, so `mkdocs serve` does not loop.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any, Callable

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as pyplot  # noqa: E402
import numpy as np  # noqa: E402

import cyclr  # noqa: E402

FIGURES: dict[str, Callable[[], Any]] = {}


def figure(name: str) -> Callable[[Callable[[], Any]], Callable[[], Any]]:
    def register(draw: Callable[[], Any]) -> Callable[[], Any]:
        FIGURES[name] = draw
        return draw

    return register


@figure("cyclic_modes")
def _cyclic_modes() -> Any:
    fig, axes = pyplot.subplots(3, 1, figsize=(8, 6.5), sharex=True)
    for ax, (mode, extra) in zip(axes, [("triangular", {}), ("triangular2", {}), ("exp_range", {"gamma": 0.9994})]):
        cyclr.plot(cyclr.CyclicLR(base_lr=0.001, max_lr=0.006, step_size_up=500, mode=mode, cycle_momentum=False, **extra), 4000, ax=ax)
        ax.set_xlabel("")
    axes[-1].set_xlabel("step")
    return fig


@figure("cyclic_momentum")
def _cyclic_momentum() -> Any:
    fig, ax = pyplot.subplots(figsize=(8, 3))
    cyclr.plot(cyclr.CyclicLR(base_lr=0.001, max_lr=0.006, step_size_up=300, step_size_down=700), 2000, ax=ax)
    return fig


@figure("waveforms")
def _waveforms() -> Any:
    fig, ax = pyplot.subplots(figsize=(8, 3))
    steps = np.arange(1000)
    for waveform in cyclr.cyclic.WAVEFORMS:
        spec = cyclr.CyclicLR(base_lr=0.0, max_lr=1.0, step_size_up=250, waveform=waveform, cycle_momentum=False)
        ax.plot(steps, spec.lr_at(steps), label=waveform)
    ax.set(xlabel="step", ylabel="lr (base 0, max 1)", title="waveforms: triangular (Bartlett), cosine (Hann), welch")
    ax.legend(loc="upper right")
    return fig


@figure("one_cycle")
def _one_cycle() -> Any:
    fig, axes = pyplot.subplots(1, 2, figsize=(9, 3.2))
    steps = np.arange(1000)
    for ax, three_phase in zip(axes, (False, True)):
        for strategy in ("cos", "linear"):
            spec = cyclr.OneCycleLR(max_lr=0.1, total_steps=1000, anneal_strategy=strategy, three_phase=three_phase)
            ax.plot(steps, spec.lr_at(steps), label=strategy)
        ax.set(xlabel="step", title=f"OneCycleLR{' three_phase' if three_phase else ''}")
        ax.legend()
    axes[0].set_ylabel("learning rate")
    return fig


@figure("sgdr")
def _sgdr() -> Any:
    fig, ax = pyplot.subplots(figsize=(8, 3))
    cyclr.plot(cyclr.CosineAnnealingWarmRestarts(base_lr=0.1, T_0=100, T_mult=2, eta_min=0.001), 1500, ax=ax)
    return fig


@figure("cosine")
def _cosine() -> Any:
    fig, ax = pyplot.subplots(figsize=(8, 3))
    cyclr.plot(cyclr.CosineAnnealingLR(base_lr=0.1, T_max=500, eta_min=0.001), 1500, ax=ax)
    ax.axvline(500, color="tab:red", linewidth=1)
    ax.annotate("T_max", (500, 0.1), color="tab:red")
    return fig


@figure("composition")
def _composition() -> Any:
    fig, ax = pyplot.subplots(figsize=(8, 3))
    spec = cyclr.warmup(
        cyclr.join([cyclr.CyclicLR(base_lr=0.01, max_lr=0.1, step_size_up=200, mode="triangular2", cycle_momentum=False),
                    cyclr.CosineAnnealingLR(base_lr=0.01, T_max=400)], [1200]),
        warmup_steps=200,
    )
    cyclr.plot(spec, 1800, ax=ax)
    return fig


@figure("exactness")
def _exactness() -> Any:
    from fractions import Fraction

    fig, ax = pyplot.subplots(figsize=(8, 3))
    up, down = 3, 7
    spec = cyclr.CyclicLR(base_lr=0.0, max_lr=1.0, step_size_up=up, step_size_down=down, cycle_momentum=False)
    exponents = np.arange(10, 53)
    ours, theirs = [], []
    for exponent in exponents:
        step = 2 ** int(exponent) + 1
        offset = step % (up + down)
        exact = min(Fraction(offset, up), Fraction(up + down - offset, down))
        t_over_T = step / (up + down)  # torch's float formula, transcribed
        x = 1.0 + t_over_T - np.floor(1 + t_over_T)
        torch_value = x / 0.3 if x <= 0.3 else (x - 1) / (0.3 - 1)
        ours.append(abs(float(Fraction(spec.lr_at(step)) - exact)) + 1e-18)
        theirs.append(abs(float(Fraction(torch_value) - exact)) + 1e-18)
    ax.semilogy(exponents, theirs, "o-", label="torch's float position")
    ax.semilogy(exponents, ours, "s-", label="cyclr (integer position)")
    ax.set(xlabel="step = 2**k + 1, k", ylabel="|lr - exact|", title="error against exact rational arithmetic")
    ax.legend()
    return fig


def on_pre_build(config: Any) -> None:
    target = Path(config["docs_dir"]) / "img" / "generated"
    target.mkdir(parents=True, exist_ok=True)
    for name, draw in FIGURES.items():
        fig = draw()
        fig.tight_layout()
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=100, metadata={"Software": None})
        pyplot.close(fig)
        path = target / f"{name}.png"
        if not path.exists() or path.read_bytes() != buffer.getvalue():
            path.write_bytes(buffer.getvalue())
