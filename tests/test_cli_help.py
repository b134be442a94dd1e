"""`cyclr --help` and `cyclr COMMAND --help`: every flag explained, from the specs, so help cannot drift."""

from __future__ import annotations

import argparse
import dataclasses
import subprocess
import sys

import pytest

from cyclr._spec import _parameter_names
from cyclr.cli import main, make_parser
from cyclr.cli._options import FAMILIES, choices, docstring_args, flag, option_kinds

MINIMAL = {  # the fewest arguments each family accepts, to probe its validation
    "cyclic": {},
    "one-cycle": {"max_lr": 0.1, "total_steps": 10},
    "sgdr": {"base_lr": 0.1, "T_0": 5},
    "cosine": {"base_lr": 0.1, "T_max": 5},
    "cosine-decay": {"base_lr": 0.1, "decay_steps": 10},
    "cosine-decay-restarts": {"base_lr": 0.1, "first_decay_steps": 10},
    "inverse-sqrt": {"base_lr": 0.1},
    "wsd": {"base_lr": 0.1, "num_warmup_steps": 1, "num_decay_steps": 1, "num_training_steps": 5},
}


def subparser(name: str) -> argparse.ArgumentParser:
    parser = make_parser()
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return action.choices[name]


def schedule_actions(parser: argparse.ArgumentParser) -> dict[str, argparse.Action]:
    return {action.dest: action for action in parser._actions if action.dest in option_kinds()}


def test_every_spec_parameter_is_documented_in_its_docstring():
    for family in FAMILIES.values():
        documented = docstring_args(family)
        for name in _parameter_names(family):
            assert len(documented.get(name, "")) > 10, f"{family.__name__}.{name} has no Args entry"


@pytest.mark.parametrize("command", ["show", "plot", "export", "config"])
def test_every_schedule_flag_has_a_description_and_its_default(command):
    actions = schedule_actions(subparser(command))
    assert set(actions) == set(option_kinds())
    for name, action in actions.items():
        text = action.help or ""
        assert len(text) > 30, (name, text)
        for alias, family in FAMILIES.items():
            if name not in _parameter_names(family):
                continue
            field = next(f for f in dataclasses.fields(family) if f.name == name)
            assert f"{alias}:" in text, (name, alias, text)
            if field.default is dataclasses.MISSING:
                assert "required" in text
            elif field.default is None:
                assert "default: none" in text
            else:
                assert f"default: {field.default!r}" in text or f"default: {field.default}" in text, (
                    name,
                    text,
                )


def test_string_flags_show_the_choices_their_validation_accepts():
    for alias, family in FAMILIES.items():
        for name in _parameter_names(family):
            if option_kinds().get(name, (None,))[0] != "scalar" or option_kinds()[name][1] is not str:
                continue
            accepted = choices(family, name)
            assert accepted, f"{family.__name__}.{name}: no choices constant found"
            with pytest.raises(ValueError) as error:
                family(**MINIMAL[alias], **{name: "no-such-choice"})
            assert str(list(accepted)) in str(error.value)  # the very list the constructor checks
            action = schedule_actions(subparser("show"))[name]
            assert action.metavar == "{" + ",".join(accepted) + "}"


def test_config_help_says_what_the_file_holds():
    action = next(a for a in subparser("show")._actions if a.dest == "config")
    assert "spec.to_dict()" in action.help and "docs/cli.md" in action.help and ".toml" in action.help


def run_help(*argv: str) -> str:
    done = subprocess.run([sys.executable, "-m", "cyclr", *argv, "--help"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_examples_appear_once_in_the_top_help_only():
    assert run_help().count("examples:") == 1
    for command in ("show", "plot", "export", "config", "demo"):
        assert "examples:" not in run_help(command)
    assert "examples:" not in run_help("find-lr", "analyze")


def test_demo_help_names_its_default_output():
    assert "(default: cyclr_demo.png)" in " ".join(run_help("demo").split())


def test_bare_cyclr_prints_the_usage_and_the_commands(capsys):
    assert main([]) == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: cyclr")
    for command in ("show", "plot", "export", "config", "find-lr", "demo"):
        assert f"\n  {command} " in err


def test_flag_names_follow_the_parameters():
    assert flag("step_size_up") == "--step-size-up" and flag("T_0") == "--T-0"
