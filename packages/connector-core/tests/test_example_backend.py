"""The documentation's example backend, docs/examples/memory_backend.py, keeps the contract.

The file is imported from docs/ (not copied), the conformance suite runs against it, and the
guide that shows it (docs/writing-a-backend.md) must show it exactly: the example cannot rot.
"""

from __future__ import annotations

import asyncio
import importlib.util
import pickle
import sys
from pathlib import Path
from types import ModuleType

import pytest

from connector_core import ChannelClosedError, Connector, ConnectorMode, ConnectorSpec
from connector_core.testing import ConnectorConformance, drain
from connector_core.testing.backends import BackendProfile
from connector_core.transport import RecvTransport, SendTransport
from connector_core.transport_channel import TransportChannel

DOCS = Path(__file__).resolve().parents[3] / "docs"
EXAMPLE = DOCS / "examples" / "memory_backend.py"
GUIDE = DOCS / "writing-a-backend.md"
DEADLINE = 10.0
"""Seconds anything awaited here may take before it counts as a hang."""


def _import_example() -> ModuleType:
    spec = importlib.util.spec_from_file_location("memory_backend", EXAMPLE)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


memory_backend = _import_example()
PROFILE: BackendProfile = memory_backend.PROFILE


class TestMemoryConformance(ConnectorConformance):
    connector_class = memory_backend.MemoryConnector
    cross_process = PROFILE.cross_process
    serialized = PROFILE.serialized
    # The suite's backpressure tests use maxsize=4: the outbox holds up to 4 beyond the wire.
    backpressure_slack = PROFILE.backlog_bound(4) - 4


def _connector(mode: ConnectorMode = ConnectorMode.PIPELINE, maxsize: int = 8) -> Connector:
    connector: Connector = memory_backend.MemoryConnector(
        ConnectorSpec("a.out", "b.in", mode), maxsize=maxsize
    )
    return connector


async def _pair(connector: Connector) -> tuple[TransportChannel, TransportChannel]:
    """Returns (sender, receiver), the receiver connected first."""
    receiver = await connector.connect_recv()
    sender = await connector.connect_send()
    assert isinstance(sender, TransportChannel)
    assert isinstance(receiver, TransportChannel)
    return sender, receiver


def test_the_example_is_one_page() -> None:
    lines = EXAMPLE.read_text(encoding="utf-8").splitlines()
    assert len(lines) <= 160, f"{EXAMPLE.name} has {len(lines)} lines: keep it to one page"


def test_the_guide_shows_the_example_exactly() -> None:
    guide = GUIDE.read_text(encoding="utf-8")
    marker = "<!-- docs-test: file=memory_backend.py -->\n```python\n"
    assert marker in guide, f"{GUIDE.name}: show the example in a file=memory_backend.py block"
    shown = guide.split(marker, 1)[1].split("\n```\n", 1)[0] + "\n"
    assert shown == EXAMPLE.read_text(encoding="utf-8"), (
        f"{GUIDE.name} shows another version of {EXAMPLE.relative_to(DOCS.parent)}: copy the "
        "file into the guide's block"
    )


def test_the_profile_names_the_backend_and_its_backlog() -> None:
    assert isinstance(PROFILE, BackendProfile)
    assert PROFILE.name == "memory"
    assert not PROFILE.cross_process
    assert PROFILE.backlog_bound(10) == 20


async def test_channels_are_core_transport_channels_over_the_example_transports() -> None:
    sender, receiver = await _pair(_connector())
    assert isinstance(sender._tx, SendTransport)
    assert isinstance(receiver._rx, RecvTransport)
    await sender.close()
    await receiver.close()


async def test_a_stalled_receiver_has_the_profiles_backlog_waiting_and_no_more() -> None:
    sender, receiver = await _pair(_connector(maxsize=3))
    backlog = PROFILE.backlog_bound(3)  # the outbox and the wire, 3 frames each
    for i in range(backlog):
        async with asyncio.timeout(DEADLINE):  # a hang guard: each of these finds room
            await sender.send(i)
    blocked = asyncio.create_task(sender.send(backlog))
    await asyncio.sleep(0)  # one scheduling step: the send tries, and parks
    assert not blocked.done(), "nothing takes from the wire: the send must wait"
    assert (sender.statistics().buffered, receiver.statistics().buffered) == (3, 3)
    draining = asyncio.create_task(drain(receiver))
    async with asyncio.timeout(DEADLINE):
        await blocked  # the receiver made room
        await sender.close()
        assert await draining == list(range(backlog + 1))


async def test_a_forged_frame_is_counted_by_the_receivers_verifier() -> None:
    sender, receiver = await _pair(_connector())
    await sender.send_bytes(b"\x00" * 40)
    await sender.send("genuine")
    await sender.close()
    assert await drain(receiver) == ["genuine"]
    assert receiver.statistics().rejected == 1
    assert receiver._rx is not None
    assert receiver._rx.verifier.rejected == 1


async def test_a_sender_cannot_join_a_connection_that_has_ended() -> None:
    connector = _connector()
    sender = await connector.connect_send()
    await sender.close()
    with pytest.raises(ChannelClosedError, match="has ended"):
        await connector.connect_send()


def test_the_connector_cannot_be_pickled() -> None:
    with pytest.raises(TypeError, match="in-process only"):
        pickle.dumps(_connector())
