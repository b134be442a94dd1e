"""``cyclr.torch.get_scheduler`` against the real ``transformers.get_scheduler``: names, errors, values.

transformers' schedulers are ``LambdaLR``: ``group lr = initial lr * factor(step)``, the factor computed
in float64 from numbers in [0, 1]. Each factor (theirs and the spec's) carries an absolute error of a few
float64 ulps of 1 (not of the value: ``1 - t/D`` and ``1 + cos(x)`` cancel near the end of a decay), so
the honest comparison is relative to the group's initial lr: ``|ours - theirs| <= 1e-12 * initial lr``
(``oracle.assert_close``: relative to the value or to the column's largest value). That tolerance is
about 4,500 times the few-ulp error budget, and far below any difference a formula error would make
(an off-by-one step moves a value by ~1/N of the lr).
"""

from __future__ import annotations

import copy
import pickle
import warnings

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from oracle import assert_close

transformers = pytest.importorskip("transformers")
from transformers import get_scheduler as hf_get_scheduler  # noqa: E402
from transformers.trainer_utils import SchedulerType  # noqa: E402

import cyclr  # noqa: E402
import cyclr.torch  # noqa: E402
from cyclr.torch import get_scheduler, get_spec  # noqa: E402

LRS = (0.1, 0.03, 0.25)  # three groups; the optimizer's default lr is the first


def make_optimizer(lrs=LRS) -> torch.optim.Optimizer:
    groups = [{"params": [torch.nn.Parameter(torch.zeros(1))], "lr": lr} for lr in lrs]
    return torch.optim.AdamW(groups, lr=lrs[0])


