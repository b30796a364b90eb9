"""Who gets past the handshake: only peers holding the connection's key (`connector_zmq.access`).

The peers here are plain pyzmq sockets on a context of their own, as another process would
have; what they see is read from their socket monitor, what the connection sees from its
statistics and its sockets.
"""

from __future__ import annotations

import asyncio
import socket
import time
from typing import Any

import pytest
import zmq
from zmq.utils.monitor import recv_monitor_message

from connector_core.codec import Codec
from connector_core.exceptions import ChannelSetupError
from connector_core.settings import Settings
from connector_core.spec import ConnectorMode
from connector_core.testing import drain
from connector_core.testing import unique_spec as spec
from connector_zmq import ZMQChannel, ZMQConnector, access
from connector_zmq.receiver import ReceiverLink

OUTCOME_TIMEOUT = 30.0
"""Bound on waiting for a handshake's outcome or for a connection to be closed."""

FAILED: dict[int, str] = {
    zmq.EVENT_HANDSHAKE_FAILED_AUTH: "refused: wrong credentials",
    zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL: "refused: protocol",
    zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL: "refused",
}


def _data_address(channel: ZMQChannel) -> str:
    link = channel._rx
    assert isinstance(link, ReceiverLink)
    address: str = link.address
    return address


def _handshake(address: str, username: bytes | None, password: bytes | None) -> str:
    """Connects a DEALER (PLAIN client when credentials are given, else NULL), sends a frame,
    and returns how its first handshake ended, as its monitor reports it."""
    context = zmq.Context()
    sock = context.socket(zmq.DEALER)
    sock.setsockopt(zmq.LINGER, 0)
    sock.setsockopt(zmq.RECONNECT_IVL, -1)
    if username is not None and password is not None:
        sock.setsockopt(zmq.PLAIN_USERNAME, username)
        sock.setsockopt(zmq.PLAIN_PASSWORD, password)
    monitor = sock.get_monitor_socket()
    try:
        sock.connect(address)
        sock.send(b"junk that must never arrive")
        deadline = time.monotonic() + OUTCOME_TIMEOUT
        while (left := deadline - time.monotonic()) > 0 and monitor.poll(int(left * 1000) + 1):
            event = recv_monitor_message(monitor)["event"]
            if event == zmq.EVENT_HANDSHAKE_SUCCEEDED:
                return "admitted"
            if event in FAILED:
                return FAILED[event]
        return "no outcome"
    finally:
        sock.disable_monitor()
        monitor.close(0)
        sock.close(0)
        context.term()


async def _outcome(address: str, username: bytes | None, password: bytes | None) -> str:
    return await asyncio.to_thread(_handshake, address, username, password)


@pytest.fixture
async def receiver() -> Any:
    connector = ZMQConnector(spec(ConnectorMode.PIPELINE))
    channel = await connector.connect_recv()
    yield channel
    await channel.close()


async def test_a_peer_without_credentials_is_refused_at_the_receivers_handshake(
    receiver: ZMQChannel,
) -> None:
    assert (await _outcome(_data_address(receiver), None, None)).startswith("refused")
    stats = receiver.statistics()
    assert (stats.buffered, stats.rejected) == (0, 0)  # its frame never reached the receiver


async def test_a_peer_with_a_wrong_password_is_refused_at_the_receivers_handshake(
    receiver: ZMQChannel,
) -> None:
    outcome = await _outcome(_data_address(receiver), access.USERNAME, b"0" * 64)
    assert outcome == "refused: wrong credentials"
    assert receiver.statistics().buffered == 0


async def test_a_member_of_another_connection_sharing_the_secret_is_refused() -> None:
    settings = Settings(shared_secret="a shared secret of two connections")
    ours = ZMQConnector(spec(ConnectorMode.PIPELINE), settings=settings)
    theirs = ZMQConnector(spec(ConnectorMode.PIPELINE), settings=settings)
    receiver = await ours.connect_recv()
    password = access.credentials(theirs.codec)
    assert password is not None
    assert password != access.credentials(ours.codec)
    outcome = await _outcome(_data_address(receiver), access.USERNAME, password)
    assert outcome == "refused: wrong credentials"
    await receiver.close()


