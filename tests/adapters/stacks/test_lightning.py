"""Lightning drives cyclr's schedulers: per-step values, LearningRateMonitor, mid-epoch resume,
hyperparameters holding a spec, gradient accumulation.

Each test trains the tiny model of ``_stacks`` for a dozen steps on the CPU. torch's own class of the
same schedule (CyclicLR, OneCycleLR, CosineAnnealingWarmRestarts, CosineAnnealingLR) runs the same test
where it can, as the control: what fails for torch's class too is Lightning's behaviour, not cyclr's.
"""

from __future__ import annotations

from typing import Any

import pytest

lightning = pytest.importorskip("lightning")

import torch  # noqa: E402
from _stacks import (  # noqa: E402
    BATCH,
    CYCLIC,
    assert_same_weights,
    assert_schedule,
    batch_for,
    make_scheduler,
    sgd,
    tiny_model,
)
from lightning.pytorch import LightningModule, Trainer  # noqa: E402
from lightning.pytorch.callbacks import LearningRateMonitor, ModelCheckpoint  # noqa: E402
from lightning.pytorch.loggers import Logger  # noqa: E402

import cyclr  # noqa: E402
import cyclr.torch  # noqa: E402

pytestmark = [
    # Resumed mid-epoch, a plain DataLoader starts its epoch again (Lightning warns; batch_idx goes on
    # from the checkpoint's while the loader gives its first batch): the data here follow the step.
    pytest.mark.filterwarnings("ignore:You're resuming from a checkpoint that ended before the epoch ended"),
    # The resumed Trainer is given no ModelCheckpoint on purpose (it need not save again):
    pytest.mark.filterwarnings("ignore:Be aware that when using `ckpt_path`, callbacks used to create"),
    # Lightning 2.6's own use of a torch pytree API that torch 2.13 deprecates:
    pytest.mark.filterwarnings("ignore:`isinstance\\(treespec, LeafSpec\\)` is deprecated"),
]

KINDS = [
    "cyclic-generic",
    "cyclic-dropin",
    "cyclic-torch",
    "onecycle-generic",
    "onecycle-dropin",
    "onecycle-torch",
]
COSINE_KINDS = [
    "sgdr-generic",
    "sgdr-dropin",
    "sgdr-torch",
    "cosine-generic",
    "cosine-dropin",
    "cosine-torch",
]
STEPS = 12


class Recorder(LightningModule):
    """The tiny model; ``training_step`` records the global step and the lr and momentum it trains with."""

    def __init__(self, kind: str, accumulate: int = 1, batches: int = 5) -> None:
        super().__init__()
        self.kind, self.accumulate, self.batches = kind, accumulate, batches
        self.net = tiny_model()
        self.seen: list[tuple[int, float, float]] = []
        self.micro = 0

    def training_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
        group = self.trainer.optimizers[0].param_groups[0]
        self.seen.append((self.global_step, group["lr"], group["momentum"]))
        x, y = batch_for(self.global_step, batch_idx % self.accumulate, self.accumulate)
        return torch.nn.functional.mse_loss(self.net(x), y)

    def configure_optimizers(self) -> dict[str, Any]:
        optimizer = sgd(self.net)
        scheduler = make_scheduler(self.kind, optimizer)
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "step"}}

    def train_dataloader(self) -> torch.utils.data.DataLoader:
        # The batches' content is unused (batch_for(step) is the data); their number sets the epoch.
        return torch.utils.data.DataLoader(
            torch.utils.data.TensorDataset(torch.zeros(self.batches * BATCH)), batch_size=BATCH
        )


