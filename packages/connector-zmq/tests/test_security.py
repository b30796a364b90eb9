"""Trust: foreign peers are rejected before deserialization; loopback by default."""

from __future__ import annotations

import asyncio
import pickle
from pathlib import Path
from typing import Any

import pytest
import zmq
import zmq.asyncio

from connector_core.framing import pack_frames
from connector_core.serde import TAG_SIZE
from connector_core.spec import ConnectorMode
from connector_core.testing import transport_of
from connector_core.testing import unique_spec as spec
from connector_zmq import ZMQChannel, ZMQConnector, access
from connector_zmq import protocol as p
from connector_zmq.receiver import ReceiverLink
from connector_zmq.settings import ZMQSettings


class _Bomb:
    """Unpickling this creates a file: proof that the payload ran."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __reduce__(self) -> tuple[Any, ...]:
        return (open, (str(self.path), "w"))


def _data_address(channel: ZMQChannel) -> str:
    address: str = transport_of(channel, ReceiverLink).address
    return address


@pytest.mark.parametrize("mode", list(ConnectorMode), ids=lambda m: m.value)
async def test_a_crafted_pickle_without_a_valid_hello_is_rejected_on_arrival_and_never_runs(
    mode: ConnectorMode, tmp_path: Path
) -> None:
    # A peer without the key is refused at the handshake (test_access.py). This one got
    # past it (it has the connection's credentials), but forges its HELLO and its frames:
    # the second line of defence drops each frame on arrival, before anything is buffered.
    marker = tmp_path / "payload-ran"
    connector = ZMQConnector(spec(mode))
    receiver = await connector.connect_recv()
    sender = await connector.connect_send()
    foreign = zmq.asyncio.Context.instance().socket(zmq.DEALER)
    foreign.setsockopt(zmq.LINGER, 0)
    access.secure_client(foreign, connector.codec)
    foreign.connect(_data_address(receiver))
    bomb = pickle.dumps(_Bomb(marker))
    forged_hello = b"\x00" * TAG_SIZE + b"join:whoever"
    await foreign.send_multipart([b"", p.HELLO, forged_hello])
    await foreign.send(bomb)  # unsigned
    await foreign.send(b"\x01" * TAG_SIZE + bomb)  # signed with a wrong key
    await foreign.send_multipart([b"", p.BATCH, pack_frames([b"\x02" * TAG_SIZE + bomb])])
    # Wait (on the receiver's pump) until it has taken all four off the wire: each is
    # dropped there, before anything is buffered.
    link = transport_of(receiver, ReceiverLink)
    async with asyncio.timeout(10):
        while receiver.statistics().rejected < 4:
            await link._wait_changed()
            assert receiver.statistics().buffered == 0
    await sender.send("genuine")
    async with asyncio.timeout(10):
        assert await receiver.recv() == "genuine"
    assert not marker.exists(), "the forged payload was deserialized"
    assert receiver.statistics().rejected == 4
    assert not await foreign.poll(100), "a peer without the key was granted credits"
    foreign.close()
    await sender.close()
    await receiver.close()


async def test_participant_without_the_key_cannot_join_the_rendezvous() -> None:
    connector = ZMQConnector(spec(ConnectorMode.PIPELINE))
    foreign = zmq.asyncio.Context.instance().socket(zmq.DEALER)
    foreign.setsockopt(zmq.LINGER, 0)
    foreign.setsockopt(zmq.ROUTING_ID, b"intruder")
    foreign.connect(connector.zmq_address)
    await foreign.send_multipart([p.REG_SENDER, b"\x00" * TAG_SIZE + b"join:intruder"])
    receiver = await connector.connect_recv()  # the rendezvous still serves members
    assert not await foreign.poll(100), "the rendezvous answered a peer without the key"
    assert receiver.statistics().senders == 0
    foreign.close()
    await receiver.close()
    assert connector._rendezvous is not None
    connector._rendezvous.stop()


async def test_listens_on_loopback_by_default() -> None:
    connector = ZMQConnector(spec(ConnectorMode.PIPELINE))
    assert connector.zmq_address.startswith("tcp://127.0.0.1:")
    receiver = await connector.connect_recv()
    assert _data_address(receiver).startswith("tcp://127.0.0.1:")
    await receiver.close()
    assert connector._rendezvous is not None
    connector._rendezvous.stop()


async def test_bind_host_setting_chooses_the_interface() -> None:
    settings = ZMQSettings(bind_host="127.0.0.2")
    connector = ZMQConnector(spec(ConnectorMode.PIPELINE), zmq_settings=settings)
    assert connector.zmq_address.startswith("tcp://127.0.0.2:")
    receiver = await connector.connect_recv()
    sender = await connector.connect_send()
    assert _data_address(receiver).startswith("tcp://127.0.0.2:")
    await sender.send("over 127.0.0.2")
    await sender.close()
    assert [item async for item in receiver] == ["over 127.0.0.2"]
    await receiver.close()


async def test_pickled_connector_carries_the_key_and_the_address() -> None:
    connector = ZMQConnector(spec(ConnectorMode.PIPELINE))
    copy = pickle.loads(pickle.dumps(connector))
    assert copy.zmq_address == connector.zmq_address
    assert copy.codec == connector.codec
    assert copy.codec.signed
    assert connector._rendezvous is not None
    connector._rendezvous.stop()


async def test_garbage_control_messages_are_counted_and_logged_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    connector = ZMQConnector(spec(ConnectorMode.PIPELINE))
    rendezvous_address = connector.zmq_address
    rendezvous = connector._rendezvous
    assert rendezvous is not None
    foreign = zmq.asyncio.Context.instance().socket(zmq.DEALER)
    foreign.setsockopt(zmq.LINGER, 0)
    foreign.setsockopt(zmq.ROUTING_ID, b"flooder")
    access.secure_client(foreign, connector.codec)  # past the handshake: the log is the test
    foreign.connect(rendezvous_address)
    with caplog.at_level("WARNING", logger="connector_zmq.rendezvous"):
        for _ in range(2500):
            await foreign.send_multipart([p.REG_SENDER])  # malformed: no proof
            await foreign.send_multipart([p.REG_SENDER, b"\x00" * TAG_SIZE, b"{}"])  # no key
        # One connection delivers in order: the reply to a genuine join comes after the rest.
        proof = p.credentials(connector._codec, b"flooder")
        await foreign.send_multipart([p.REG_RECEIVER, proof, b"tcp://127.0.0.1:9", b"{}"])
        async with asyncio.timeout(30):
            reply = await foreign.recv_multipart()
        assert reply[0] == p.OK
        assert rendezvous.rejected == 5000
        records = [r for r in caplog.records if r.name == "connector_zmq.rendezvous"]
        assert len(records) == 1, [r.getMessage() for r in records]
    foreign.close()
    rendezvous.stop()
