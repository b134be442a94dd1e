"""`cyclr config`: a config file a user can edit, read back by --config into the same spec."""

from __future__ import annotations

import json

import pytest
import tomllib
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from strategies import cyclic_kwargs, one_cycle_kwargs

import cyclr
from cyclr.cli import main
from cyclr.cli._options import to_toml


def run(capsys, *argv):
    status = main([str(arg) for arg in argv])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


@pytest.mark.parametrize("suffix", [".toml", ".json", ".TOML"])
@pytest.mark.parametrize(
    "flags",
    [
        ["--schedule", "one-cycle", "--max-lr", "0.1", "--total-steps", "1000", "--three-phase"],
        ["--mode", "exp_range", "--gamma", "0.999", "--base-lr", "0.001,0.01", "--max-lr", "0.1,0.2"],
        ["--schedule", "sgdr", "--base-lr", "0.1", "--T-0", "10", "--T-mult", "2", "--warmup-steps", "5"],
        ["--schedule", "cosine", "--base-lr", "0.1", "--T-max", "100", "--eta-min", "1e-05"],
    ],
)
def test_config_round_trips_through_config(capsys, tmp_path, monkeypatch, suffix, flags):
    monkeypatch.chdir(tmp_path)
    status, out, err = run(capsys, "config", "-o", f"s{suffix}", *flags)
    assert status == 0, err
    assert out.strip() == f"wrote s{suffix}"
    status, direct, _ = run(capsys, "show", "--steps", "0,7,1000", *flags)
    assert status == 0
    status, via_config, err = run(capsys, "show", "--steps", "0,7,1000", "--config", f"s{suffix}")
    assert status == 0, err
    assert via_config == direct


def test_config_prints_toml_without_none(capsys):
    status, out, _ = run(capsys, "config", "--step-size-up", "10")
    assert status == 0
    data = tomllib.loads(out)
    assert data["schedule"] == "CyclicLR" and data["step_size_up"] == 10 and "scale_fn" not in data
    assert "None" not in out and "null" not in out
    assert cyclr.from_dict(data) == cyclr.CyclicLR(step_size_up=10)


def test_config_json(capsys):
    status, out, _ = run(
        capsys, "config", "--format", "json", "--schedule", "cosine", "--base-lr", "0.1", "--T-max", "9"
    )
    assert status == 0 and cyclr.from_dict(json.loads(out)) == cyclr.CosineAnnealingLR(0.1, 9)


def test_config_refuses_an_unknown_extension_and_an_existing_file(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    status, _, err = run(capsys, "config", "-o", "s.yaml")
    assert (
        status == 2
        and err.strip()
        == "cyclr: error: -o s.yaml: unknown config extension '.yaml'; use .toml or .json, or --format"
    )
    (tmp_path / "s.toml").write_text("keep")
    status, _, err = run(capsys, "config", "-o", "s.toml")
    assert status == 2 and "exists; pass --force" in err and (tmp_path / "s.toml").read_text() == "keep"
    status, _, err = run(capsys, "config", "-o", "s.toml", "--config", "s.toml", "--force")
    assert status == 2 and "input" in err and (tmp_path / "s.toml").read_text() == "keep"


composed = st.one_of(
    cyclic_kwargs(waveforms=True).map(lambda kw: cyclr.CyclicLR(**kw)),
    cyclic_kwargs(groups=2).map(lambda kw: cyclr.CyclicLR(**kw)),
    one_cycle_kwargs().map(lambda kw: cyclr.OneCycleLR(**kw)),
)


@settings(
    derandomize=True,
    database=None,
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.filter_too_much],
)
@given(composed, composed, st.integers(1, 50), st.integers(1, 100))
def test_to_toml_round_trips_every_spec(first, second, warmup_steps, boundary):
    specs = [first, cyclr.warmup(first, warmup_steps, 0.001)]
    same_momentum = (first.momentum_at(0) is None) == (second.momentum_at(0) is None)
    if same_momentum and first.groups == second.groups:  # what join requires
        specs.append(cyclr.join([cyclr.warmup(first, warmup_steps), second], [boundary]))
    for spec in specs:
        text = to_toml(spec.to_dict())
        assert cyclr.from_dict(tomllib.loads(text)) == spec


def test_to_toml_writes_plain_tables():
    spec = cyclr.join(
        [
            cyclr.warmup(cyclr.CyclicLR(step_size_up=5, cycle_momentum=False), 3),
            cyclr.CosineAnnealingLR(0.1, 10),
        ],
        [20],
    )
    text = to_toml(spec.to_dict())
    assert "[[specs]]" in text and "[specs.spec]" in text
    assert tomllib.loads(text)["boundaries"] == [20]
