"""A lone `send()` is sealed and shipped at once (bursts in runs: the conformance suite)."""

from __future__ import annotations

import asyncio

import pytest

from connector_core.spec import ConnectorMode
from connector_core.testing import STEP_TIMEOUT
from connector_core.testing import unique_spec as spec
from connector_zmq import ZMQChannel, ZMQConnector
from connector_zmq.protocol import TURN_BYTES
from connector_zmq.receiver import ReceiverLink


async def _pipeline() -> tuple[ZMQChannel, ZMQChannel]:
    """A pipeline's receiver and then its sender, in this process."""
    connector = ZMQConnector(spec(ConnectorMode.PIPELINE))
    receiver = await connector.connect_recv()
    return receiver, await connector.connect_send()


async def test_a_lone_item_leaves_before_the_sender_yields_again() -> None:
    receiver, sender = await _pipeline()
    await sender.send("lone")
    assert sender._sealer.seq == 1  # sealed and shipped within send(): no batch waited
    async with asyncio.timeout(STEP_TIMEOUT):
        assert await receiver.recv() == "lone"
    await sender.close()
    await receiver.close()


async def test_a_send_and_recv_loop_in_one_task_never_waits_for_a_turn_of_the_loop() -> None:
    receiver, sender = await _pipeline()
    turned: list[bool] = []
    asyncio.get_running_loop().call_soon(turned.append, True)
    for item in range(5):  # from the second on, send() batches behind a flush that is due
        await sender.send(item)
        assert await receiver.recv() == item
    assert not turned  # the receiver ran the due flush itself
    await sender.close()
    await receiver.close()


async def test_what_a_first_look_leaves_unread_is_read_at_the_next_turn_of_the_loop() -> None:
    receiver, sender = await _pipeline()
    await sender.send("a")  # shipped at once
    await sender.send("b")  # behind the due flush, which the receiver's recv() runs
    assert await receiver.recv() == "a"  # its first look stops there: "b" is unread
    async with asyncio.timeout(STEP_TIMEOUT):
        # the sender's END (behind "b") is read, and answered, while nobody calls recv()
        await sender.close()
    assert await receiver.recv() == "b"
    await receiver.close()


async def test_a_waiting_recv_takes_a_large_item_before_the_receiver_verifies_the_next(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    receiver, sender = await _pipeline()
    link = receiver._rx
    assert isinstance(link, ReceiverLink)
    waits, wait_changed = asyncio.Event(), link._wait_changed

    async def noted_wait() -> None:  # the recv() below waits for the pump from here on
        waits.set()
        await wait_changed()

    async def first_then_buffered() -> int:
        await receiver.recv()
        return receiver.statistics().buffered  # verified and waiting, when it got the first

    monkeypatch.setattr(link, "_wait_changed", noted_wait)
    consumer = asyncio.create_task(first_then_buffered())
    items = [list(range(n, n + TURN_BYTES // 4)) for n in range(3)]  # each over TURN_BYTES
    async with asyncio.timeout(STEP_TIMEOUT):
        await waits.wait()
        await sender.send_many(items)  # sealed at once: the three arrive together
        # its credit went back before the next item was verified: the sender ships on
        assert await consumer == 0
        assert [await receiver.recv() for _ in range(2)] == items[1:]
    await sender.close()
    await receiver.close()
