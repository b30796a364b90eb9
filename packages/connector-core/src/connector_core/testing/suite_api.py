"""Conformance: the connector and channel API surface (ids, builder, export, properties)."""

from __future__ import annotations

import pickle

import pytest

from connector_core.channel import ChannelStatistics
from connector_core.spec import ConnectorMode, ConnectorSpec
from connector_core.testing.base import ConformanceBase
from connector_core.testing.harness import ConnectorFactory, unique_spec

__all__ = ["ApiTests"]


class ApiTests(ConformanceBase):
    """What every connector and channel exposes, independent of delivery."""

    async def test_connector_id_is_the_spec_id(self, connector_factory: ConnectorFactory) -> None:
        """`connector.id` equals `spec.id`, which is `"<source>..<target>"`.

        Troubleshooting:
            - Do not override `id`; pass the spec to `Connector.__init__`.
        """
        async with self.harness(connector_factory) as h:
            connector = h.connector(self.modes[0])
            spec = connector.spec
            assert connector.id == spec.id == f"{spec.source.id}..{spec.target.id}"

    async def test_builder_builds_connectors_with_its_arguments(self) -> None:
        """`Connector.builder(**kwargs).build(spec)` makes that class with those arguments.

        Troubleshooting:
            - `__init__` must accept the spec first and `maxsize=` as a keyword.
            - Building must not need an event loop or do I/O.
        """
        spec = unique_spec(self.modes[0])
        connector = self.connector_class.builder(maxsize=7).build(spec)
        assert type(connector) is self.connector_class
        assert connector.spec == spec
        assert connector.maxsize == 7

    async def test_export_returns_the_spec_as_a_dict(
        self, connector_factory: ConnectorFactory
    ) -> None:
        """`export()` is the spec as a dict that rebuilds it; `dict()` adds type and id.

        Troubleshooting:
            - Keep `Connector.export`/`dict` or call `super()` when extending them.
        """
        async with self.harness(connector_factory) as h:
            connector = h.connector(self.modes[0])
            exported = connector.export()
            assert exported == {
                "source": connector.spec.source.id,
                "target": connector.spec.target.id,
                "mode": connector.spec.mode.value,
            }
            assert ConnectorSpec(**exported) == connector.spec
            summary = connector.dict()
            assert summary["id"] == connector.id
            assert summary["type"].endswith(type(connector).__qualname__)

    async def test_channels_report_maxsize_and_is_closed(
        self, connector_factory: ConnectorFactory, mode: ConnectorMode
    ) -> None:
        """Channels report the connector's `maxsize`; `is_closed` turns True on close.

        Troubleshooting:
            - Pass `maxsize` from the connector to every channel it makes.
            - `is_closed` and `maxsize` must be plain values, not futures or object refs.
        """
        async with self.harness(connector_factory) as h:
            connector = h.connector(mode, maxsize=7)
            receiver = await h.receiver(connector)
            sender = await h.sender(connector)
            for channel in (sender, receiver):
                assert channel.maxsize == 7
                assert channel.is_closed is False
            await sender.close()
            await receiver.close()
            assert sender.is_closed is True
            assert receiver.is_closed is True

    async def test_statistics_count_sent_and_received_items(
        self, connector_factory: ConnectorFactory, mode: ConnectorMode
    ) -> None:
        """`statistics()` has the documented shape and counts what was sent and received.

        Troubleshooting:
            - Return `ChannelStatistics`; count in `send`/`recv` (SerdeChannel does it for you).
            - A channel must at least know itself as an open sender or receiver.
        """
        async with self.harness(connector_factory) as h:
            connector = h.connector(mode, maxsize=50)
            receiver = await h.receiver(connector)
            sender = await h.sender(connector)
            for i in range(5):
                await sender.send(i)
            got = [await receiver.recv() for _ in range(5)]
            assert got == [0, 1, 2, 3, 4]
            sent, received = sender.statistics(), receiver.statistics()
            assert isinstance(sent, ChannelStatistics)
            assert isinstance(received, ChannelStatistics)
            assert all(isinstance(value, int) for value in (*sent, *received))
            assert sent.sent == 5
            assert received.received == 5
            assert sent.max_size == received.max_size == 50
            assert sent.senders >= 1
            assert received.receivers >= 1
            assert received.rejected == 0

    async def test_connector_survives_pickling(self, connector_factory: ConnectorFactory) -> None:
        """An unpickled copy joins the same connection as the original.

        Troubleshooting:
            - Carry addresses, job id, key and cluster address in `__getstate__`; drop
              sockets, connections and locks and recreate them lazily.
            - Do the I/O in `connect_*`, not in `__init__` or `__setstate__`.
        """
        if not self.cross_process:
            pytest.skip("the backend is in-process only")
        async with self.harness(connector_factory) as h:
            original = h.connector(self.modes[0])
            copy = pickle.loads(pickle.dumps(original))
            assert copy.spec == original.spec
            receiver = await h.receiver(copy)
            sender = await h.sender(original)
            await sender.send("across")
            assert await receiver.recv() == "across"
