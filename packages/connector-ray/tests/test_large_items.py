"""Large items cross Ray's object store; only a small entry crosses the hub actor.

End to end through real hub actors (the hub on its own, with real object refs:
`test_hub_refs.py`; a sender process that exits after `close()`: `test_spawned_processes.py`;
attacks: `tests/security/test_ray_large_attacks.py`).
"""

from __future__ import annotations

import array
import asyncio
import pickle
import secrets
from collections.abc import Callable
from typing import Any

import pytest
import ray
from pydantic import ValidationError

from connector_core.codec import Codec
from connector_core.envelope import SENDER_SIZE
from connector_core.settings import Settings
from connector_core.spec import ConnectorMode
from connector_core.testing import drain, transport_of, unique_spec
from connector_ray import NAMESPACE, RayConnector
from connector_ray.hub_protocol import RefEntry, Status
from connector_ray.hub_refs import as_frame
from connector_ray.large import Dropped, LargeFrames
from connector_ray.sender import RaySender
from connector_ray.settings import DEFAULT_LARGE_FRAME_BYTES, RaySettings

pytestmark = pytest.mark.ray

STEP = 60.0
THRESHOLD = 4096
"""`large_frame_bytes` of these tests' connectors: frames of 4 KiB and more are large."""
SIZE = 64 * 1024
"""Bytes of a large item here (well above `THRESHOLD`, small enough to be quick)."""


def _connector(mode: ConnectorMode = ConnectorMode.PIPELINE, **kwargs: Any) -> RayConnector:
    settings = RaySettings(large_frame_bytes=THRESHOLD)
    return RayConnector(unique_spec(mode), ray_settings=settings, maxsize=16, **kwargs)


def _large(i: int) -> bytes:
    return bytes([i % 256]) * SIZE


def _mixed(count: int) -> list[Any]:
    """Small items with a large one every third, each telling where it belongs."""
    return [_large(i) if i % 3 == 0 else i for i in range(count)]


async def _status(connector: RayConnector) -> dict[str, Any]:
    handle: Any = ray.get_actor(connector.actor_name, namespace=NAMESPACE)
    status: dict[str, Any] = await asyncio.wait_for(handle.status.remote(), STEP)
    return status


