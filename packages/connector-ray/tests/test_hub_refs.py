"""`ChannelHub` with large-frame entries (`RefEntry`), called directly, with real object refs.

The hub queues entries like frames and does not fetch them, except that a closing sender's
queued entries are put inline (its process owns their objects) and its close waits until
the receivers handed its entries have fetched them.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import ray

from connector_ray.hub import ChannelHub
from connector_ray.hub_protocol import RefEntry, Reply, Role, Status

pytestmark = pytest.mark.ray

DEADLINE = 30


def _entry(frame: bytes) -> RefEntry:
    return RefEntry(ray.put(frame), b"t" * 32)


def _reference_counted(ref_hex: str) -> bool:
    """True while this process's Ray core worker still counts a reference to the object."""
    worker: Any = ray._private.worker.global_worker
    return ref_hex.encode() in worker.core_worker.get_all_reference_counts()


async def _joined(hub: ChannelHub, role: str) -> Reply:
    reply = await hub.register(role)
    assert reply.status == Status.OK
    return reply


async def test_entries_weigh_their_items_and_the_hub_holds_no_payload() -> None:
    hub = ChannelHub(pubsub=False, maxsize=10)
    sent = await _joined(hub, Role.SEND)
    await _joined(hub, Role.RECV)
    frames: list[Any] = [_entry(b"L" * 5000), b"small", _entry(b"M" * 5000)]
    reply = await hub.put(sent.ident, sent.token, frames, [3, 1, 2])
    assert reply.accepted == 3
    status = await hub.status()
    assert (status["buffered"], status["refs"], status["inline_bytes"]) == (6, 2, len(b"small"))


async def test_a_taken_entry_is_no_longer_referenced_by_the_hub() -> None:
    hub = ChannelHub(pubsub=False, maxsize=10)
    sent = await _joined(hub, Role.SEND)
    got = await _joined(hub, Role.RECV)
    entry = _entry(b"x" * 200_000)
    ref_hex = entry.ref.hex()
    await hub.put(sent.ident, sent.token, [entry])
    del entry
    assert _reference_counted(ref_hex)  # the hub's FIFO holds it
    taken = (await hub.get(got.ident, got.token, 10)).frames
    assert [type(f) for f in taken] == [RefEntry]
    assert ray.get(taken[0].ref) == b"x" * 200_000  # type: ignore[union-attr]
    del taken
    assert not _reference_counted(ref_hex)  # the receiver had the last reference
    await hub.fetched(got.ident, got.token)
    assert (await hub.status())["fetching"] == 0


async def test_a_closing_sender_puts_its_queued_entries_inline_in_their_place() -> None:
    hub = ChannelHub(pubsub=True, maxsize=10)
    first = await _joined(hub, Role.SEND)
    second = await _joined(hub, Role.SEND)
    got = await _joined(hub, Role.RECV)
    other = _entry(b"theirs")
    await hub.put(first.ident, first.token, [_entry(b"one"), b"two"])
    await hub.put(second.ident, second.token, [other])
    await hub.put(first.ident, first.token, [_entry(b"three")])
    reply = await asyncio.wait_for(hub.close_sender(first.ident, first.token, []), DEADLINE)
    assert reply.status == Status.OK
    taken = (await hub.get(got.ident, got.token, 10)).frames
    assert taken[:2] == [b"one", b"two"]
    assert isinstance(taken[2], RefEntry)
    assert taken[2].ref == other.ref  # still theirs, an entry
    assert taken[2].sender == second.ident
    assert taken[3] == b"three"


async def test_a_closing_sender_waits_until_its_handed_out_entries_are_fetched() -> None:
    hub = ChannelHub(pubsub=False, maxsize=10)
    sent = await _joined(hub, Role.SEND)
    got = await _joined(hub, Role.RECV)
    await hub.put(sent.ident, sent.token, [_entry(b"big")])
    assert len((await hub.get(got.ident, got.token, 10)).frames) == 1
    started = asyncio.Event()

    async def close() -> Reply:
        started.set()
        return await hub.close_sender(sent.ident, sent.token, [])

    closing = asyncio.create_task(close())
    await started.wait()  # the close ran until it waited, or until it was answered
    assert not closing.done(), "the sender left while its entry was out, unfetched"
    assert (await hub.status())["fetching"] == 1
    assert (await hub.fetched(got.ident, got.token)).status == Status.OK
    assert (await asyncio.wait_for(closing, DEADLINE)).status == Status.OK


async def test_a_receiver_gives_back_frames_never_entries() -> None:
    hub = ChannelHub(pubsub=False, maxsize=10)
    got = await _joined(hub, Role.RECV)
    given: list[Any] = [_entry(b"x")]
    assert (await hub.close_receiver(got.ident, got.token, given)).status == Status.DENIED
    assert (await hub.close_receiver(got.ident, got.token, [b"x"])).status == Status.OK


@pytest.mark.parametrize(
    "bad",
    [
        RefEntry(b"not a ref", b"t"),  # type: ignore[arg-type]
        ("a", "tuple"),
        RefEntry(None, b"t"),  # type: ignore[arg-type]
    ],
)
async def test_an_entry_that_is_not_an_object_ref_with_a_tag_is_denied(bad: Any) -> None:
    hub = ChannelHub(pubsub=False, maxsize=10)
    sent = await _joined(hub, Role.SEND)
    assert (await hub.put(sent.ident, sent.token, [bad])).status == Status.DENIED
    assert (await hub.status())["buffered"] == 0
