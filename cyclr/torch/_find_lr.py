"""The LR range test on a torch model: ``cyclr.find_lr`` with a torch training step, state restored."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor
from torch.optim import Optimizer

from ._checks import _check_optimizer


def _batches(data: Any) -> Any:
    """Batches from ``data`` for as long as they are asked for: a re-iterable source (a DataLoader, a list)
    starts over when it runs out; a one-shot iterator just ends."""
    restartable = iter(data) is not data
    while True:
        empty = True
        for batch in data:
            empty = False
            yield batch
        if empty or not restartable:
            return


def _set_lr(optimizer: Optimizer, lr: float) -> None:
    for group in optimizer.param_groups:
        current = group["lr"]
        if isinstance(current, Tensor):
            current.fill_(lr)
        else:
            group["lr"] = lr


def find_lr(
    model: torch.nn.Module,
    optimizer: Optimizer,
    loss_fn: Callable[[Any, Any], Any],
    data: Any,
    **sweep: Any,
) -> Any:
    r"""Run the LR range test on a torch model, then put the model and the optimizer back as they were.

    For ``k = 0, 1, ...`` until the sweep stops (see ``cyclr.find_lr``): set every group's lr to the
    sweep's ``lr(k)``, take the next batch ``(inputs, targets)`` from ``data``, and train on it::

        optimizer.zero_grad(); loss = loss_fn(model(inputs), targets); loss.backward(); optimizer.step()

    ``data`` is any iterable of ``(inputs, targets)`` pairs (a ``DataLoader``); a re-iterable one starts
    over when it runs out before the sweep does, a one-shot iterator ends the sweep ("incomplete").
    Afterwards (also when something raises) the model's parameters and buffers, every parameter the
    optimizer trains (also one outside the model, such as a learnable loss temperature), the gradients, the
    optimizer's whole state (momentum buffers, step counts, every group's lr and other settings), the
    model's train/eval mode and torch's random number generators are restored bit for bit: training
    after the test continues exactly as if it had not run. Batches are used as they come (move them to
    the model's device in ``loss_fn``'s caller, e.g. with a ``collate_fn``, or write your own
    ``train_step`` for ``cyclr.find_lr``).

    Args:
        model: the ``torch.nn.Module`` to sweep.
        optimizer: its optimizer (any ``torch.optim.Optimizer``).
        loss_fn: ``loss_fn(model(inputs), targets) -> 0-d loss tensor``.
        data: an iterable of ``(inputs, targets)`` batches.
        **sweep: ``start_lr``, ``end_lr``, ``num_steps``, ``mode``, ``smooth``, ``diverge_factor``,
            ``progress``, as ``cyclr.find_lr`` takes them.

    Returns:
        A ``cyclr.RangeTestResult``: ``.suggestion.base_lr``, ``.suggestion.max_lr``, ``.plot()``, ...

    Raises:
        TypeError: ``model`` is not a Module, ``optimizer`` not an Optimizer, ``loss_fn`` not callable, a
            batch is not an ``(inputs, targets)`` pair, or a sweep argument is wrong (as ``cyclr.find_lr``).
        ValueError: a sweep argument breaks its rule; ``data`` holds no batch.

    Anything ``loss_fn`` or the model raises is raised again, after the state is restored.

    Examples:
        >>> import torch, cyclr.torch
        >>> model = torch.nn.Linear(3, 1)
        >>> optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        >>> batches = [(torch.randn(16, 3), torch.randn(16, 1)) for _ in range(10)]
        >>> before = [p.clone() for p in model.parameters()]
        >>> result = cyclr.torch.find_lr(model, optimizer, torch.nn.functional.mse_loss, batches,
        ...                              end_lr=1.0, num_steps=30, progress=False)
        >>> all(torch.equal(a, b) for a, b in zip(before, model.parameters()))
        True
    """
    from ..rangetest import find_lr as sweep_with

    if not isinstance(model, torch.nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    _check_optimizer(optimizer)
    if not callable(loss_fn):
        raise TypeError(f"loss_fn must be callable as loss_fn(outputs, targets), got {loss_fn!r}")
    batches = _batches(data)

    def train_step(lr: float) -> Any:
        _set_lr(optimizer, lr)
        batch = next(batches)  # StopIteration when a one-shot iterator ends: the sweep is "incomplete"
        if not (isinstance(batch, (tuple, list)) and len(batch) == 2):
            kind = type(batch).__name__
            if isinstance(batch, (tuple, list)):
                kind = f"a {kind} of {len(batch)}"
            raise TypeError(
                f"each batch must be an (inputs, targets) pair, got {kind}; for other batches, write a "
                f"train_step(lr) -> loss and call cyclr.find_lr"
            )
        inputs, targets = batch
        optimizer.zero_grad()
        loss = loss_fn(model(inputs), targets)
        loss.backward()
        optimizer.step()
        return loss

    saved = _TrainingState.capture(model, optimizer)
    try:
        model.train()
        return sweep_with(train_step, **sweep)
    finally:
        saved.restore(model, optimizer)


def _copy(value: Any) -> Any:
    """A snapshot of a state value: tensors cloned, containers copied, the rest as is."""
    if isinstance(value, Tensor):
        return value.detach().clone()
    if isinstance(value, (tuple, list)):
        return type(value)(_copy(item) for item in value)
    if isinstance(value, dict):
        return {key: _copy(item) for key, item in value.items()}
    return value


def _put_back(current: Any, saved: Any) -> Any:
    """``saved`` as the value to store, written into ``current``'s tensors where they match: a tensor that
    something else holds on to (a compiled step, a scheduler) stays the same object."""
    if isinstance(saved, Tensor):
        if isinstance(current, Tensor) and current.shape == saved.shape and current.dtype == saved.dtype:
            with torch.no_grad():
                current.copy_(saved)
            return current
        return saved.clone()
    if isinstance(saved, (tuple, list)) and isinstance(current, (tuple, list)) and len(current) == len(saved):
        return type(saved)(_put_back(c, v) for c, v in zip(current, saved, strict=True))
    return _copy(saved)


@dataclass
class _TrainingState:
    """Everything a few training steps change, copied: restoring it makes them never have happened.

    Restored in place (tensors keep their identity: a compiled ``optimizer.step`` and a scheduler holding
    a tensor lr keep working), except what did not exist before, which is removed.
    """

    model: dict[str, Tensor]
    outside: list[tuple[Tensor, Tensor]]  # (parameter, value): trained by the optimizer, not in the model
    gradients: list[tuple[Tensor, Tensor | None]]  # every parameter of the model and the optimizer
    optimizer_state: dict[Any, dict[str, Any]]
    groups: list[dict[str, Any]]
    training: bool
    rng: Tensor
    cuda_rng: list[Tensor] | None

    @classmethod
    def capture(cls, model: torch.nn.Module, optimizer: Optimizer) -> _TrainingState:
        parameters = {id(p): p for p in model.parameters()}
        in_model = set(parameters)
        for group in optimizer.param_groups:
            for p in group["params"]:
                parameters.setdefault(id(p), p)
        return cls(
            model={name: value.detach().clone() for name, value in model.state_dict(keep_vars=True).items()},
            outside=[(p, p.detach().clone()) for key, p in parameters.items() if key not in in_model],
            gradients=[(p, None if p.grad is None else p.grad.detach().clone()) for p in parameters.values()],
            optimizer_state={
                parameter: _copy(dict(entries)) for parameter, entries in optimizer.state.items()
            },
            groups=[
                {key: _copy(value) for key, value in group.items() if key != "params"}
                for group in optimizer.param_groups
            ],
            training=model.training,
            rng=torch.get_rng_state(),
            cuda_rng=torch.cuda.get_rng_state_all() if torch.cuda.is_initialized() else None,
        )

    def restore(self, model: torch.nn.Module, optimizer: Optimizer) -> None:
        with torch.no_grad():
            for name, value in model.state_dict(keep_vars=True).items():
                value.copy_(self.model[name])
            for parameter, value in self.outside:
                parameter.copy_(value)
        for parameter, gradient in self.gradients:
            parameter.grad = gradient
        for parameter in [p for p in optimizer.state if p not in self.optimizer_state]:
            del optimizer.state[parameter]  # momentum buffers the sweep created
        for parameter, saved in self.optimizer_state.items():
            live = optimizer.state[parameter]
            for key in [key for key in live if key not in saved]:
                del live[key]
            for key, value in saved.items():
                live[key] = _put_back(live.get(key), value)
        for group, saved in zip(optimizer.param_groups, self.groups, strict=False):
            for key in [key for key in group if key != "params" and key not in saved]:
                del group[key]
            for key, value in saved.items():
                group[key] = _put_back(group.get(key), value)
        model.train(self.training)
        torch.set_rng_state(self.rng)
        if self.cuda_rng is not None:
            torch.cuda.set_rng_state_all(self.cuda_rng)