async def _until_hub(connector: RayConnector, ready: Callable[[dict[str, Any]], bool]) -> Any:
    """The hub's status once `ready` says so; fails after `STEP` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + STEP
    while not ready(status := await _status(connector)):
        assert loop.time() < deadline, f"the hub never got there: {status}"
        await asyncio.sleep(0.05)  # polling: a put the hub accepted raises no event here
    return status


@pytest.mark.parametrize("mode", list(ConnectorMode), ids=lambda m: m.value)
async def test_large_items_arrive_intact_and_in_order_among_small_ones(
    mode: ConnectorMode,
) -> None:
    connector = _connector(mode)
    receivers = [await connector.connect_recv() for _ in range(2)]
    sender = await connector.connect_send()
    items = _mixed(12)
    for item in items[:6]:
        await sender.send(item)
    await sender.send_many(items[6:])  # one large item among them makes a large frame
    await sender.close()
    if mode is ConnectorMode.PUBSUB:
        for receiver in receivers:
            assert await drain(receiver, STEP) == items
    else:
        assert await drain(receivers[0], STEP) == items
        assert await drain(receivers[1], STEP) == []
    assert all(r.statistics().rejected == 0 for r in receivers)


async def test_the_hub_queues_references_and_never_the_large_payloads() -> None:
    connector = _connector()
    receiver = await connector.connect_recv()
    sender = await connector.connect_send()
    items = _mixed(9)
    for item in items:
        await sender.send(item)
    status = await _until_hub(connector, lambda s: s["buffered"] == len(items))
    assert status["refs"] == 3
    assert status["inline_bytes"] < 100 * 6  # the six small frames, no large payload
    assert [await receiver.recv() for _ in items] == items
    drained = await _status(connector)
    assert (drained["refs"], drained["inline_bytes"], drained["fetching"]) == (0, 0, 0)
    await sender.close()
    assert await drain(receiver, STEP) == []


async def test_a_closing_sender_hands_its_queued_large_items_to_the_hub() -> None:
    connector = _connector()
    receiver = await connector.connect_recv()
    sender = await connector.connect_send()
    for i in range(3):
        await sender.send(_large(i))
    await sender.close()
    status = await _status(connector)
    assert status["refs"] == 0  # its process owns the objects: the hub took their bytes
    assert status["inline_bytes"] >= 3 * SIZE
    assert await drain(receiver, STEP) == [_large(i) for i in range(3)]


async def test_a_pipeline_receiver_gives_back_the_large_items_it_did_not_return() -> None:
    connector = _connector()
    first = await connector.connect_recv()
    second = await connector.connect_recv()
    sender = await connector.connect_send()
    for i in range(4):
        await sender.send(_large(i))
    await _until_hub(connector, lambda s: s["buffered"] == 4)
    assert await asyncio.wait_for(first.recv(), STEP) == _large(0)
    assert first.statistics().buffered == 3  # the rest of its batch, fetched and verified
    await first.close()
    await sender.close()
    assert await drain(second, STEP) == [_large(i) for i in range(1, 4)]
    assert second.statistics().rejected == 0


async def test_a_receiver_drops_entries_whose_tag_object_or_frame_does_not_check_out() -> None:
    connector = _connector()
    receiver = await connector.connect_recv()
    sender = await connector.connect_send()
    tx = transport_of(sender, RaySender)
    handle, member = tx._link.handle, tx._link.sender
    assert member is not None
    name = f"ray:{connector.job_id}:{connector.spec.id}"
    party = secrets.token_bytes(SENDER_SIZE)
    large = LargeFrames(connector.codec)

    def entry(value: object, tag: bytes | None = None) -> RefEntry:
        ref = ray.put(value)
        return RefEntry(ref, large.tag(ref) if tag is None else tag)

    entries = [
        entry(Codec.generate().bound(name).seal([_large(1)], party, 1)),  # another key
        entry(Codec(connector.codec.serializer).bound(name).seal([_large(2)], party, 2)),
        entry(connector.codec.seal([_large(3)], party, 3), tag=b"\0" * 32),  # forged tag
        entry({"not": "a frame"}),
    ]
    reply = await asyncio.wait_for(handle.put.remote(*member, entries, [1] * 4), STEP)
    assert (reply.status, reply.accepted) == (Status.OK, 4)
    await sender.send("legit")
    assert await asyncio.wait_for(receiver.recv(), STEP) == "legit"
    assert receiver.statistics().rejected == 4
    await sender.close()
    assert await drain(receiver, STEP) == []


async def test_an_unsigned_connection_moves_large_items_inline() -> None:
    connector = _connector(settings=Settings(sign_messages=False, _env_file=None))
    receiver = await connector.connect_recv()
    sender = await connector.connect_send()
    await sender.send(_large(7))
    status = await _until_hub(connector, lambda s: s["buffered"] == 1)
    assert (status["refs"], status["inline_bytes"] > SIZE) == (0, True)
    await sender.close()
    assert await drain(receiver, STEP) == [_large(7)]


async def test_a_receiver_without_a_key_fetches_no_entry() -> None:
    unsigned = Codec()
    signed = LargeFrames(Codec.generate())
    ref = ray.put(b"frame")
    resolved = await LargeFrames(unsigned).resolve([RefEntry(ref, signed.tag(ref)), b"inline"])
    assert resolved[1] == b"inline"
    assert isinstance(resolved[0], Dropped)
    assert "does not sign" in resolved[0].reason
    assert LargeFrames(unsigned).smallest is None


def test_large_frame_bytes_defaults_to_one_mib_and_travels_with_the_connector(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("CONNECTOR_RAY_LARGE_FRAME_BYTES", raising=False)
    assert RaySettings(_env_file=None).large_frame_bytes == DEFAULT_LARGE_FRAME_BYTES == 2**20
    monkeypatch.setenv("CONNECTOR_RAY_LARGE_FRAME_BYTES", "65536")
    assert RaySettings(_env_file=None).large_frame_bytes == 65536
    connector = _connector()
    assert connector.large_frame_bytes == THRESHOLD
    copy: RayConnector = pickle.loads(pickle.dumps(connector))
    assert copy.large_frame_bytes == THRESHOLD


@pytest.mark.parametrize("value", [0, -1, 1023, "12", "many"])
def test_a_bad_large_frame_bytes_says_what_it_must_be(
    monkeypatch: pytest.MonkeyPatch, value: object
) -> None:
    monkeypatch.setenv("CONNECTOR_RAY_LARGE_FRAME_BYTES", str(value))
    with pytest.raises(ValidationError, match="large_frame_bytes") as raised:
        RaySettings(_env_file=None)
    if value != "many":
        assert "must be at least 1024 bytes" in str(raised.value)
        assert "CONNECTOR_RAY_LARGE_FRAME_BYTES" in str(raised.value)


def test_an_entry_tag_depends_on_the_key_the_connection_and_the_object() -> None:
    codec = Codec.generate()
    ours = LargeFrames(codec.bound("ray:job:a"))
    ref, other = ray.put(b"x"), ray.put(b"x")
    same_key = Codec(key=codec.__getstate__()[1]).bound("ray:job:a")
    assert ours.tag(ref) == LargeFrames(same_key).tag(ref)
    assert ours.tag(ref) != ours.tag(other)
    assert ours.tag(ref) != LargeFrames(codec.bound("ray:job:b")).tag(ref)
    assert ours.tag(ref) != LargeFrames(Codec.generate().bound("ray:job:a")).tag(ref)


async def test_a_staged_frame_is_fetched_as_a_read_only_view_of_the_store_not_a_copy() -> None:
    frame = _large(7)
    entry = await LargeFrames(Codec.generate().bound("ray:job:a")).stage(frame)
    fetched = as_frame(await entry.ref)
    assert type(fetched) is memoryview
    assert fetched.readonly
    assert fetched == frame


def test_a_fetched_object_is_a_frame_only_when_it_is_bytes_or_a_flat_byte_buffer() -> None:
    assert as_frame(b"frame") == b"frame"
    assert as_frame(memoryview(b"frame")) == b"frame"
    assert as_frame(array.array("i", [1, 2, 3])) is None  # a buffer of other items
    assert as_frame(memoryview(b"abcd").cast("B", (2, 2))) is None  # not flat
    assert as_frame({"not": "a frame"}) is None
    assert as_frame(RuntimeError("lost")) is None
