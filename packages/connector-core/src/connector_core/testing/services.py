"""Skipping tests whose service is missing, except in CI where that is a failure."""

from __future__ import annotations

import os
from typing import NoReturn

import pytest

__all__ = ["in_ci", "skip_or_fail"]


def in_ci() -> bool:
    """True when the `CI` environment variable says this is a CI run."""
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


def skip_or_fail(reason: str) -> NoReturn:
    """Skips the current test because a service is missing; fails it instead under CI.

    Args:
        reason: What is missing and how to provide it, e.g. "the broker at 127.0.0.1:5672
            does not answer: start it, or set the variable that points at it".
    """
    if in_ci():
        pytest.fail(f"{reason} (CI is set: a missing service fails the run)", pytrace=False)
    pytest.skip(reason)