def hf_values(name, steps, lrs=LRS, **arguments) -> np.ndarray:
    """transformers' lrs at ``steps``: its LambdaLR's ``initial_lr * lambda(step)`` (what step() sets)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        scheduler = hf_get_scheduler(name, make_optimizer(lrs), **arguments)
    return np.array(
        [[lr * fn(int(k)) for lr, fn in zip(scheduler.base_lrs, scheduler.lr_lambdas)] for k in steps]
    )


def stepped(scheduler, optimizer, count: int) -> np.ndarray:
    """The group lrs after 0, 1, ... count - 1 steps of ``scheduler``."""
    seen = []
    for k in range(count):
        seen.append([float(group["lr"]) for group in optimizer.param_groups])
        if k < count - 1:
            optimizer.step()
            scheduler.step()
    return np.array(seen)


CASES = {
    "linear": dict(num_warmup_steps=10, num_training_steps=100),
    "linear-no-warmup": dict(name="linear", num_warmup_steps=0, num_training_steps=77),
    "cosine": dict(num_warmup_steps=7, num_training_steps=90),
    "cosine-cycles": dict(name="cosine", num_warmup_steps=3, num_training_steps=80,
                          scheduler_specific_kwargs={"num_cycles": 1.75}),
    "cosine_with_restarts": dict(num_warmup_steps=5, num_training_steps=95,
                                 scheduler_specific_kwargs={"num_cycles": 3}),
    "polynomial": dict(num_warmup_steps=4, num_training_steps=60,
                       scheduler_specific_kwargs={"lr_end": 1e-3, "power": 2.0}),
    "constant": dict(),
    "constant_with_warmup": dict(num_warmup_steps=9),
    "inverse_sqrt": dict(num_warmup_steps=12),
    "inverse_sqrt-timescale": dict(name="inverse_sqrt", num_warmup_steps=0,
                                   scheduler_specific_kwargs={"timescale": 7}),
    "cosine_with_min_lr": dict(num_warmup_steps=6, num_training_steps=70,
                               scheduler_specific_kwargs={"min_lr": 1e-3}),
    "cosine_with_min_lr-rate": dict(name="cosine_with_min_lr", num_warmup_steps=0, num_training_steps=40,
                                    scheduler_specific_kwargs={"min_lr_rate": 0.1, "num_cycles": 1.0}),
    "cosine_warmup_with_min_lr": dict(num_warmup_steps=8, num_training_steps=70,
                                      scheduler_specific_kwargs={"min_lr_rate": 0.05}),
    "cosine_warmup_with_min_lr-rate": dict(name="cosine_warmup_with_min_lr", num_warmup_steps=5,
                                           num_training_steps=50,
                                           scheduler_specific_kwargs={"min_lr": 1e-3, "warmup_lr_rate": 0.2}),
    "cosine_warmup_with_min_lr-W0": dict(name="cosine_warmup_with_min_lr", num_warmup_steps=0,
                                         num_training_steps=30, scheduler_specific_kwargs={"min_lr_rate": 0.1}),
    "cosine_warmup_with_min_lr-W1": dict(name="cosine_warmup_with_min_lr", num_warmup_steps=1,
                                         num_training_steps=30, scheduler_specific_kwargs={"min_lr_rate": 0.1}),
    "cosine_warmup_with_min_lr-W1-rate": dict(name="cosine_warmup_with_min_lr", num_warmup_steps=1,
                                              num_training_steps=30,
                                              scheduler_specific_kwargs={"min_lr_rate": 0.1, "warmup_lr_rate": 0.3}),
    "warmup_stable_decay": dict(num_warmup_steps=10, num_training_steps=100,
                                scheduler_specific_kwargs={"num_decay_steps": 20}),
    "warmup_stable_decay-types": dict(name="warmup_stable_decay", num_warmup_steps=6,
                                      scheduler_specific_kwargs={"num_decay_steps": 15, "num_stable_steps": 30,
                                                                 "warmup_type": "1-sqrt", "decay_type": "1-sqrt",
                                                                 "min_lr_ratio": 0.1}),
}  # fmt: skip


def arguments_of(case: str) -> tuple[str, dict]:
    arguments = dict(CASES[case])
    return arguments.pop("name", case), arguments


@pytest.mark.parametrize("case", list(CASES))
def test_whole_runs_set_transformers_lrs_in_every_group(case):
    """Stepped past the end of training (where each name has its own behaviour), three groups."""
    name, arguments = arguments_of(case)
    count = arguments.get("num_training_steps") or 60
    count += 25
    optimizer = make_optimizer()
    scheduler = get_scheduler(name, optimizer, **arguments)
    ours = stepped(scheduler, optimizer, count)
    assert_close(ours, hf_values(name, range(count), **arguments), what=case)
    # The scheduler sets its public spec's values, bit for bit.
    assert isinstance(scheduler, cyclr.torch.Scheduler)
    np.testing.assert_array_equal(ours, scheduler.spec.lr_at(np.arange(count)))


@pytest.mark.parametrize("case", list(CASES))
def test_get_spec_is_the_schedulers_spec(case):
    name, arguments = arguments_of(case)
    spec = get_spec(name, list(LRS), default_lr=LRS[0], **arguments)
    assert spec == get_scheduler(name, make_optimizer(), **arguments).spec
    assert cyclr.from_dict(spec.to_dict()) == spec


def test_one_group_gives_a_spec_without_groups():
    spec = get_scheduler("cosine", make_optimizer([0.1]), 2, 20).spec
    assert spec.groups is None and spec.lr_at(2) == 0.1


def test_schedulertype_names_are_accepted():
    for member in SchedulerType:
        if member.value in ("reduce_lr_on_plateau", "greedy"):
            continue
        arguments = dict(num_warmup_steps=2, num_training_steps=20)
        if member.value == "warmup_stable_decay":
            arguments["scheduler_specific_kwargs"] = {"num_decay_steps": 5}
        if "min_lr" in member.value:
            arguments["scheduler_specific_kwargs"] = {"min_lr_rate": 0.1}
        assert (
            get_scheduler(member, make_optimizer(), **arguments).spec
            == get_scheduler(member.value, make_optimizer(), **arguments).spec
        )


# -- random parameters, whole runs ------------------------------------------------------------------------


@st.composite
def hf_case(draw: st.DrawFn) -> tuple[str, dict]:
    name = draw(st.sampled_from([n for n in CASES if "-" not in n]))
    W = draw(st.integers(0, 40))
    N = W + draw(st.integers(1, 300))
    kwargs: dict = {}
    if name in ("cosine", "cosine_with_min_lr", "cosine_warmup_with_min_lr"):
        kwargs["num_cycles"] = draw(st.sampled_from([0.5, 1.0, 2.5]) | st.floats(0.05, 4.0))
    if name == "cosine_with_restarts":
        kwargs["num_cycles"] = draw(st.integers(1, 7) | st.floats(0.3, 5.0))
    if name == "polynomial":
        kwargs["lr_end"] = draw(st.floats(0.0, 0.09))
        kwargs["power"] = draw(st.floats(0.1, 4.0))
    if name == "inverse_sqrt" and draw(st.booleans()):
        kwargs["timescale"] = draw(st.integers(1, 10_000))
    if name in ("cosine_with_min_lr", "cosine_warmup_with_min_lr"):
        kwargs["min_lr_rate"] = draw(st.floats(0.0, 1.0))
    if name == "cosine_warmup_with_min_lr" and draw(st.booleans()):
        kwargs["warmup_lr_rate"] = draw(st.floats(0.0, 1.0))
    if name == "warmup_stable_decay":
        kwargs["num_decay_steps"] = draw(st.integers(0, N - W))
        kwargs["warmup_type"] = draw(st.sampled_from(["linear", "cosine", "1-sqrt"]))
        kwargs["decay_type"] = draw(st.sampled_from(["linear", "cosine", "1-sqrt"]))
        kwargs["min_lr_ratio"] = draw(st.floats(0.0, 1.0))
        kwargs["num_cycles"] = draw(st.floats(0.1, 2.0))
    arguments = {"num_warmup_steps": W, "num_training_steps": N, "scheduler_specific_kwargs": kwargs}
    if name == "constant":
        arguments = {}
    if name in ("constant_with_warmup", "inverse_sqrt"):
        arguments.pop("num_training_steps")
    return name, arguments


@given(hf_case(), st.lists(st.floats(1e-6, 10.0), min_size=1, max_size=3))
def test_random_parameters_whole_runs(case, lrs):
    name, arguments = case
    count = (arguments.get("num_training_steps") or 200) + 30
    spec = get_spec(name, lrs, default_lr=lrs[0], **arguments)
    values = spec.lr_at(np.arange(count))
    assert_close(values.reshape(count, -1), hf_values(name, range(count), lrs=lrs, **arguments))


def test_hard_restarts_are_placed_with_integers():
    """transformers' ``(num_cycles * progress) % 1.0`` is a float: where ``num_cycles * step /
    decay_steps`` is a whole number it may land an ulp below it and give the end of a cycle (lr 0)
    instead of its restart (the full lr). cyclr locates restarts with integers: at each restart the lr
    is the full lr. For the examples here transformers agrees (the comparison above covers them)."""
    spec = get_spec("cosine_with_restarts", 1.0, 0, 300, {"num_cycles": 3})
    np.testing.assert_array_equal(spec.lr_at(np.array([0, 100, 200])), [1.0, 1.0, 1.0])
    assert spec.lr_at(300) == 0.0


# -- float32 under cyclr.jax ------------------------------------------------------------------------------


@pytest.mark.parametrize("case", list(CASES))
def test_the_spec_in_jax_float32_is_within_2_ulps_of_transformers(case):
    jax = pytest.importorskip("jax")
    from float32_oracle import float32_ulps

    import cyclr.jax

    name, arguments = arguments_of(case)
    count = (arguments.get("num_training_steps") or 60) + 25
    spec = get_spec(name, list(LRS), default_lr=LRS[0], **arguments)
    theirs = hf_values(name, range(count), **arguments)
    for group in range(len(LRS)):
        schedule = jax.jit(cyclr.jax.lr_schedule(spec, group=group))
        ours = np.asarray(schedule(np.arange(count, dtype=np.int32)), dtype=np.float64)
        assert float32_ulps(ours, theirs[:, group], cancelling=LRS[group]) <= 2, (case, group)


# -- errors: transformers' own, and the refusals ------------------------------------------------------------


def hf_error(name, **arguments) -> BaseException:
    with pytest.raises((ValueError, TypeError)) as caught:
        hf_get_scheduler(name, make_optimizer(), **arguments)
    return caught.value


@pytest.mark.parametrize(
    "name, arguments",
    [
        ("linear", {}),
        ("cosine", {"num_warmup_steps": 3}),
        ("cosine_with_restarts", {"num_warmup_steps": 3}),
        ("polynomial", {"num_warmup_steps": 3}),
        ("constant_with_warmup", {}),
        ("inverse_sqrt", {}),
        ("cosine_with_min_lr", {"num_warmup_steps": 3}),
        ("warmup_stable_decay", {}),
        ("bogus", {}),
    ],
)
def test_missing_arguments_raise_transformers_errors(name, arguments):
    expected = hf_error(name, **arguments)
    with pytest.raises(type(expected)) as caught:
        get_scheduler(name, make_optimizer(), **arguments)
    assert str(caught.value) == str(expected).replace("SchedulerType.", "").lower() or str(
        caught.value
    ) == str(expected)


def test_the_missing_argument_messages_name_the_schedule():
    with pytest.raises(
        ValueError, match=r"cosine requires `num_training_steps`, please provide that argument"
    ):
        get_scheduler("cosine", make_optimizer(), num_warmup_steps=3)
    with pytest.raises(ValueError, match=r"linear requires `num_warmup_steps`"):
        get_scheduler("linear", make_optimizer())


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"min_lr": 1e-3, "min_lr_rate": 0.1}, "Only one of min_lr or min_lr_rate should be set"),
        ({}, "One of min_lr or min_lr_rate should be set through the `lr_scheduler_kwargs`"),
    ],
)
def test_min_lr_errors_are_transformers(kwargs, message):
    for name in ("cosine_with_min_lr", "cosine_warmup_with_min_lr"):
        with pytest.raises(ValueError, match=message):
            hf_get_scheduler(name, make_optimizer(), 2, 20, kwargs)
        with pytest.raises(ValueError, match=message):
            get_scheduler(name, make_optimizer(), 2, 20, kwargs)


def test_lr_end_above_the_initial_lr_is_transformers_error():
    message = r"lr_end \(0\.5\) must be smaller than initial lr \(0\.1\)"
    with pytest.raises(ValueError, match=message):
        hf_get_scheduler("polynomial", make_optimizer(), 2, 20, {"lr_end": 0.5})
    with pytest.raises(ValueError, match=message):
        get_scheduler("polynomial", make_optimizer(), 2, 20, {"lr_end": 0.5})


def test_a_keyword_the_schedule_does_not_take_is_a_type_error():
    with pytest.raises(TypeError):
        hf_get_scheduler("linear", make_optimizer(), 2, 20, {"num_cycles": 2})
    with pytest.raises(TypeError, match=r"linear got unexpected scheduler_specific_kwargs \['num_cycles'\]"):
        get_scheduler("linear", make_optimizer(), 2, 20, {"num_cycles": 2})


def test_wsd_without_decay_steps_is_a_type_error():
    with pytest.raises(TypeError):
        hf_get_scheduler("warmup_stable_decay", make_optimizer(), 2, 20)
    with pytest.raises(TypeError, match="warmup_stable_decay requires num_decay_steps"):
        get_scheduler("warmup_stable_decay", make_optimizer(), 2, 20)


def test_wsd_with_both_totals_warns_and_takes_the_stable_steps_as_transformers():
    kwargs = {"num_decay_steps": 5, "num_stable_steps": 10}
    with pytest.warns(UserWarning, match="num_stable_steps will be used"):
        ours = get_scheduler("warmup_stable_decay", make_optimizer(), 2, 100, kwargs)
    assert ours.spec.stable_steps == 10
    theirs = hf_values(
        "warmup_stable_decay", range(30), num_warmup_steps=2, num_training_steps=100,
        scheduler_specific_kwargs=kwargs,
    )  # fmt: skip
    assert_close(ours.spec.lr_at(np.arange(30)), theirs)


@pytest.mark.parametrize("name", ["reduce_lr_on_plateau", "greedy"])
def test_metric_driven_schedulers_are_refused_with_the_reason(name):
    with pytest.raises(ValueError, match=rf"{name} is driven by a metric .* not a pure function of the step"):
        get_scheduler(name, make_optimizer(), 2, 20)
    with pytest.raises(ValueError, match="not a pure function of the step"):
        get_spec(name, 0.1)


@pytest.mark.parametrize("name", ["linear", "cosine", "polynomial", "cosine_warmup_with_min_lr"])
def test_a_decay_with_no_steps_after_the_warmup_is_refused(name):
    kwargs = {"min_lr_rate": 0.1} if "min_lr" in name else {}
    with pytest.raises(
        ValueError,
        match=r"needs num_training_steps > num_warmup_steps.*got num_training_steps=10, num_warmup_steps=10",
    ):
        get_scheduler(name, make_optimizer(), 10, 10, kwargs)


def test_bad_step_counts_name_the_parameter():
    with pytest.raises(TypeError, match="num_warmup_steps must be an integer, got 2.5"):
        get_scheduler("linear", make_optimizer(), 2.5, 20)
    with pytest.raises(ValueError, match="num_warmup_steps must be an integer >= 0, got -1"):
        get_scheduler("linear", make_optimizer(), -1, 20)


def test_grouped_lrs_need_the_default_lr_for_relative_arguments():
    with pytest.raises(ValueError, match=r"pass default_lr to get_spec"):
        get_spec("polynomial", [0.1, 0.2], 2, 20)
    spec = get_spec("polynomial", [0.1, 0.2], 2, 20, default_lr=0.1)
    assert spec.groups == 2


def test_kwargs_must_be_a_mapping():
    with pytest.raises(
        TypeError, match=r"scheduler_specific_kwargs must be a dict of keyword arguments or None, got \[1\]"
    ):
        get_scheduler("cosine", make_optimizer(), 2, 20, [1])


def test_a_floor_above_the_peak_or_a_negative_end_is_refused():
    with pytest.raises(ValueError, match="alpha must be <= 1.0"):
        get_scheduler("cosine_with_min_lr", make_optimizer(), 2, 20, {"min_lr": 1.0})
    with pytest.raises(ValueError, match="end_lr"):
        get_scheduler("polynomial", make_optimizer(), 2, 20, {"lr_end": -0.1})


def test_not_an_optimizer():
    with pytest.raises(TypeError):
        get_scheduler("linear", "sgd", 2, 20)


# -- state: pickle, state_dict, resume --------------------------------------------------------------------


def test_the_scheduler_pickles_saves_and_resumes():
    optimizer = make_optimizer()
    scheduler = get_scheduler("cosine", optimizer, 3, 40)
    stepped(scheduler, optimizer, 11)
    state = scheduler.state_dict()
    again = pickle.loads(pickle.dumps(state))
    assert again == copy.deepcopy(state)
    other_optimizer = make_optimizer()
    other = get_scheduler("cosine", other_optimizer, 3, 40)
    other.load_state_dict(state)
    for _ in range(5):
        optimizer.step(), scheduler.step(), other_optimizer.step(), other.step()
    assert other.get_last_lr() == scheduler.get_last_lr()


def test_last_epoch_is_refused_resume_with_the_state_dict():
    with pytest.raises(TypeError, match="last_epoch is not taken here"):
        get_scheduler("linear", make_optimizer(), 3, 40, {"last_epoch": 6})
