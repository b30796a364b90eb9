"""Signed control-log entries and end-of-stream markers, without a broker.

A `ControlLog` folds only entries its connection's codec signed; a copied entry changes
nothing; an end-of-stream marker verifies only for its own sender and connection.
"""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any

from connector_core.codec import Codec
from connector_rabbitmq.control import CLOSE, JOIN, LEAVE, OPEN, ControlLog, LogState
from connector_rabbitmq.messages import marker_body, marker_valid

KEY = b"k" * 8 + b"e" * 8 + b"y" * 16


def _codec(name: str = "rabbitmq:job:spec", key: bytes = KEY) -> Codec:
    return Codec(key=key).bound(name)


class _Entry:
    """Stands in for an incoming stream message: a body and its stream offset."""

    def __init__(self, body: bytes, offset: int) -> None:
        self.body = body
        self.headers = {"x-stream-offset": offset}
        self.acked = False

    async def ack(self) -> None:
        self.acked = True


class _Exchange:
    """Records what is published instead of sending it."""

    def __init__(self) -> None:
        self.sent: list[Any] = []

    async def publish(self, message: Any, routing_key: str, mandatory: bool) -> None:
        self.sent.append(message)


async def _signed_body(codec: Codec, kind: str, party: str, queue: str | None = None) -> bytes:
    """The body `ControlLog.append` publishes for this entry."""
    exchange = _Exchange()
    channel = SimpleNamespace(is_closed=False, default_exchange=exchange)
    log = ControlLog(channel, "ctl", codec=codec)  # type: ignore[arg-type]
    await log.append(kind, party, queue)
    return bytes(exchange.sent[0].body)


async def _read(log: ControlLog, *bodies: bytes) -> None:
    for offset, body in enumerate(bodies):
        entry = _Entry(body, offset)
        await log._on_message(entry)  # type: ignore[arg-type]
        assert entry.acked


def _reader(codec: Codec | None) -> ControlLog:
    return ControlLog(SimpleNamespace(), "ctl", codec=codec)  # type: ignore[arg-type]


async def test_a_signed_entry_is_folded_and_an_unsigned_one_is_dropped_and_counted() -> None:
    codec = _codec()
    opened = await _signed_body(codec, OPEN, "s-1")
    forged = json.dumps({"k": CLOSE, "p": "s-1"}).encode()
    log = _reader(codec)

    await _read(log, opened, forged)

    assert log.state.open_senders() == {"s-1"}
    assert log.rejected == 1


async def test_an_entry_whose_fields_were_changed_after_signing_is_dropped() -> None:
    codec = _codec()
    event = json.loads(await _signed_body(codec, JOIN, "r-1", "connector.job.spec.sub.r-1"))
    event["q"] = "victim-queue"
    log = _reader(codec)

    await _read(log, json.dumps(event).encode())

    assert log.state.joined == {}
    assert log.rejected == 1


async def test_an_entry_of_another_connection_sharing_the_key_is_dropped() -> None:
    other = await _signed_body(_codec("rabbitmq:job:other-spec"), OPEN, "s-1")
    log = _reader(_codec())

    await _read(log, other)

    assert log.state.open_senders() == set()
    assert log.rejected == 1


async def test_copies_of_signed_entries_change_nothing() -> None:
    codec = _codec()
    body = {kind: await _signed_body(codec, kind, "s-1") for kind in (OPEN, CLOSE)}
    join = await _signed_body(codec, JOIN, "r-1", "q")
    leave = await _signed_body(codec, LEAVE, "r-1")
    log = _reader(codec)

    await _read(log, body[OPEN], body[CLOSE], join, leave, body[OPEN], join)

    assert log.state.open_senders() == set()  # the copied open did not reopen s-1
    assert log.state.live_receivers() == set()  # nor the copied join bring r-1 back
    assert log.rejected == 0


async def test_a_reader_without_a_codec_reads_every_well_formed_entry() -> None:
    log = _reader(None)  # purge: no key; cleanup filters the queue names by prefix

    await _read(log, json.dumps({"k": OPEN, "p": "s-1"}).encode())

    assert log.state.open_senders() == {"s-1"}


def test_a_log_state_folds_each_kind_and_party_once() -> None:
    state = LogState()
    state.apply(0, OPEN, "s-1", None)
    state.apply(1, CLOSE, "s-1", None)
    state.apply(2, OPEN, "s-1", None)
    assert state.quiescent()


def test_an_end_marker_verifies_only_for_its_sender_and_connection() -> None:
    codec = _codec()
    body = marker_body(codec, "s-1")

    assert marker_valid(codec, body, "s-1")
    assert not marker_valid(codec, body, "s-2")
    assert not marker_valid(_codec("rabbitmq:job:other-spec"), body, "s-1")
    assert not marker_valid(codec, b"", "s-1")
    assert not marker_valid(_codec(key=b"x" * 32), body, "s-1")
