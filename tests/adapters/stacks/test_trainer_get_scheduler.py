"""A transformers Trainer given ``cyclr.torch.get_scheduler``'s scheduler through ``optimizers=(optimizer,
scheduler)`` trains as with its own ``lr_scheduler_type=name`` and the same kwargs, for every closed-form
name: the lr of each optimizer step, the logged ``learning_rate``, and the weights.

Both runs use the same optimizer (built here; the Trainer builds its own scheduler on it when given
``(optimizer, None)``), model, data and seed. transformers computes some factors in another order
(``(N - step) / (N - W)`` where the spec has ``1 - t / D``), so lrs agree to 1e-12 of the peak lr
(``oracle.assert_close``), not always bit for bit; an lr that differs in its 16th digit changes a float32
update by at most one rounding, so after 30 steps the weights agree to well within 1e-6 (here, for every
name, they come out bit-identical).
"""

from __future__ import annotations

import warnings
from typing import Any

import pytest

transformers = pytest.importorskip("transformers")

import numpy as np  # noqa: E402
import torch  # noqa: E402
from oracle import assert_close  # noqa: E402
from test_transformers import Regression, SeenValues, arguments, logged_learning_rates, rows  # noqa: E402
from transformers import Trainer  # noqa: E402

import cyclr.torch  # noqa: E402

STEPS = 30
WARMUP = 4
NAMES = {
    "linear": {},
    "cosine": {"num_cycles": 0.75},
    "cosine_with_restarts": {"num_cycles": 3},
    "polynomial": {"lr_end": 1e-3, "power": 2.0},
    "constant": {},
    "constant_with_warmup": {},
    "inverse_sqrt": {"timescale": 6},
    "cosine_with_min_lr": {"min_lr": 5e-3},
    "cosine_warmup_with_min_lr": {"min_lr_rate": 0.1, "warmup_lr_rate": 0.2},
    "warmup_stable_decay": {"num_decay_steps": 10, "decay_type": "1-sqrt", "warmup_type": "cosine"},
}


def train(name: str, kwargs: dict, tmp_path: Any, ours: bool) -> tuple[Trainer, SeenValues]:
    model = Regression()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    scheduler = None
    if ours:
        scheduler = cyclr.torch.get_scheduler(name, optimizer, WARMUP, STEPS, kwargs)
    seen = SeenValues()
    options = dict(max_steps=STEPS, warmup_steps=WARMUP, lr_scheduler_type=name, lr_scheduler_kwargs=kwargs)
    trainer = Trainer(
        model=model, args=arguments(tmp_path, **options), train_dataset=rows() * 8,
        optimizers=(optimizer, scheduler), callbacks=[seen],
    )  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        trainer.train()
    return trainer, seen


@pytest.mark.parametrize("name", list(NAMES))
def test_the_trainer_trains_as_with_its_own_scheduler(name, tmp_path):
    theirs, theirs_seen = train(name, NAMES[name], tmp_path / "theirs", ours=False)
    ours, ours_seen = train(name, NAMES[name], tmp_path / "ours", ours=True)
    assert isinstance(ours.lr_scheduler, cyclr.torch.Scheduler)
    assert not isinstance(theirs.lr_scheduler, cyclr.torch.Scheduler)
    assert [step for step, _, _ in ours_seen.seen] == list(range(STEPS))
    lrs = np.array([lr for _, lr, _ in ours_seen.seen])
    assert_close(lrs, [lr for _, lr, _ in theirs_seen.seen], what=name)
    np.testing.assert_array_equal(lrs, ours.lr_scheduler.spec.lr_at(np.arange(STEPS)))
    mine, reference = logged_learning_rates(ours), logged_learning_rates(theirs)
    assert sorted(mine) == sorted(reference) == list(range(1, STEPS + 1))
    assert_close([mine[k] for k in sorted(mine)], [reference[k] for k in sorted(reference)], what=name)
    for (key, a), (_, b) in zip(
        ours.model.state_dict().items(), theirs.model.state_dict().items(), strict=True
    ):
        torch.testing.assert_close(a, b, rtol=1e-6, atol=1e-7, msg=f"{name}: {key}")
