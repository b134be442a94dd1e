"""The transformers Trainer drives cyclr's schedulers given as ``optimizers=(optimizer, scheduler)``:
the lr each optimizer step uses, the logged ``learning_rate``, gradient accumulation, and
``resume_from_checkpoint``.

Models are built from local code and configs (a plain ``nn.Module`` returning its loss, a one-layer GPT-2
from a ``GPT2Config``), never downloaded. torch's own classes of the same schedules run the same tests
as the control.
"""

from __future__ import annotations

from typing import Any

import pytest

transformers = pytest.importorskip("transformers")

import torch  # noqa: E402
from _stacks import (  # noqa: E402
    CYCLIC,
    assert_same_weights,
    assert_schedule,
    batch_for,
    make_scheduler,
    sgd,
    tiny_model,
)
from transformers import Trainer, TrainerCallback, TrainingArguments  # noqa: E402

import cyclr  # noqa: E402
import cyclr.torch  # noqa: E402

KINDS = [
    "cyclic-generic",
    "cyclic-dropin",
    "cyclic-torch",
    "onecycle-generic",
    "onecycle-dropin",
    "onecycle-torch",
]
STEPS = 12
ROWS = 20  # 5 batches of 4 an epoch: the checkpoint at step 7 is mid-epoch


class Regression(torch.nn.Module):
    """The tiny model of ``_stacks`` as the Trainer wants it: ``forward(**batch)`` returns the loss."""

    def __init__(self) -> None:
        super().__init__()
        self.net = tiny_model()

    def forward(self, x: torch.Tensor, labels: torch.Tensor) -> dict[str, torch.Tensor]:
        return {"loss": torch.nn.functional.mse_loss(self.net(x), labels)}


