"""Who the hub serves, and what a receiver accepts (no Ray; the attacks are tests/security)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from connector_core import ChannelSetupError, ConnectorSpec
from connector_core.codec import Codec
from connector_ray import RayConnector
from connector_ray.channel import RayChannel
from connector_ray.hub import ChannelHub
from connector_ray.hub_protocol import Reply, Role, Status, hub_proof, hub_verifier
from connector_ray.link import HubLink
from connector_ray.receiver import RayReceiver

CODEC = Codec.generate()
PROOF = hub_proof(CODEC)


def _hub() -> ChannelHub:
    return ChannelHub(pubsub=False, maxsize=10, verifier=hub_verifier(PROOF))


def test_the_proof_comes_from_the_key_and_the_hub_keeps_only_its_hash() -> None:
    assert PROOF is not None
    assert hub_proof(Codec(key=CODEC.__getstate__()[1])) == PROOF
    assert hub_proof(Codec.generate()) != PROOF
    assert hub_verifier(PROOF) != PROOF
    assert hub_proof(Codec(key=None)) is None


async def test_register_without_the_proof_is_denied() -> None:
    hub = _hub()
    assert (await hub.register(Role.SEND)).status == Status.DENIED
    assert (await hub.register(Role.RECV, b"\0" * 32)).status == Status.DENIED
    assert (await hub.status())["senders"] == 0


async def test_register_with_the_proof_hands_out_a_token() -> None:
    reply = await _hub().register(Role.SEND, PROOF)
    assert reply.status == Status.OK
    assert len(reply.token) == 16


async def test_a_call_with_another_participants_token_is_denied() -> None:
    hub = _hub()
    sent = await hub.register(Role.SEND, PROOF)
    got = await hub.register(Role.RECV, PROOF)
    assert (await hub.put(sent.ident, got.token, [b"x"])).status == Status.DENIED
    assert (await hub.close_sender(sent.ident, b"", [])).status == Status.DENIED
    assert (await hub.put(sent.ident, sent.token, [b"x"])).status == Status.OK
    assert (await hub.get(got.ident, sent.token, 10)).status == Status.DENIED
    assert (await hub.get(got.ident, got.token, 10)).frames == [b"x"]


async def test_a_frame_that_is_not_bytes_is_refused_before_it_is_stored() -> None:
    hub = _hub()
    sent = await hub.register(Role.SEND, PROOF)
    bad: list[Any] = [b"x", bytearray(b"y")]
    assert (await hub.put(sent.ident, sent.token, bad)).status == Status.DENIED
    assert (await hub.close_sender(sent.ident, sent.token, bad)).status == Status.DENIED
    assert (await hub.status())["buffered"] == 0


async def test_a_hub_of_an_unsigned_connection_registers_anyone() -> None:
    hub = ChannelHub(pubsub=False, maxsize=10, verifier=hub_verifier(hub_proof(Codec())))
    assert (await hub.register(Role.SEND)).status == Status.OK


async def test_a_receiver_drops_what_does_not_verify_as_it_arrives() -> None:
    joined = Reply(Status.OK, [], 0, 1, 0, 1, False, b"t" * 16)
    receiver = RayReceiver(HubLink(None, None, Role.RECV, joined), CODEC, 10, pubsub=True)
    channel = RayChannel(receiver=receiver, codec=CODEC, maxsize=10)
    forged = Codec.generate().seal([2], b"sender-1", 2)
    frames: list[Any] = [{"not": "bytes"}, CODEC.seal([1], b"sender-1", 1), forged, b"short"]
    receiver.arrived(Reply(Status.OK, frames, 0, 0, 0, 1, False))
    assert channel.statistics().rejected == 3
    assert channel.statistics().buffered == 1  # only the verified payload was kept
    assert await channel.recv() == 1
    assert channel.statistics().received == 1


async def test_a_connector_with_another_key_cannot_join_the_connection() -> None:
    spec = ConnectorSpec(f"src-{uuid.uuid4().hex[:8]}.out", "dst.in")
    ours = RayConnector(spec, job_id="trust-test")
    receiver = await ours.connect_recv()
    theirs = RayConnector(spec, job_id="trust-test")  # same hub name, a fresh random key
    with pytest.raises(ChannelSetupError, match="refused this connector's proof of its key"):
        await theirs.connect_send()
    await receiver.close()


@pytest.mark.parametrize(
    "counts", [[1], [1, 0], [1, -2], [1, True], [1, 2.0], [1, "2"], (1, 1), {0: 1, 1: 1}]
)
async def test_item_counts_other_than_one_int_of_at_least_one_per_frame_are_denied(
    counts: Any,
) -> None:
    hub = _hub()
    sent = await hub.register(Role.SEND, PROOF)
    got = await hub.register(Role.RECV, PROOF)
    frames = [b"x", b"y"]
    assert (await hub.put(sent.ident, sent.token, frames, counts)).status == Status.DENIED
    assert (await hub.close_sender(sent.ident, sent.token, frames, counts)).status == Status.DENIED
    assert (await hub.close_receiver(got.ident, got.token, frames, counts)).status == Status.DENIED
    assert (await hub.status())["buffered"] == 0
