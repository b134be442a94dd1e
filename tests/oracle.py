"""PyTorch's own schedulers as the oracle: the lr and momentum they set at every step."""

from __future__ import annotations

import warnings
from typing import Any, Callable

import numpy as np
import torch


def torch_trajectory(
    make_scheduler: Callable[[torch.optim.Optimizer], Any],
    num_steps: int,
    *,
    groups: int = 1,
    optimizer: str = "sgd",
) -> tuple[np.ndarray, np.ndarray | None]:
    """Run a torch scheduler for ``num_steps`` steps; lr and momentum (or beta1) per step and group."""
    params = [{"params": [torch.nn.Parameter(torch.zeros(1))]} for _ in range(groups)]
    if optimizer == "sgd":
        opt: torch.optim.Optimizer = torch.optim.SGD(params, lr=0.1, momentum=0.9)
        momentum_of = lambda group: group["momentum"]  # noqa: E731
    else:
        opt = torch.optim.Adam(params, lr=0.1)
        momentum_of = lambda group: group["betas"][0]  # noqa: E731
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        scheduler = make_scheduler(opt)
        lrs, momenta = [], []
        for step in range(num_steps):
            lrs.append([float(group["lr"]) for group in opt.param_groups])
            momenta.append([float(momentum_of(group)) for group in opt.param_groups])
            if step < num_steps - 1:  # never past the last recorded step (one-cycle raises there)
                opt.step()
                scheduler.step()
    return np.array(lrs, dtype=np.float64), np.array(momenta, dtype=np.float64)


def assert_close(actual: Any, expected: Any, rtol: float = 1e-12, what: str = "") -> None:
    """Equal to ``rtol`` relative to the value, or to the largest value of its column (group).

    The second term matters only where the exact value is (near) zero, e.g. the momentum at the peak
    when base_momentum is 0: torch's float cycle position leaves residues there (1e-16 .. 1e-13 of the
    amplitude over a few hundred steps), which no relative tolerance can accept.
    """
    actual = np.asarray(actual, dtype=np.float64)
    expected = np.asarray(expected, dtype=np.float64)
    floor = rtol * (np.max(np.abs(expected), axis=0) if expected.ndim else abs(expected))
    np.testing.assert_array_less(
        np.abs(actual - expected), np.maximum(rtol * np.abs(expected), floor) + 1e-300, err_msg=what
    )


def ulps(actual: Any, expected: Any) -> float:
    """The largest distance in units of the last place of ``expected``."""
    actual = np.asarray(actual, dtype=np.float64)
    expected = np.asarray(expected, dtype=np.float64)
    if actual.size == 0:
        return 0.0
    return float(np.max(np.abs(actual - expected) / np.spacing(np.abs(expected))))
