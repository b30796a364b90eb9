"""A lone `send()` is sealed and shipped at once (bursts in runs: the conformance suite)."""

from __future__ import annotations

import asyncio

from connector_core.spec import ConnectorMode
from connector_core.testing import STEP_TIMEOUT
from connector_core.testing import unique_spec as spec
from connector_zmq import ZMQChannel, ZMQConnector


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