class MemoryLogger(Logger):
    """Keeps every logged metric as ``(step, name, value)``."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[tuple[int, str, float]] = []

    @property
    def name(self) -> str:
        return "memory"

    @property
    def version(self) -> int:
        return 0

    def log_metrics(self, metrics: dict[str, float], step: int | None = None) -> None:
        self.rows.extend((step, key, value) for key, value in metrics.items())

    def log_hyperparams(self, params: Any, *args: Any, **kwargs: Any) -> None:
        pass


def trainer(tmp_path: Any, **options: Any) -> Trainer:
    defaults = {
        "accelerator": "cpu", "devices": 1, "max_steps": STEPS, "logger": False,
        "enable_checkpointing": False, "enable_progress_bar": False, "enable_model_summary": False,
        "default_root_dir": tmp_path,
    }  # fmt: skip
    return Trainer(**{**defaults, **options})


@pytest.mark.parametrize("kind", KINDS + COSINE_KINDS)
def test_every_training_step_trains_with_the_spec_value_of_its_global_step(kind, tmp_path):
    model = Recorder(kind)
    trainer(tmp_path).fit(model)
    assert [step for step, _, _ in model.seen] == list(range(STEPS))
    assert_schedule(kind, model.seen)
    assert model.trainer.lr_scheduler_configs[0].scheduler.last_epoch == STEPS


@pytest.mark.parametrize("kind", ["cyclic-generic", "cyclic-dropin", "onecycle-generic", "onecycle-dropin"])
def test_learning_rate_monitor_logs_the_spec_values(kind, tmp_path):
    logger = MemoryLogger()
    monitor = LearningRateMonitor(logging_interval="step", log_momentum=True)
    model = Recorder(kind)
    trainer(tmp_path, logger=logger, callbacks=[monitor], log_every_n_steps=1).fit(model)
    lrs = {step: value for step, name, value in logger.rows if name == "lr-SGD"}
    momenta = {step: value for step, name, value in logger.rows if name == "lr-SGD-momentum"}
    assert sorted(lrs) == list(range(STEPS)) and sorted(momenta) == list(range(STEPS))
    assert_schedule(kind, [(step, lrs[step], momenta[step]) for step in range(STEPS)])


@pytest.mark.parametrize("kind", [*KINDS, *COSINE_KINDS, "cyclic-numpy", "cyclic-dropin-numpy"])
def test_resume_from_a_mid_epoch_checkpoint_continues_bit_for_bit(kind, tmp_path):
    """``-numpy``: built from numpy scalars, the scheduler's state must still load under Lightning's
    ``torch.load(weights_only=True)`` (a numpy bool kept in the state once made it fail)."""
    whole = Recorder(kind)
    trainer(tmp_path / "whole").fit(whole)

    first = Recorder(kind)
    saver = ModelCheckpoint(dirpath=tmp_path / "ckpt", every_n_train_steps=7, save_top_k=-1)
    trainer(tmp_path / "first", max_steps=7, enable_checkpointing=True, callbacks=[saver]).fit(first)
    (path,) = (tmp_path / "ckpt").iterdir()  # step 7: mid-epoch (5 batches an epoch)

    resumed = Recorder(kind)
    trainer(tmp_path / "resumed").fit(resumed, ckpt_path=path)
    assert [step for step, _, _ in resumed.seen] == list(range(7, STEPS))
    assert first.seen + resumed.seen == whole.seen  # the same floats, step by step
    assert_same_weights(resumed.net, whole.net)
    scheduler = resumed.trainer.lr_scheduler_configs[0].scheduler
    assert scheduler.state_dict() == whole.trainer.lr_scheduler_configs[0].scheduler.state_dict()


class TwoGroupsAdam(Recorder):
    """Two parameter groups (one per layer) under Adam, with a per-group spec: beta1 is the momentum."""

    SPEC = cyclr.CyclicLR(
        base_lr=[0.01, 0.002], max_lr=[0.1, 0.02], step_size_up=3, base_momentum=[0.8, 0.85]
    )

    def configure_optimizers(self) -> dict[str, Any]:
        groups = [{"params": self.net[0].parameters()}, {"params": self.net[2].parameters()}]
        optimizer = torch.optim.Adam(groups, lr=1e-3, betas=(0.9, 0.99))
        scheduler = cyclr.torch.Scheduler(optimizer, self.SPEC)
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "step"}}

    def training_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
        x, y = batch_for(self.global_step)
        return torch.nn.functional.mse_loss(self.net(x), y)


def test_learning_rate_monitor_logs_each_group_and_adams_beta1(tmp_path):
    logger = MemoryLogger()
    monitor = LearningRateMonitor(logging_interval="step", log_momentum=True)
    trainer(tmp_path, logger=logger, callbacks=[monitor], log_every_n_steps=1).fit(TwoGroupsAdam("-"))
    logged = {(step, name): value for step, name, value in logger.rows}
    for step in range(STEPS):
        lrs, momenta = TwoGroupsAdam.SPEC(step)
        for group in range(2):
            assert logged[step, f"lr-Adam/pg{group + 1}"] == lrs[group]
            assert logged[step, f"lr-Adam/pg{group + 1}-momentum"] == momenta[group]


@pytest.mark.parametrize("kind", ["cyclic-generic", "cyclic-dropin", "onecycle-dropin", "cyclic-torch"])
def test_accumulate_grad_batches_steps_the_scheduler_once_per_optimizer_step(kind, tmp_path):
    model = Recorder(kind, accumulate=3, batches=6)  # two optimizer steps an epoch, two epochs
    trainer(tmp_path, max_steps=4, accumulate_grad_batches=3).fit(model)
    # Three micro-batches per optimizer step, each seeing that step's value.
    assert [step for step, _, _ in model.seen] == [step for step in range(4) for _ in range(3)]
    assert_schedule(kind, model.seen)
    assert model.trainer.lr_scheduler_configs[0].scheduler.last_epoch == 4


class WithSpec(LightningModule):
    """A module whose schedule is a hyperparameter: ``save_hyperparameters()`` keeps the spec."""

    def __init__(self, spec: cyclr.CyclicLR, width: int = 8) -> None:
        super().__init__()
        self.save_hyperparameters()
        self.net = tiny_model()

    def training_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
        x, y = batch_for(self.global_step)
        return torch.nn.functional.mse_loss(self.net(x), y)

    def configure_optimizers(self) -> dict[str, Any]:
        optimizer = sgd(self.net)
        scheduler = cyclr.torch.Scheduler(optimizer, self.hparams.spec)
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "step"}}

    def train_dataloader(self) -> torch.utils.data.DataLoader:
        return torch.utils.data.DataLoader(
            torch.utils.data.TensorDataset(torch.zeros(5 * BATCH)), batch_size=BATCH
        )


def _checkpoints_of_a_module_with_a_spec(tmp_path: Any) -> tuple[WithSpec, list[Any]]:
    spec = CYCLIC
    spec(5), spec.lr_at(7), spec.precompute(8)  # used: a spec's caches are filled
    model = WithSpec(spec)
    saver = ModelCheckpoint(dirpath=tmp_path / "ckpt", every_n_train_steps=4, save_top_k=-1)
    trainer(tmp_path, max_steps=8, enable_checkpointing=True, callbacks=[saver]).fit(model)
    paths = sorted((tmp_path / "ckpt").iterdir())
    assert len(paths) == 2
    return model, paths


def _loads_and_resumes(model: WithSpec, path: Any, tmp_path: Any) -> None:
    loaded = WithSpec.load_from_checkpoint(path)
    assert loaded.hparams.spec == CYCLIC and loaded.hparams.width == 8
    assert loaded.hparams.spec(123_456) == CYCLIC(123_456)
    assert_same_weights(loaded.net, model.net)
    resumed = WithSpec(CYCLIC)
    trainer(tmp_path / "resumed", max_steps=10).fit(resumed, ckpt_path=path)
    assert resumed.trainer.lr_scheduler_configs[0].scheduler.last_epoch == 10
    assert resumed.trainer.optimizers[0].param_groups[0]["lr"] == CYCLIC(10)[0]


def test_save_hyperparameters_with_a_spec_loads_with_lightnings_defaults(tmp_path):
    """``load_from_checkpoint`` and ``fit(ckpt_path=...)`` read with ``torch.load(weights_only=True)``
    (torch's default since 2.6): the spec in the hyperparameters must load that way with nothing else to
    do, once ``cyclr.torch`` is imported (it allows ``cyclr.from_dict``, which the spec pickles as)."""
    model, paths = _checkpoints_of_a_module_with_a_spec(tmp_path)
    _loads_and_resumes(model, paths[-1], tmp_path)


def test_a_users_safe_globals_block_loads_and_leaves_the_allowlist_in_place(tmp_path):
    """The documented way without ``cyclr.torch``: ``with torch.serialization.safe_globals(
    [cyclr.from_dict])``. torch removes what such a block lists on exit; Lightning's default load must
    still work after it (in the full suite a block like this once took the allowlist away)."""
    model, paths = _checkpoints_of_a_module_with_a_spec(tmp_path)
    with torch.serialization.safe_globals([cyclr.from_dict]):
        _loads_and_resumes(model, paths[-1], tmp_path / "inside")
    _loads_and_resumes(model, paths[-1], tmp_path / "after")
