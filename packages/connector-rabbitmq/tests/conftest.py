"""Shared fixtures: the broker the tests use and a check that it answers.

The broker is the one a user would get: `RABBITMQ_URL`, or the local default when it is
unset (`connector_rabbitmq.connection.DEFAULT_URL`). Tests that need it use the `broker`
fixture: it skips them (fails them under `CI=true`) when no broker answers. Each event loop
has its own connection (closed when its last channel closes or the loop ends), so tests
need no fixture to open or close one.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

import pytest

from connector_core.testing import skip_or_fail
from connector_rabbitmq.connection import DEFAULT_URL


def broker_url() -> str:
    return os.environ.get("RABBITMQ_URL") or os.environ.get("CONNECTOR_RABBITMQ_URL") or DEFAULT_URL


def broker_address() -> tuple[str, int]:
    parts = urlsplit(broker_url())
    return parts.hostname or "localhost", parts.port or 5672


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
    return broker_url()


async def _drop_every_connection() -> None:
    dropper = await asyncio.create_subprocess_exec(
        "rabbitmqctl",
        "close_all_connections",
        "fault test: connections dropped on purpose",
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    assert await dropper.wait() == 0


@pytest.fixture
def drop_every_connection(broker: str) -> Callable[[], Awaitable[None]]:
    """Drops every client connection of the broker (`rabbitmqctl`, on the broker's host)."""
    return _drop_every_connection
