"""What the command line does with a mistake: one line, exit status 2 (130 for Ctrl-C)."""

from __future__ import annotations

import argparse
from typing import NoReturn


class UsageError(Exception):
    """A mistake on the command line or in its files: printed as one line, exit status 2."""


def fail(message: str) -> NoReturn:
    """Raise the one-line error ``cyclr: error: MESSAGE``."""
    raise UsageError(f"cyclr: error: {message}")


class Parser(argparse.ArgumentParser):
    """argparse, with its usage errors raised as ``UsageError`` (one line) instead of exiting."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{self.prog}: error: {message}")
