"""Which receiver gets a sender's next batch, and what the sender has out."""

from __future__ import annotations

from typing import Any, cast

from connector_zmq.peers import Peer, next_with_credit, unacked


def _ring(*credits: int) -> list[Peer]:
    ring = [Peer(f"r{i}".encode(), cast(Any, None)) for i in range(len(credits))]
    for peer, credit in zip(ring, credits, strict=True):
        peer.credit = credit
    return ring


def test_the_next_batch_goes_round_robin_to_a_peer_with_enough_credit() -> None:
    ring = _ring(10, 10, 10)
    index, peer = next_with_credit(ring, 0, 5)
    assert (index, peer) == (1, ring[1])
    index, peer = next_with_credit(ring, index, 5)
    assert (index, peer) == (2, ring[2])
    assert next_with_credit(ring, index, 5) == (0, ring[0])


def test_a_peer_without_enough_credit_is_passed_over() -> None:
    ring = _ring(10, 2, 10)
    assert next_with_credit(ring, 0, 5) == (2, ring[2])


def test_no_peer_with_enough_credit_gives_none() -> None:
    assert next_with_credit(_ring(1, 2), 0, 5)[1] is None
    assert next_with_credit(_ring(4), 0, 5)[1] is None
    lone = _ring(5)
    assert next_with_credit(lone, 0, 5) == (0, lone[0])


def test_unacked_is_the_sum_in_a_pipeline_and_the_slowest_in_pubsub() -> None:
    ring = _ring(0, 0, 0)
    for peer, out in zip(ring, (3, 7, 1), strict=True):
        peer.unacked = out
    assert unacked(ring, pubsub=False) == 11
    assert unacked(ring, pubsub=True) == 7
    assert unacked([], pubsub=True) == 0
