"""Shared fixtures: one broker connection per test run, in one session-wide event loop.

`DI.rabbitmq_conn` is one connection per process, bound to the event loop it was opened
in, so every test of this package runs in the session loop (`pytestmark` in each module)
and the connection is closed once, at the end. Tests that need the broker use the `broker`
fixture: it skips them (fails them under `CI=true`) when no broker answers.
"""

from __future__ import annotations

import inspect
import os
import socket
from collections.abc import AsyncIterator
from urllib.parse import urlsplit

import pytest
import pytest_asyncio

from connector_core.di import container
from connector_core.testing import skip_or_fail

DEFAULT_URL = "amqp://guest:guest@127.0.0.1:5672/"
os.environ.setdefault("RABBITMQ_URL", DEFAULT_URL)  # spawned workers inherit it


def broker_address() -> tuple[str, int]:
    parts = urlsplit(os.environ["RABBITMQ_URL"])
    return parts.hostname or "127.0.0.1", parts.port or 5672


@pytest.fixture(scope="session")
def broker() -> str:
    """The broker URL; skips (or fails in CI) when nothing listens there."""
    host, port = broker_address()
    try:
        socket.create_connection((host, port), timeout=2).close()
    except OSError as exc:
        skip_or_fail(
            f"RabbitMQ is not reachable at {host}:{port} ({exc}): start it with "
            "`rabbitmq-server -detached` or set RABBITMQ_URL"
        )
    return os.environ["RABBITMQ_URL"]


@pytest_asyncio.fixture(scope="session", loop_scope="session", autouse=True)
async def _close_connection_at_exit() -> AsyncIterator[None]:
    yield
    result = container.shutdown_resources()
    if inspect.isawaitable(result):
        await result
