"""cyclr.torch.find_lr: the range test on a torch model, and a bit-identical restore afterwards."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch

import cyclr
import cyclr.torch


def make_model(seed: int = 0) -> torch.nn.Module:
    torch.manual_seed(seed)
    return torch.nn.Sequential(
        torch.nn.Linear(8, 16), torch.nn.BatchNorm1d(16), torch.nn.ReLU(), torch.nn.Dropout(0.2), torch.nn.Linear(16, 3)
    )


def make_data(count: int = 12, seed: int = 1) -> list[tuple[torch.Tensor, torch.Tensor]]:
    generator = torch.Generator().manual_seed(seed)
    batches = []
    for _ in range(count):
        inputs = torch.randn(32, 8, generator=generator)
        batches.append((inputs, (inputs[:, 0] > 0).long() + (inputs[:, 1] > 0).long()))
    return batches


def train(model, optimizer, data, steps):
    model.train()
    for step in range(steps):
        inputs, targets = data[step % len(data)]
        optimizer.zero_grad()
        torch.nn.functional.cross_entropy(model(inputs), targets).backward()
        optimizer.step()


def snapshot(model, optimizer):
    return (
        {name: value.clone() for name, value in model.state_dict().items()},
        [None if p.grad is None else p.grad.clone() for p in model.parameters()],
        copy.deepcopy(optimizer.state_dict()),
        model.training,
        torch.get_rng_state(),
    )


def assert_same(a, b):
    if isinstance(a, torch.Tensor):
        assert isinstance(b, torch.Tensor) and a.dtype == b.dtype and torch.equal(a, b)
    elif isinstance(a, dict):
        assert a.keys() == b.keys()
        for key in a:
            assert_same(a[key], b[key])
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            assert_same(x, y)
    else:
        assert a == b


@pytest.mark.parametrize("make_optimizer", [
    lambda params: torch.optim.SGD(params, lr=0.05, momentum=0.9),
    lambda params: torch.optim.Adam(params, lr=torch.tensor(0.01), betas=(torch.tensor(0.9), torch.tensor(0.99))),
    lambda params: torch.optim.AdamW(params, lr=0.01, weight_decay=0.1),
], ids=["sgd", "adam-tensor-hyperparameters", "adamw"])
def test_everything_is_restored_bit_for_bit(make_optimizer):
    model = make_model()
    optimizer = make_optimizer(model.parameters())
    data = make_data()
    train(model, optimizer, data, 5)  # momentum buffers, step counts, gradients, BatchNorm statistics
    model.eval()
    before = snapshot(model, optimizer)
    held = {(id(p), key): value for p, entries in optimizer.state.items() for key, value in entries.items()}
    held.update({(index, key): value for index, group in enumerate(optimizer.param_groups)
                 for key, value in group.items() if isinstance(value, torch.Tensor)})
    result = cyclr.torch.find_lr(model, optimizer, torch.nn.functional.cross_entropy, data, end_lr=100.0, progress=False)
    assert len(result.lrs) > 10
    assert_same(before, snapshot(model, optimizer))
    # the tensors a compiled step or a scheduler holds on to are still the optimizer's own objects
    after = {(id(p), key): value for p, entries in optimizer.state.items() for key, value in entries.items()}
    after.update({(index, key): value for index, group in enumerate(optimizer.param_groups)
                  for key, value in group.items() if isinstance(value, torch.Tensor)})
    assert after.keys() == held.keys() and all(after[key] is held[key] for key in held)


def test_training_after_the_test_is_as_if_it_never_ran():
    data = make_data()
    twins = []
    for run_the_test in (False, True):
        model = make_model()
        optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
        torch.manual_seed(7)
        train(model, optimizer, data, 6)
        if run_the_test:
            cyclr.torch.find_lr(model, optimizer, torch.nn.functional.cross_entropy, data, progress=False)
        train(model, optimizer, data, 6)  # dropout draws from torch's generator: restored too
        twins.append(model.state_dict())
    assert_same(twins[0], twins[1])


def test_buffers_created_by_the_sweep_are_removed():
    model = make_model()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    assert not optimizer.state
    cyclr.torch.find_lr(model, optimizer, torch.nn.functional.cross_entropy, make_data(), num_steps=20, progress=False)
    assert not optimizer.state and all(p.grad is None for p in model.parameters())


def test_the_sweep_is_cyclr_find_lr_on_the_same_training_step():
    data = make_data()
    model, copy_model = make_model(), make_model()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    copy_optimizer = torch.optim.SGD(copy_model.parameters(), lr=0.05, momentum=0.9)
    torch.manual_seed(3)
    ours = cyclr.torch.find_lr(model, optimizer, torch.nn.functional.cross_entropy, data, num_steps=60, progress=False)
    batches = iter(data * 10)

    def train_step(lr):
        for group in copy_optimizer.param_groups:
            group["lr"] = lr
        inputs, targets = next(batches)
        copy_optimizer.zero_grad()
        loss = torch.nn.functional.cross_entropy(copy_model(inputs), targets)
        loss.backward()
        copy_optimizer.step()
        return loss

    torch.manual_seed(3)
    copy_model.train()
    theirs = cyclr.find_lr(train_step, num_steps=60, progress=False)
    assert np.array_equal(ours.lrs, theirs.lrs) and np.array_equal(ours.losses, theirs.losses)
    assert ours.reason == theirs.reason


def test_the_suggestion_brackets_where_the_loss_falls():
    torch.manual_seed(0)
    inputs = torch.randn(2048, 8)
    targets = (inputs[:, 0] > 0).long() + (inputs[:, 1] > 0).long()
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(inputs, targets), batch_size=32, shuffle=True)
    model = torch.nn.Sequential(torch.nn.Linear(8, 32), torch.nn.ReLU(), torch.nn.Linear(32, 3))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    result = cyclr.torch.find_lr(model, optimizer, torch.nn.functional.cross_entropy, loader,
                                 start_lr=1e-5, end_lr=10.0, num_steps=150, progress=False)
    suggestion = result.suggestion
    assert 1e-5 < suggestion.base_lr < suggestion.max_lr < 10.0
    curve = np.interp(np.log([suggestion.base_lr, suggestion.max_lr]), np.log(suggestion.curve_lrs), suggestion.curve_losses)
    assert curve[1] < curve[0]  # the loss falls across the suggested range


def test_reiterable_data_starts_over_and_an_iterator_ends_the_sweep():
    model = make_model()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    few = make_data(count=3)
    result = cyclr.torch.find_lr(model, optimizer, torch.nn.functional.cross_entropy, few,
                                 end_lr=1e-3, num_steps=20, progress=False)
    assert result.reason == "finished" and len(result.lrs) == 20
    result = cyclr.torch.find_lr(model, optimizer, torch.nn.functional.cross_entropy, iter(make_data(count=5)),
                                 end_lr=1e-3, num_steps=20, progress=False)
    assert result.reason == "incomplete" and result.stopped_at == 4


def test_an_error_in_training_restores_the_state_and_is_raised():
    model = make_model()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    data = make_data()
    train(model, optimizer, data, 3)
    before = snapshot(model, optimizer)
    calls = []

    def failing_loss(outputs, targets):
        calls.append(1)
        if len(calls) == 7:
            raise RuntimeError("out of memory, say")
        return torch.nn.functional.cross_entropy(outputs, targets)

    with pytest.raises(RuntimeError, match="out of memory, say"):
        cyclr.torch.find_lr(model, optimizer, failing_loss, data, progress=False)
    assert_same(before, snapshot(model, optimizer))


# -- errors --------------------------------------------------------------------------------------------


def test_errors():
    model = make_model()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
    loss = torch.nn.functional.cross_entropy
    with pytest.raises(TypeError, match=r"model must be a torch.nn.Module, got function"):
        cyclr.torch.find_lr(lambda x: x, optimizer, loss, make_data())
    with pytest.raises(TypeError, match=r"dict is not an Optimizer"):
        cyclr.torch.find_lr(model, {"lr": 0.1}, loss, make_data())
    with pytest.raises(TypeError, match=r"loss_fn must be callable"):
        cyclr.torch.find_lr(model, optimizer, "mse", make_data())
    with pytest.raises(TypeError, match=r"each batch must be an \(inputs, targets\) pair, got a tuple of 3"):
        cyclr.torch.find_lr(model, optimizer, loss, [(1, 2, 3)], progress=False)
    with pytest.raises(ValueError, match=r"train_step raised StopIteration before its first loss"):
        cyclr.torch.find_lr(model, optimizer, loss, [], progress=False)
    with pytest.raises(ValueError, match=r"end_lr must be > start_lr"):
        cyclr.torch.find_lr(model, optimizer, loss, make_data(), start_lr=1.0, end_lr=0.1)


@pytest.mark.parametrize("with_grad", [False, True])
def test_a_parameter_trained_outside_the_model_is_restored_with_its_grad(with_grad):
    model, data = make_model(), make_data()
    temperature = torch.nn.Parameter(torch.tensor(1.0))  # a learnable loss temperature: not in the model
    optimizer = torch.optim.SGD([{"params": model.parameters()}, {"params": [temperature], "lr": 0.01}],
                                lr=0.05, momentum=0.9)
    if with_grad:
        temperature.grad = torch.tensor(0.25)

    def loss_fn(outputs, targets):
        return torch.nn.functional.cross_entropy(outputs / temperature, targets)

    before = snapshot(model, optimizer)
    cyclr.torch.find_lr(model, optimizer, loss_fn, data, end_lr=10.0, num_steps=30, progress=False)
    assert temperature.item() == 1.0
    assert (temperature.grad is None) if not with_grad else torch.equal(temperature.grad, torch.tensor(0.25))
    assert_same(snapshot(model, optimizer), before)
