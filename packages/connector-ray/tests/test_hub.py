"""`ChannelHub` on its own (no Ray): membership and end, kept in a core `Lifecycle`."""

from __future__ import annotations

from connector_ray.hub import END, ENDED, OK, RECV, SEND, ChannelHub


async def test_a_sender_cannot_join_after_every_sender_closed() -> None:
    hub = ChannelHub(pubsub=False, maxsize=10)
    sent = await hub.register(SEND)
    await hub.register(RECV)
    await hub.close_sender(sent.ident, sent.token, [])
    assert (await hub.register(SEND)).status == ENDED


async def test_the_release_is_reported_once_when_everyone_has_gone() -> None:
    hub = ChannelHub(pubsub=True, maxsize=10)
    sent = await hub.register(SEND)
    got = await hub.register(RECV)
    assert not (await hub.close_sender(sent.ident, sent.token, [b"x"])).release
    assert (await hub.get(got.ident, got.token, 10)).frames == [b"x"]
    end = await hub.get(got.ident, got.token, 10)
    assert (end.status, end.release, end.receivers) == (END, True, 0)
    assert not (await hub.close_receiver(got.ident, got.token, [])).release


async def test_receivers_alone_release_the_hub_without_an_end() -> None:
    hub = ChannelHub(pubsub=False, maxsize=10)
    got = await hub.register(RECV)
    assert (await hub.close_receiver(got.ident, got.token, [])).release
    assert not (await hub.status())["ended"]


async def test_pipeline_frames_keep_the_hub_for_a_first_receiver() -> None:
    hub = ChannelHub(pubsub=False, maxsize=10)
    sent = await hub.register(SEND)
    assert not (await hub.close_sender(sent.ident, sent.token, [b"x"])).release
    got = await hub.register(RECV)
    assert got.status == OK
    assert (await hub.get(got.ident, got.token, 10)).frames == [b"x"]
    assert (await hub.get(got.ident, got.token, 10)).release