def rows() -> list[dict[str, torch.Tensor]]:
    x, y = batch_for(0)
    table = [batch_for(step) for step in range(ROWS // len(x))]
    return [{"x": bx[i], "labels": by[i]} for bx, by in table for i in range(len(bx))]


class SeenValues(TrainerCallback):
    """Records ``(global_step, lr, momentum)`` of parameter group 0 just before each optimizer step."""

    def __init__(self, momentum: str = "momentum") -> None:
        self.momentum, self.seen = momentum, []

    def on_pre_optimizer_step(
        self, args: Any, state: Any, control: Any, optimizer: Any = None, **kwargs: Any
    ) -> None:
        group = optimizer.param_groups[0]
        momentum = group["betas"][0] if self.momentum == "betas" else group["momentum"]
        self.seen.append((state.global_step, group["lr"], momentum))


def arguments(tmp_path: Any, **options: Any) -> TrainingArguments:
    defaults = {
        "output_dir": str(tmp_path), "max_steps": STEPS, "per_device_train_batch_size": 4, "logging_steps": 1,
        "save_strategy": "no", "report_to": "none", "use_cpu": True, "disable_tqdm": True, "seed": 7,
        "dataloader_num_workers": 0,
    }  # fmt: skip
    return TrainingArguments(**{**defaults, **options})


def train(kind: str, tmp_path: Any, resume: Any = None, **options: Any) -> tuple[Trainer, SeenValues]:
    model = Regression()
    optimizer = sgd(model)
    seen = SeenValues()
    trainer = Trainer(
        model=model,
        args=arguments(tmp_path, **options),
        train_dataset=rows(),
        optimizers=(optimizer, make_scheduler(kind, optimizer)),
        callbacks=[seen],
    )
    trainer.train(resume_from_checkpoint=resume)
    return trainer, seen


def logged_learning_rates(trainer: Trainer) -> dict[int, float]:
    return {
        entry["step"]: entry["learning_rate"]
        for entry in trainer.state.log_history
        if "learning_rate" in entry
    }


@pytest.mark.parametrize("kind", KINDS)
def test_each_optimizer_step_uses_and_logs_the_spec_value_of_its_step(kind, tmp_path):
    trainer, seen = train(kind, tmp_path)
    assert [step for step, _, _ in seen.seen] == list(range(STEPS))
    assert_schedule(kind, seen.seen)
    # transformers 5 logs get_last_lr() read before scheduler.step(): the entry of step s + 1 (the global
    # step after the update) holds the lr that optimizer step s used.
    logged = logged_learning_rates(trainer)
    assert sorted(logged) == list(range(1, STEPS + 1))
    assert [logged[step + 1] for step in range(STEPS)] == [lr for _, lr, _ in seen.seen]


@pytest.mark.parametrize("kind", ["cyclic-generic", "cyclic-dropin", "onecycle-dropin", "cyclic-torch"])
def test_gradient_accumulation_steps_the_scheduler_once_per_optimizer_step(kind, tmp_path):
    trainer, seen = train(kind, tmp_path, max_steps=4, gradient_accumulation_steps=2)
    assert [step for step, _, _ in seen.seen] == list(range(4))
    assert_schedule(kind, seen.seen)
    assert trainer.lr_scheduler.last_epoch == 4


# Each resume costs three Trainer runs: the generic one-cycle takes the generic cyclic's path, and
# torch's CyclicLR is the control; each drop-in has its own state_dict.
RESUME_KINDS = [
    "cyclic-generic", "cyclic-dropin", "cyclic-torch", "onecycle-dropin", "sgdr-dropin", "cosine-dropin",
    "cyclic-numpy",
]  # fmt: skip


@pytest.mark.parametrize("kind", RESUME_KINDS)
def test_resume_from_checkpoint_continues_exactly(kind, tmp_path):
    """``cyclic-numpy``: a spec built from numpy scalars; the Trainer reads scheduler.pt with
    ``torch.load(weights_only=True)`` (a numpy bool kept in the state once made it fail)."""
    whole, whole_seen = train(kind, tmp_path / "whole")
    train(
        kind, tmp_path / "first", max_steps=STEPS, save_strategy="steps", save_steps=7, save_only_model=False
    )
    checkpoint = tmp_path / "first" / "checkpoint-7"
    assert (checkpoint / "scheduler.pt").exists()

    resumed, resumed_seen = train(kind, tmp_path / "resumed", resume=str(checkpoint))
    assert resumed_seen.seen == whole_seen.seen[7:]
    assert_same_weights(resumed.model, whole.model)
    # The resumed history starts with the checkpoint's (trainer_state.json), then logs steps 8 to 12.
    assert logged_learning_rates(resumed) == logged_learning_rates(whole)
    assert resumed.lr_scheduler.state_dict() == whole.lr_scheduler.state_dict()
    # The Trainer reads scheduler.pt with torch.load(weights_only=True): plain types only.
    state = torch.load(checkpoint / "scheduler.pt", weights_only=True)
    assert state["last_epoch"] == 7


def test_a_tiny_gpt2_with_adamw_trains_with_the_spec_lr_and_beta1(tmp_path):
    """A real transformers model (built from a local GPT2Config) and AdamW: momentum goes to betas[0]."""
    config = transformers.GPT2Config(vocab_size=32, n_positions=8, n_embd=8, n_layer=1, n_head=2)
    torch.manual_seed(0)
    model = transformers.GPT2LMHeadModel(config)
    generator = torch.Generator().manual_seed(1)
    tokens = torch.randint(0, 32, (16, 8), generator=generator)
    data = [{"input_ids": row, "labels": row} for row in tokens]
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3, betas=(0.9, 0.999))
    scheduler = cyclr.torch.Scheduler(optimizer, CYCLIC)
    seen = SeenValues("betas")
    trainer = Trainer(
        model=model, args=arguments(tmp_path, max_steps=8), train_dataset=data,
        optimizers=(optimizer, scheduler), callbacks=[seen],
    )  # fmt: skip
    trainer.train()
    assert_schedule("cyclic-generic", seen.seen)
    assert [step for step, _, _ in seen.seen] == list(range(8))
    assert optimizer.param_groups[0]["betas"] == (CYCLIC(8)[1], 0.999)
