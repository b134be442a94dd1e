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


# -- docs/schedules.md: one figure per family, each drawn from its spec -------------------------------------


def _schedule_figure(specs: Any, num_steps: int, title: str, *, logy: bool = False) -> Any:
    """The lr of a spec (or of several, labelled: ``[(label, spec), ...]``) over ``num_steps`` steps."""
    fig, ax = pyplot.subplots(figsize=(8, 2.3))
    steps = np.arange(num_steps)
    for label, spec in specs if isinstance(specs, list) else [(None, specs)]:
        ax.plot(steps, np.asarray(spec.lr_at(steps)), linewidth=1.4, label=label)
    if isinstance(specs, list):
        ax.legend(fontsize=8)
    ax.set(xlabel="step", ylabel="lr", title=title)
    ax.title.set_fontsize(9)
    if logy:
        ax.set_yscale("log")
    ax.set_xlim(0, num_steps - 1)
    return fig


SCHEDULE_FIGURES: dict[str, tuple[Callable[[], Any], int, str, bool]] = {
    "CyclicLR": (lambda: cyclr.CyclicLR(0.001, 0.006, step_size_up=200, step_size_down=300, mode="triangular2"), 2000, "CyclicLR(0.001, 0.006, step_size_up=200, step_size_down=300, mode='triangular2')", False),
    "OneCycleLR": (lambda: cyclr.OneCycleLR(max_lr=0.1, total_steps=1000), 1000, "OneCycleLR(max_lr=0.1, total_steps=1000)", False),
    "CosineAnnealingWarmRestarts": (lambda: cyclr.CosineAnnealingWarmRestarts(0.1, T_0=100, T_mult=2, eta_min=0.001), 1500, "CosineAnnealingWarmRestarts(0.1, T_0=100, T_mult=2, eta_min=0.001)", False),
    "CosineAnnealingLR": (lambda: cyclr.CosineAnnealingLR(0.1, T_max=500, eta_min=0.001), 1500, "CosineAnnealingLR(0.1, T_max=500, eta_min=0.001): the cosine goes on past T_max", False),
    "LRRangeTest": (lambda: cyclr.rangetest.LRRangeTest(start_lr=1e-6, end_lr=1.0, num_steps=100), 100, "LRRangeTest(start_lr=1e-6, end_lr=1.0, num_steps=100) (log scale)", True),
    "Constant": (lambda: cyclr.Constant(0.01), 1000, "Constant(0.01)", False),
    "PolynomialDecay": (lambda: [("power=1.0 (linear)", cyclr.PolynomialDecay(0.1, 600, end_lr=0.01, begin=100)), ("power=2.0", cyclr.PolynomialDecay(0.1, 600, end_lr=0.01, power=2.0, begin=100)), ("power=2.0, cycle=True", cyclr.PolynomialDecay(0.1, 300, end_lr=0.01, power=2.0, cycle=True))], 1000, "PolynomialDecay(0.1, decay_steps=600, end_lr=0.01, begin=100, ...)", False),
    "ExponentialDecay": (lambda: [("staircase=False", cyclr.ExponentialDecay(0.1, 0.5, 200)), ("staircase=True, end_lr=0.02", cyclr.ExponentialDecay(0.1, 0.5, 200, staircase=True, end_lr=0.02))], 1000, "ExponentialDecay(0.1, decay_rate=0.5, decay_steps=200, ...)", False),
    "InverseTimeDecay": (lambda: [("staircase=False", cyclr.InverseTimeDecay(0.1, 1.0, 100)), ("staircase=True", cyclr.InverseTimeDecay(0.1, 1.0, 100, staircase=True))], 1000, "InverseTimeDecay(0.1, decay_rate=1.0, decay_steps=100, ...)", False),
    "PiecewiseConstant": (lambda: cyclr.PiecewiseConstant(0.1, [300, 600, 800], [1.0, 0.5, 0.1, 0.05]), 1000, "PiecewiseConstant(0.1, boundaries=[300, 600, 800], factors=[1, 0.5, 0.1, 0.05])", False),
    "ConstantLR": (lambda: cyclr.ConstantLR(0.1, factor=0.25, total_iters=200), 1000, "ConstantLR(0.1, factor=0.25, total_iters=200)", False),
    "LinearLR": (lambda: cyclr.LinearLR(0.1, start_factor=0.1, end_factor=1.0, total_iters=300), 1000, "LinearLR(0.1, start_factor=0.1, end_factor=1.0, total_iters=300)", False),
    "ExponentialLR": (lambda: cyclr.ExponentialLR(0.1, gamma=0.997), 1000, "ExponentialLR(0.1, gamma=0.997)", False),
    "StepLR": (lambda: cyclr.StepLR(0.1, step_size=250, gamma=0.5), 1000, "StepLR(0.1, step_size=250, gamma=0.5)", False),
    "MultiStepLR": (lambda: cyclr.MultiStepLR(0.1, milestones=[300, 700, 900], gamma=0.3), 1000, "MultiStepLR(0.1, milestones=[300, 700, 900], gamma=0.3)", False),
    "PolynomialLR": (lambda: cyclr.PolynomialLR(0.1, total_iters=800, power=2.0), 1000, "PolynomialLR(0.1, total_iters=800, power=2.0)", False),
    "CosineDecay": (lambda: [("after='hold' (optax, Keras)", cyclr.CosineDecay(0.1, 800, alpha=0.1)), ("after='continue' (transformers' cosine)", cyclr.CosineDecay(0.1, 800, alpha=0.1, after="continue")), ("num_cycles=3, hard_restarts=True, after='zero'", cyclr.CosineDecay(0.1, 800, num_cycles=3, hard_restarts=True, after="zero"))], 1000, "CosineDecay(0.1, decay_steps=800, alpha=0.1, ...)", False),
    "CosineDecayRestarts": (lambda: cyclr.CosineDecayRestarts(0.1, 100, t_mul=2.0, m_mul=0.7, alpha=0.05), 1500, "CosineDecayRestarts(0.1, first_decay_steps=100, t_mul=2.0, m_mul=0.7, alpha=0.05)", False),
    "InverseSqrt": (lambda: cyclr.warmup(cyclr.InverseSqrt(0.1, timescale=100), 100), 1000, "warmup(InverseSqrt(0.1, timescale=100), 100): transformers' inverse_sqrt", False),
    "WarmupStableDecay": (lambda: cyclr.WarmupStableDecay(0.1, 100, 200, num_training_steps=1000, decay_type="1-sqrt", min_lr_ratio=0.1), 1000, "WarmupStableDecay(0.1, 100, 200, num_training_steps=1000, decay_type='1-sqrt', min_lr_ratio=0.1)", False),
    "warmup": (lambda: cyclr.warmup(cyclr.CosineDecay(0.1, 900), 100), 1000, "warmup(CosineDecay(0.1, 900), 100): a linear warmup into any spec", False),
    "join": (lambda: cyclr.join([cyclr.Constant(0.05), cyclr.CosineAnnealingWarmRestarts(0.1, T_0=150), cyclr.ExponentialLR(0.02, 0.995)], [200, 650]), 1000, "join([Constant(0.05), CosineAnnealingWarmRestarts(0.1, T_0=150), ExponentialLR(0.02, 0.995)], ...)", False),
}
"""Name -> (the spec, steps, the title, log scale): the figures ``schedule_<name>`` of docs/schedules.md."""


for _name, (_spec, _steps, _title, _logy) in SCHEDULE_FIGURES.items():
    figure(f"schedule_{_name}")(lambda spec=_spec, steps=_steps, title=_title, logy=_logy: _schedule_figure(spec(), steps, title, logy=logy))


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
