"""The conformance suite's harness: fresh connectors and channels that are always cleaned up."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections import Counter
from collections.abc import Callable, Hashable, Iterable
from types import TracebackType
from typing import Any

from connector_core.channel import Channel
from connector_core.connector import Connector
from connector_core.exceptions import ChannelClosedError
from connector_core.spec import ConnectorMode, ConnectorSpec

__all__ = [
    "PROCESS_TIMEOUT",
    "STEP_TIMEOUT",
    "ConnectorFactory",
    "Harness",
    "assert_delivered_once",
    "drain",
    "unique_spec",
]

ConnectorFactory = Callable[[ConnectorSpec, int], Connector]
"""`make(spec, maxsize) -> Connector`: what a backend's `connector_factory` fixture yields."""

STEP_TIMEOUT = 30.0
"""Seconds any single step of a conformance test may take before it counts as a hang."""

PROCESS_TIMEOUT = 90.0
"""Seconds a spawned worker process may take for its whole job."""


def unique_spec(mode: ConnectorMode) -> ConnectorSpec:
    """Returns a spec with fresh entity names, so tests never share a transport.

    Args:
        mode: The spec's mode.
    """
    tag = uuid.uuid4().hex[:10]
    return ConnectorSpec(f"src-{tag}.out", f"dst-{tag}.in", mode)


async def drain(channel: Channel, timeout: float = STEP_TIMEOUT) -> list[Any]:
    """Receives until the channel reports the end of the connection.

    Args:
        channel: A receiving channel.
        timeout: Optional; seconds to wait for the end, `STEP_TIMEOUT` by default.

    Returns:
        Every item received, in order.

    Raises:
        TimeoutError: If the connection does not end within `timeout` seconds.
    """
    items: list[Any] = []
    async with asyncio.timeout(timeout):
        while True:
            try:
                items.append(await channel.recv())
            except ChannelClosedError:
                return items


def assert_delivered_once(
    received: Iterable[Iterable[Hashable]], expected: Iterable[Hashable], mode: ConnectorMode
) -> None:
    """Asserts that the receivers of a connection got `expected` once, as `mode` delivers.

    Pipeline: each expected item reached one of the receivers, once; pubsub: each receiver
    got every expected item once. In both, nothing else arrived. Order is not checked.

    Args:
        received: The items of each receiver (hashable: make the lists a worker process
            sends back tuples first).
        expected: Every item sent, each once.
        mode: The connection's mode.

    Raises:
        AssertionError: Saying how many items are missing and how many are extra or repeated.
    """
    want = Counter(expected)
    if mode is ConnectorMode.PIPELINE:
        got = Counter(item for items in received for item in items)
        assert got == want, f"across the receivers: {_difference(got, want)}"
        return
    for n, items in enumerate(received):
        got = Counter(items)
        assert got == want, f"subscriber {n}: {_difference(got, want)}"


def _difference(got: Counter[Hashable], want: Counter[Hashable]) -> str:
    missing, extra = want - got, got - want
    return (
        f"{missing.total()} missing (first: {list(missing)[:3]}), "
        f"{extra.total()} extra or repeated (first: {list(extra)[:3]})"
    )


class Harness:
    """Makes connectors and channels for one test and closes every channel afterwards."""

    def __init__(self, make: ConnectorFactory, default_maxsize: int) -> None:
        """Creates a harness; use it as `async with`.

        Args:
            make: Makes a connector: `make(spec, maxsize)`.
            default_maxsize: `maxsize` for connectors a test does not size itself.
        """
        self._make = make
        self._default_maxsize = default_maxsize
        self._senders: list[Channel] = []
        self._channels: list[Channel] = []
        self.connectors: list[Connector] = []

    def connector(self, mode: ConnectorMode, maxsize: int | None = None) -> Connector:
        """Returns a fresh connector for a unique spec in `mode`.

        Args:
            mode: The connector's mode.
            maxsize: Optional; the default from the harness when None.
        """
        size = self._default_maxsize if maxsize is None else maxsize
        connector = self._make(unique_spec(mode), size)
        self.connectors.append(connector)
        return connector

    def track(self, channel: Channel) -> Channel:
        """Closes `channel` when the harness exits.

        Args:
            channel: Any channel the test made itself.

        Returns:
            `channel`, for chaining.
        """
        self._channels.append(channel)
        return channel

    async def sender(self, connector: Connector) -> Channel:
        """Returns a tracked sending channel.

        Args:
            connector: The connector to connect a sender of.

        Raises:
            TimeoutError: If `connect_send()` takes longer than `STEP_TIMEOUT`.
        """
        async with asyncio.timeout(STEP_TIMEOUT):
            channel = await connector.connect_send()
        self._senders.append(channel)
        return channel

    async def receiver(self, connector: Connector) -> Channel:
        """Returns a tracked receiving channel (subscribed when this returns).

        Args:
            connector: The connector to connect a receiver of.

        Raises:
            TimeoutError: If `connect_recv()` takes longer than `STEP_TIMEOUT`.
        """
        async with asyncio.timeout(STEP_TIMEOUT):
            return self.track(await connector.connect_recv())

    async def __aenter__(self) -> Harness:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        # Senders first, so receivers see the end of the stream rather than a broken peer.
        for channel in [*self._senders, *self._channels]:
            with contextlib.suppress(Exception):
                async with asyncio.timeout(STEP_TIMEOUT):
                    await channel.close()
