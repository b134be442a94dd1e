"""RangeTestResult: read-only arrays, the suggestion, plain data."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

import cyclr
from cyclr.rangetest import (
    RangeTestResult,
    find_lr,
    suggest,
)


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
