"""RangeTestResult: read-only arrays, the suggestion, plain data."""

from __future__ import annotations

import copy
import json
import math
import pickle

import numpy as np
import pytest

import cyclr
from cyclr.rangetest import RangeTestResult, find_lr, suggest


def test_result_holds_read_only_arrays(result):
    assert result.reason == "diverged" and result.stopped_at == len(result.lrs) - 1
    for array in (result.lrs, result.losses, result.smoothed):
        assert array.dtype == np.float64 and not array.flags.writeable
    with pytest.raises(AttributeError):
        result.reason = "finished"  # type: ignore[misc]
    assert repr(result) == "RangeTestResult(points=90, lrs=1e-07..1.56, stopped_at=89, reason='diverged')"


def test_result_suggestion_is_suggest_on_the_raw_losses(result):
    assert result.suggestion == suggest(result.lrs, result.losses)
    assert result.suggestion is result.suggestion  # computed once
    assert 1e-4 < result.suggestion.base_lr < 1e-3 < result.suggestion.max_lr < 1e-2


def test_result_without_a_suggestion_says_why():
    result = find_lr(lambda lr: 1.0 if lr < 3e-7 else math.nan, progress=False)
    with pytest.raises(
        ValueError, match=r"at least 10 finite losses.*\(the sweep stopped at step \d+: non-finite\)"
    ):
        result.suggestion  # noqa: B018


def test_result_to_dict_is_json(result):
    data = json.loads(json.dumps(result.to_dict()))
    assert data["reason"] == "diverged" and data["stopped_at"] == 89
    assert data["lrs"] == result.lrs.tolist() and data["losses"] == result.losses.tolist()
    assert cyclr.from_dict(data["spec"]) == result.spec


def test_result_rejects_an_unknown_reason():
    with pytest.raises(
        ValueError,
        match=r"reason must be one of \['finished', 'diverged', 'non-finite', 'incomplete', 'interrupted'\]",
    ):
        RangeTestResult(np.ones(2), np.ones(2), np.ones(2), 1, "stopped")


def test_result_round_trips_through_to_dict(result):
    again = RangeTestResult.from_dict(json.loads(json.dumps(result.to_dict())))
    assert again.to_dict() == result.to_dict()
    assert again.spec == result.spec and again.suggestion == result.suggestion
    elsewhere = RangeTestResult(np.ones(2), np.ones(2), np.ones(2), 1, "finished")
    assert RangeTestResult.from_dict(elsewhere.to_dict()).spec is None


@pytest.mark.parametrize("used", [False, True], ids=["fresh", "suggestion computed"])
def test_result_pickles_and_copies_without_its_cache(result, used):
    if used:
        result.suggestion  # noqa: B018 - cached now
    for again in (pickle.loads(pickle.dumps(result)), copy.deepcopy(result), copy.copy(result)):
        assert again.to_dict() == result.to_dict()
        assert all(not array.flags.writeable for array in (again.lrs, again.losses, again.smoothed))
        assert again.suggestion == result.suggestion
    assert "suggestion" not in result.__getstate__()
    assert b"curve_losses" not in pickle.dumps(result)  # the cached Suggestion is not saved


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        (
            {"losses": np.ones(3)},
            ValueError,
            r"lrs, losses and smoothed must have stopped_at \+ 1 = 2 points",
        ),
        (
            {"stopped_at": 5},
            ValueError,
            r"lrs, losses and smoothed must have stopped_at \+ 1 = 6 points, got 2",
        ),
        ({"stopped_at": -1}, ValueError, r"stopped_at must be an integer >= 0, got -1"),
        ({"stopped_at": 1.0}, TypeError, r"stopped_at must be an integer, got 1.0"),
        ({"spec": "LRRangeTest"}, TypeError, r"spec must be an LRRangeTest or None, got 'LRRangeTest'"),
        ({"lrs": [[1.0, 2.0]]}, ValueError, r"lrs must be 1-d"),
    ],
)
def test_result_checks_its_fields(kwargs, error, message):
    fields = {
        "lrs": np.ones(2),
        "losses": np.ones(2),
        "smoothed": np.ones(2),
        "stopped_at": 1,
        "reason": "finished",
    }
    with pytest.raises(error, match=message):
        RangeTestResult(**{**fields, **kwargs})
