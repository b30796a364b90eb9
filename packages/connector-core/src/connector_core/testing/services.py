"""Tests of services: skip when one is missing (fail in CI), a port where none listens."""

from __future__ import annotations

import os
import socket
from typing import NoReturn

import pytest

__all__ = ["closed_port", "in_ci", "skip_or_fail"]


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


def closed_port() -> int:
    """Returns a loopback port nothing listens on (bound, then released): a service that is down."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port
