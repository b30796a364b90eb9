"""A sender reaches a receiver of its own process over inproc, or over TCP when told to.

What `connector_zmq.inproc` promises: a same-process sender needs nothing from the
receiver's TCP port, `ZMQSettings(in_process=False)` makes it use that port instead, and a
closed receiver is no longer routed to. The conformance suite runs both paths
(`test_conformance.py`); the peers of other processes always use TCP.
"""

from __future__ import annotations

import gc
import os
from typing import Any

import pytest
import zmq

from connector_core.spec import ConnectorMode
from connector_core.testing import drain, transport_of
from connector_core.testing import unique_spec as spec
from connector_zmq import ZMQChannel, ZMQConnector, inproc
from connector_zmq.receiver import ReceiverLink
from connector_zmq.settings import ZMQSettings

ITEMS = list(range(5))

modes = pytest.mark.parametrize("mode", list(ConnectorMode))


def _link(receiver: ZMQChannel) -> ReceiverLink:
    return transport_of(receiver, ReceiverLink)


def _inproc_endpoint(link: ReceiverLink) -> str:
    endpoint = inproc.route(link.setup.context, link.address)
    assert endpoint.startswith("inproc://"), f"no inproc endpoint for {link.address}"
    return endpoint


async def _send_and_drain(connector: ZMQConnector, receiver: ZMQChannel) -> list[Any]:
    sender = await connector.connect_send()
    await sender.send_many(ITEMS)
    await sender.close()
    return await drain(receiver)


@modes
async def test_a_sender_reaches_a_receiver_of_its_own_process_without_its_tcp_port(
    mode: ConnectorMode,
) -> None:
    connector = ZMQConnector(spec(mode))
    receiver = await connector.connect_recv()
    link = _link(receiver)
    _inproc_endpoint(link)
    link._data.unbind(link.address)  # only the inproc endpoint is left to connect to

    assert await _send_and_drain(connector, receiver) == ITEMS


@modes
async def test_senders_connect_over_tcp_when_in_process_is_off(mode: ConnectorMode) -> None:
    connector = ZMQConnector(spec(mode), zmq_settings=ZMQSettings(in_process=False))
    receiver = await connector.connect_recv()
    link = _link(receiver)
    link._data.unbind(_inproc_endpoint(link))  # only the TCP port is left

    assert await _send_and_drain(connector, receiver) == ITEMS


@modes
async def test_a_closed_receiver_is_no_longer_routed_over_inproc(mode: ConnectorMode) -> None:
    connector = ZMQConnector(spec(mode))
    receiver = await connector.connect_recv()
    link = _link(receiver)
    _inproc_endpoint(link)

    await receiver.close()

    assert inproc.route(link.setup.context, link.address) == link.address


def test_the_record_of_a_collected_socket_is_not_routed_to_and_goes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    context = zmq.Context()
    kept = context.socket(zmq.ROUTER)
    try:
        gone = context.socket(zmq.ROUTER)
        inproc.offer(context, gone, "tcp://127.0.0.1:1")
        gone.close(0)
        del gone
        gc.collect()
        assert inproc.route(context, "tcp://127.0.0.1:1") == "tcp://127.0.0.1:1"

        inproc.offer(context, kept, "tcp://127.0.0.1:3")  # sweeps the collected one's record

        recorded = {key[1:] for key in inproc._endpoints}
        assert (context.underlying, "tcp://127.0.0.1:1") not in recorded
        assert (context.underlying, "tcp://127.0.0.1:3") in recorded
    finally:
        inproc.withdraw(context, "tcp://127.0.0.1:3")
        kept.close(0)
        context.term()


def test_another_process_does_not_route_to_this_ones_receivers(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # a forked child inherits the records with the module: they name their process
    context = zmq.Context()
    sock = context.socket(zmq.ROUTER)
    try:
        endpoint = inproc.offer(context, sock, "tcp://127.0.0.1:2")
        assert inproc.route(context, "tcp://127.0.0.1:2") == endpoint
        child_pid = os.getpid() + 1
        monkeypatch.setattr(os, "getpid", lambda: child_pid)
        assert inproc.route(context, "tcp://127.0.0.1:2") == "tcp://127.0.0.1:2"
    finally:
        monkeypatch.undo()
        inproc.withdraw(context, "tcp://127.0.0.1:2")
        sock.close(0)
        context.term()
