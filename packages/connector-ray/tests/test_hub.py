"""`ChannelHub` on its own (no Ray): membership and end (a core `Lifecycle`), room in items."""

from __future__ import annotations

import asyncio

import pytest

from connector_ray.hub import ChannelHub
from connector_ray.hub_protocol import Reply, Role, Status

DEADLINE = 30


async def test_a_sender_cannot_join_after_every_sender_closed() -> None:
    hub = ChannelHub(pubsub=False, maxsize=10)
    sent = await hub.register(Role.SEND)
    await hub.register(Role.RECV)
    await hub.close_sender(sent.ident, sent.token, [])
    assert (await hub.register(Role.SEND)).status == Status.ENDED


async def test_a_role_other_than_send_or_recv_is_refused_with_the_roles_named() -> None:
    hub = ChannelHub(pubsub=False, maxsize=10)
    with pytest.raises(ValueError, match="role must be 'send' or 'recv', got 'listen'"):
        await hub.register("listen")
    assert (await hub.register("send")).status == Status.OK  # the plain value is a role too


async def test_the_release_is_reported_once_when_everyone_has_gone() -> None:
    hub = ChannelHub(pubsub=True, maxsize=10)
    sent = await hub.register(Role.SEND)
    got = await hub.register(Role.RECV)
    assert not (await hub.close_sender(sent.ident, sent.token, [b"x"])).release
    assert (await hub.get(got.ident, got.token, 10)).frames == [b"x"]
    end = await hub.get(got.ident, got.token, 10)
    assert (end.status, end.release, end.receivers) == (Status.END, True, 0)
    assert not (await hub.close_receiver(got.ident, got.token, [])).release


async def test_receivers_alone_release_the_hub_without_an_end() -> None:
    hub = ChannelHub(pubsub=False, maxsize=10)
    got = await hub.register(Role.RECV)
    assert (await hub.close_receiver(got.ident, got.token, [])).release
    assert not (await hub.status())["ended"]


async def test_pipeline_frames_keep_the_hub_for_a_first_receiver() -> None:
    hub = ChannelHub(pubsub=False, maxsize=10)
    sent = await hub.register(Role.SEND)
    assert not (await hub.close_sender(sent.ident, sent.token, [b"x"])).release
    got = await hub.register(Role.RECV)
    assert got.status == Status.OK
    assert (await hub.get(got.ident, got.token, 10)).frames == [b"x"]
    assert (await hub.get(got.ident, got.token, 10)).release


async def test_a_frame_of_maxsize_items_leaves_no_room_until_it_is_taken() -> None:
    hub = ChannelHub(pubsub=False, maxsize=4)
    sent = await hub.register(Role.SEND)
    got = await hub.register(Role.RECV)
    assert (await hub.put(sent.ident, sent.token, [b"four"], [4])).accepted == 1
    started = asyncio.Event()

    async def put_one() -> Reply:
        started.set()
        return await hub.put(sent.ident, sent.token, [b"one"], [1])

    waiting = asyncio.create_task(put_one())
    await started.wait()  # the put ran until it waited, or until it was answered
    assert not waiting.done(), "a frame was accepted beside 4 items in a hub of maxsize 4"
    assert (await hub.get(got.ident, got.token, 10)).frames == [b"four"]
    assert (await asyncio.wait_for(waiting, DEADLINE)).accepted == 1
    assert (await hub.status())["buffered"] == 1


async def test_a_put_accepts_the_longest_prefix_of_whole_frames_whose_items_fit() -> None:
    hub = ChannelHub(pubsub=False, maxsize=4)
    sent = await hub.register(Role.SEND)
    got = await hub.register(Role.RECV)
    reply = await hub.put(sent.ident, sent.token, [b"a", b"b", b"c"], [3, 2, 1])
    assert reply.accepted == 1  # "b" does not fit whole, and "c" may not overtake it
    assert (await hub.status())["buffered"] == 3
    assert (await hub.get(got.ident, got.token, 10)).frames == [b"a"]


async def test_a_get_hands_out_whole_frames_of_at_most_limit_items_and_at_least_one() -> None:
    hub = ChannelHub(pubsub=False, maxsize=10)
    sent = await hub.register(Role.SEND)
    got = await hub.register(Role.RECV)
    await hub.put(sent.ident, sent.token, [b"a", b"b", b"c"], [2, 2, 3])
    assert (await hub.get(got.ident, got.token, 3)).frames == [b"a"]
    assert (await hub.get(got.ident, got.token, 1)).frames == [b"b"]
    assert (await hub.get(got.ident, got.token, 5)).frames == [b"c"]


async def test_a_frame_heavier_than_maxsize_goes_in_alone_once_the_fifo_is_empty() -> None:
    hub = ChannelHub(pubsub=False, maxsize=4)
    sent = await hub.register(Role.SEND)
    await hub.register(Role.RECV)
    reply = await hub.put(sent.ident, sent.token, [b"big", b"small"], [6, 1])
    assert reply.accepted == 1
    assert (await hub.status())["buffered"] == 6


async def test_pubsub_room_is_that_of_the_fullest_subscriber_in_items() -> None:
    hub = ChannelHub(pubsub=True, maxsize=4)
    sent = await hub.register(Role.SEND)
    fast = await hub.register(Role.RECV)
    await hub.register(Role.RECV)  # never takes anything
    assert (await hub.put(sent.ident, sent.token, [b"three"], [3])).accepted == 1
    assert (await hub.get(fast.ident, fast.token, 10)).frames == [b"three"]
    reply = await hub.put(sent.ident, sent.token, [b"one", b"two"], [1, 2])
    assert reply.accepted == 1  # the idle subscriber holds 3 of 4 items


async def test_frames_a_closing_receiver_gives_back_keep_their_items() -> None:
    hub = ChannelHub(pubsub=False, maxsize=4)
    sent = await hub.register(Role.SEND)
    first = await hub.register(Role.RECV)
    await hub.register(Role.RECV)
    await hub.put(sent.ident, sent.token, [b"three"], [3])
    taken = (await hub.get(first.ident, first.token, 10)).frames
    await hub.close_receiver(first.ident, first.token, taken, [3])
    assert (await hub.status())["buffered"] == 3
    reply = await hub.put(sent.ident, sent.token, [b"one", b"two"], [1, 2])
    assert reply.accepted == 1
