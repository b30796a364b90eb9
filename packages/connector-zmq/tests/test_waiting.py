"""Reading ZeroMQ sockets without blocking: a ROUTER's messages come whole, in order."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import zmq

from connector_zmq.waiting import next_message, next_routed

POLL_MS = 10_000
"""Bounded wait for a message to arrive (never reached unless something is broken)."""


@pytest.fixture
def pair() -> Iterator[tuple[zmq.Socket[bytes], zmq.Socket[bytes]]]:
    """A ROUTER and a DEALER connected to it (in-process transport), closed afterwards."""
    context = zmq.Context()
    router = context.socket(zmq.ROUTER)
    router.bind("inproc://waiting")
    dealer = context.socket(zmq.DEALER)
    dealer.setsockopt(zmq.ROUTING_ID, b"peer")
    dealer.connect("inproc://waiting")
    try:
        yield router, dealer
    finally:
        dealer.close(0)
        router.close(0)
        context.term()


def _arrived(sock: zmq.Socket[bytes]) -> None:
    assert sock.poll(POLL_MS, zmq.POLLIN), "no message arrived"


def test_next_routed_of_an_empty_socket_is_none(
    pair: tuple[zmq.Socket[bytes], zmq.Socket[bytes]],
) -> None:
    router, _ = pair
    assert next_routed(router) is None


def test_next_routed_gives_the_peer_id_and_a_lone_part(
    pair: tuple[zmq.Socket[bytes], zmq.Socket[bytes]],
) -> None:
    router, dealer = pair
    dealer.send(b"frame")
    _arrived(router)
    assert next_routed(router) == [b"peer", b"frame"]
    assert next_routed(router) is None


def test_next_routed_gives_every_part_of_each_message_in_order(
    pair: tuple[zmq.Socket[bytes], zmq.Socket[bytes]],
) -> None:
    router, dealer = pair
    dealer.send_multipart([b"", b"kind", b"a", b"b"])
    dealer.send(b"next")
    _arrived(router)
    assert next_routed(router) == [b"peer", b"", b"kind", b"a", b"b"]
    _arrived(router)
    assert next_routed(router) == [b"peer", b"next"]


def test_next_message_gives_a_whole_message_then_none(
    pair: tuple[zmq.Socket[bytes], zmq.Socket[bytes]],
) -> None:
    router, dealer = pair
    router.send_multipart([b"peer", b"x", b"y"])
    _arrived(dealer)
    assert next_message(dealer) == [b"x", b"y"]
    assert next_message(dealer) is None
