"""One spec of every family (and the compositions), shared by the tests that hold for any spec.

The contract tests (``test_contract.py``) and the float32 oracle (``adapters/float32_oracle.py``) each add
their own LR range tests to it.
"""

from __future__ import annotations

import cyclr

FAMILIES = {
    "cyclic": cyclr.CyclicLR(step_size_up=5, step_size_down=8, mode="triangular2"),
    "cyclic-hann-groups": cyclr.CyclicLR(base_lr=[0.01, 0.02], max_lr=[0.1, 0.05], step_size_up=6, waveform="cosine"),
    "cyclic-exp-welch": cyclr.CyclicLR(step_size_up=4, mode="exp_range", gamma=0.999, waveform="welch"),
    "one-cycle": cyclr.OneCycleLR(max_lr=0.1, total_steps=90),
    "one-cycle-3-linear-groups": cyclr.OneCycleLR(max_lr=[0.1, 0.3], total_steps=77, three_phase=True, anneal_strategy="linear"),
    "sgdr": cyclr.CosineAnnealingWarmRestarts(base_lr=0.1, T_0=4, T_mult=3, eta_min=0.001),
    "sgdr-flat-groups": cyclr.CosineAnnealingWarmRestarts(base_lr=[0.1, 0.2], T_0=9),
    "cosine": cyclr.CosineAnnealingLR(base_lr=0.1, T_max=33),
    "warmup": cyclr.warmup(cyclr.OneCycleLR(max_lr=0.1, total_steps=50), 10, 0.001),
    "constant": cyclr.Constant(0.01),
    "polynomial-groups-begin": cyclr.PolynomialDecay([0.1, 0.2], 50, end_lr=[0.001, 0.01], power=2.0, begin=7),
    "polynomial-cycle": cyclr.PolynomialDecay(0.1, 13, power=0.5, cycle=True),
    "exponential": cyclr.ExponentialDecay(0.1, 0.96, 10),
    "exponential-staircase-begin-end-groups": cyclr.ExponentialDecay([0.1, 0.2], 0.5, 7, staircase=True, begin=5, end_lr=[1e-3, 2e-3]),
    "exponential-growth": cyclr.ExponentialDecay(1e-3, 1.05, 3, end_lr=0.1),
    "inverse-time": cyclr.InverseTimeDecay(0.1, 0.5, 10),
    "inverse-time-staircase-groups": cyclr.InverseTimeDecay([0.1, 0.2], 2.0, 7, staircase=True),
    "piecewise": cyclr.PiecewiseConstant(0.1, [10, 50, 2**40], [1.0, 0.5, 0.1, 0.01]),
    "piecewise-inclusive-groups": cyclr.PiecewiseConstant([1.0, 2.0], [10, 20], [0.1, 0.05, 0.01], inclusive=True),
    "constant-lr-groups": cyclr.ConstantLR([0.1, 0.2], factor=0.25, total_iters=10),
    "linear-lr": cyclr.LinearLR(0.1, start_factor=0.01, total_iters=100),
    "exponential-lr": cyclr.ExponentialLR(0.1, 0.99),
    "step-lr": cyclr.StepLR(0.1, 30, 0.5),
    "multistep-lr-groups": cyclr.MultiStepLR([0.1, 0.2], [10, 10, 100], 0.5),
    "polynomial-lr": cyclr.PolynomialLR(0.1, 150, 2.0),
    "join": cyclr.join([cyclr.CosineAnnealingLR(0.1, 20), cyclr.CosineAnnealingWarmRestarts(0.05, 7, 2)], [20]),
    "cosine-decay": cyclr.CosineDecay(0.1, 50, alpha=0.1, exponent=1.5),
    "cosine-decay-hf-groups": cyclr.warmup(cyclr.CosineDecay([0.1, 0.2], 40, after="continue"), 5),
    "cosine-decay-hard-restarts": cyclr.CosineDecay(0.1, 60, num_cycles=3, hard_restarts=True, after="zero"),
    "cosine-decay-offset": cyclr.CosineDecay(0.1, 45, alpha=0.2, num_cycles=1.5, after="continue", offset=1),
    "cosine-decay-restarts": cyclr.CosineDecayRestarts(0.1, 10, t_mul=2.0, m_mul=0.8, alpha=0.05),
    "cosine-decay-restarts-fractional": cyclr.CosineDecayRestarts([0.1, 0.3], 7, t_mul=1.5, m_mul=0.9),
    "inverse-sqrt": cyclr.InverseSqrt([0.1, 0.2], timescale=7),
    "inverse-sqrt-warmup": cyclr.warmup(cyclr.InverseSqrt(0.1, timescale=20), 20),
    "wsd": cyclr.WarmupStableDecay(0.1, 10, 30, num_training_steps=100, warmup_type="1-sqrt", min_lr_ratio=0.1),
    "wsd-groups": cyclr.WarmupStableDecay([0.1, 0.2], 0, 25, num_stable_steps=40, decay_type="1-sqrt"),
}