async def test_the_members_password_gets_past_the_handshake() -> None:
    connector = ZMQConnector(spec(ConnectorMode.PIPELINE))
    receiver = await connector.connect_recv()
    password = access.credentials(connector.codec)
    assert await _outcome(_data_address(receiver), access.USERNAME, password) == "admitted"
    await receiver.close()


async def test_a_peer_without_credentials_is_refused_at_the_rendezvous() -> None:
    connector = ZMQConnector(spec(ConnectorMode.PIPELINE))
    assert (await _outcome(connector.zmq_address, None, None)).startswith("refused")
    receiver = await connector.connect_recv()  # members still join
    await receiver.close()


def _closed_by_peer(address: str) -> bool:
    """Opens a raw TCP connection that never speaks; True once the listener closes it."""
    host, _, port = address.removeprefix("tcp://").rpartition(":")
    with socket.create_connection((host, int(port)), timeout=OUTCOME_TIMEOUT) as conn:
        conn.settimeout(OUTCOME_TIMEOUT)
        try:
            while conn.recv(4096):  # ZeroMQ's greeting, then nothing until it closes
                pass
        except TimeoutError:
            return False
        except ConnectionResetError:
            return True
        return True


async def test_an_idle_connection_to_a_receiver_is_closed_after_the_handshake_interval(
    receiver: ZMQChannel,
) -> None:
    assert await asyncio.to_thread(_closed_by_peer, _data_address(receiver))


async def test_an_idle_connection_to_the_rendezvous_is_closed_after_the_handshake_interval() -> (
    None
):
    connector = ZMQConnector(spec(ConnectorMode.PIPELINE))
    assert await asyncio.to_thread(_closed_by_peer, connector.zmq_address)
    assert connector._rendezvous is not None
    connector._rendezvous.stop()


async def test_an_unsigned_connection_admits_peers_without_credentials() -> None:
    connector = ZMQConnector(spec(ConnectorMode.PIPELINE), settings=Settings(sign_messages=False))
    assert access.credentials(connector.codec) is None
    receiver = await connector.connect_recv()
    sender = await connector.connect_send()
    assert await _outcome(_data_address(receiver), None, None) == "admitted"
    await sender.send("unsigned")
    await sender.close()
    assert await drain(receiver) == ["unsigned"]
    await receiver.close()


def test_the_gate_refuses_what_is_not_a_plain_request_for_a_known_domain() -> None:
    context = zmq.Context()
    gate = access.Gate(context)
    try:
        domain = gate.admit(b"secret")
        ok = [b"1.0", b"7", domain, b"127.0.0.1", b"", b"PLAIN", access.USERNAME, b"secret"]
        assert gate._answer(ok)[2] == b"200"
        assert gate._answer([*ok[:7], b"wrong"])[2] == b"400"
        assert gate._answer([*ok[:2], b"unknown", *ok[3:]])[2] == b"400"
        assert gate._answer([*ok[:5], b"NULL"])[2] == b"400"
        assert gate._answer([b"junk"]) == [b"1.0", b"", b"400", gate._answer([])[3], b"", b""]
        assert gate.refused == 5
    finally:
        gate.socket.close(0)
        context.term()


def test_a_context_with_an_authentication_handler_of_its_own_is_refused_with_advice() -> None:
    context = zmq.Context()
    theirs = context.socket(zmq.REP)
    theirs.bind(access.ZAP_ENDPOINT)
    try:
        with pytest.raises(ChannelSetupError, match="give DI.zmq_context a context of its own"):
            access.Gate(context)
    finally:
        theirs.close(0)
        context.term()


def test_every_socket_closes_a_stalled_handshake() -> None:
    assert 0 < access.HANDSHAKE_MS <= 10_000
    context = zmq.Context()
    sock = context.socket(zmq.DEALER)
    access.secure_client(sock, Codec(key=None))
    assert sock.getsockopt(zmq.HANDSHAKE_IVL) == access.HANDSHAKE_MS
    sock.close(0)
    context.term()
