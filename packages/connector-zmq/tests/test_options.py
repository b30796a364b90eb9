"""ZMQConnector's options: `zmq_address=` (the interface) and the bound on `maxsize`."""

from __future__ import annotations

import struct

import pytest

from connector_core.spec import ConnectorMode
from connector_core.testing import drain
from connector_core.testing import unique_spec as spec
from connector_zmq import ZMQConnector
from connector_zmq import protocol as p
from connector_zmq.settings import ZMQSettings


def test_maxsize_limit_is_the_widest_credit_count() -> None:
    limit = ZMQConnector.maxsize_limit
    assert limit is not None
    p.pack_count(limit)
    with pytest.raises(struct.error):
        p.pack_count(limit + 1)


def test_maxsize_above_the_limit_is_refused_when_built() -> None:
    with pytest.raises(ValueError, match=str(2**32 - 1)):
        ZMQConnector(spec(ConnectorMode.PIPELINE), maxsize=2**34)


def test_maxsize_at_the_limit_is_accepted() -> None:
    connector = ZMQConnector(spec(ConnectorMode.PUBSUB), maxsize=2**32 - 1)
    assert connector.maxsize == 2**32 - 1


@pytest.mark.parametrize("mode", list(ConnectorMode), ids=lambda m: m.value)
async def test_zmq_address_sets_the_interface_the_connection_listens_on(
    mode: ConnectorMode,
) -> None:
    connector = ZMQConnector(spec(mode), zmq_address="tcp://127.0.0.2")
    receiver = await connector.connect_recv()
    sender = await connector.connect_send()
    assert connector.zmq_address.startswith("tcp://127.0.0.2:")
    await sender.send("via 127.0.0.2")
    await sender.close()
    assert await drain(receiver) == ["via 127.0.0.2"]


def test_zmq_address_wins_over_the_bind_host_setting() -> None:
    settings = ZMQSettings(bind_host="0.0.0.0")
    connector = ZMQConnector(
        spec(ConnectorMode.PIPELINE), zmq_settings=settings, zmq_address="tcp://127.0.0.3"
    )
    assert connector.zmq_address.startswith("tcp://127.0.0.3:")


def test_zmq_address_beyond_loopback_needs_the_bind_host_setting() -> None:
    with pytest.raises(ValueError, match="CONNECTOR_ZMQ_BIND_HOST"):
        ZMQConnector(spec(ConnectorMode.PIPELINE), zmq_address="tcp://0.0.0.0")


def test_zmq_address_beyond_loopback_is_accepted_once_bind_host_allows_it() -> None:
    settings = ZMQSettings(bind_host="0.0.0.0")
    connector = ZMQConnector(
        spec(ConnectorMode.PIPELINE), zmq_settings=settings, zmq_address="tcp://0.0.0.0"
    )
    assert connector._bind_host == "0.0.0.0"


@pytest.mark.parametrize(
    "address",
    ["ipc:///tmp/connector", "inproc://connector", "127.0.0.1", "tcp://", "tcp://a/b"],
)
def test_zmq_address_not_tcp_host_is_refused(address: str) -> None:
    with pytest.raises(ValueError, match=r"tcp://HOST"):
        ZMQConnector(spec(ConnectorMode.PIPELINE), zmq_address=address)


def test_zmq_address_with_a_port_is_refused() -> None:
    with pytest.raises(ValueError, match="port"):
        ZMQConnector(spec(ConnectorMode.PIPELINE), zmq_address="tcp://127.0.0.1:5555")


def test_zmq_address_is_a_named_argument_of_the_connector() -> None:
    with pytest.raises(TypeError, match="zmq_address"):
        ZMQConnector(spec(ConnectorMode.PIPELINE), zmq_adress="tcp://127.0.0.1")
