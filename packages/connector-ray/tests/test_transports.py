"""`RaySender` and `RayReceiver` against an in-process `ChannelHub` (no actor in between)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from connector_core.codec import Codec
from connector_core.testing import drain
from connector_ray.channel import RayChannel
from connector_ray.hub import ChannelHub
from connector_ray.hub_protocol import Reply, Role
from connector_ray.link import HubLink
from connector_ray.receiver import RayReceiver
from connector_ray.sender import RaySender

CODEC = Codec.generate()
DEADLINE = 30


class _Hub:
    """Calls a `ChannelHub` the way an actor handle does (`hub.put.remote(...)`), recording
    every `put` as (frames offered, frames accepted) once it is answered."""

    def __init__(self, pubsub: bool, maxsize: int) -> None:
        self.hub = ChannelHub(pubsub, maxsize)
        self.pubsub = pubsub
        self.puts: list[tuple[int, int]] = []
        self.waiting = 0  # put calls answered or not
        self._changed = asyncio.Condition()

    def __getattr__(self, name: str) -> Any:
        method = getattr(self.hub, name)

        class _Remote:
            @staticmethod
            def remote(*args: Any) -> asyncio.Future[Reply]:
                copied = [list(a) if isinstance(a, list) else a for a in args]
                return asyncio.ensure_future(self._call(name, method, copied))

        return _Remote()

    async def _call(self, name: str, method: Any, args: list[Any]) -> Reply:
        if name == "put":
            await self._note(lambda: setattr(self, "waiting", self.waiting + 1))
        reply: Reply = await method(*args)
        if name == "put":
            await self._note(lambda: self.puts.append((len(args[2]), reply.accepted)))
        return reply

    async def _note(self, change: Callable[[], None]) -> None:
        async with self._changed:
            change()
            self._changed.notify_all()

    async def until(self, ready: Callable[[], bool]) -> None:
        async def wait() -> None:
            async with self._changed:
                await self._changed.wait_for(ready)

        await asyncio.wait_for(wait(), DEADLINE)

    async def channel(self, role: str, batch: int, maxsize: int) -> RayChannel:
        link = HubLink(self, None, role, await self.hub.register(role))
        if role == Role.SEND:
            return RayChannel(sender=RaySender(link, batch, maxsize), codec=CODEC, maxsize=maxsize)
        receiver = RayReceiver(link, CODEC, batch, pubsub=self.pubsub)
        return RayChannel(receiver=receiver, codec=CODEC, maxsize=maxsize)


async def test_a_batch_the_hub_takes_in_part_is_finished_first_and_in_order() -> None:
    hub = _Hub(pubsub=False, maxsize=4)
    receiver = await hub.channel(Role.RECV, batch=4, maxsize=4)
    sender = await hub.channel(Role.SEND, batch=4, maxsize=4)
    # one frame per item (a run of send()s would leave as one frame), counted in frames
    for i in range(3):
        await sender.send_many([i])
    await hub.until(lambda: sum(accepted for _, accepted in hub.puts) == 3)
    for i in range(3, 6):
        await sender.send_many([i])  # the hub has room for one of them
    await hub.until(lambda: (3, 1) in hub.puts)
    await sender.close()
    assert await asyncio.wait_for(drain(receiver), DEADLINE) == list(range(6))


async def test_closing_a_sender_that_waits_at_a_full_hub_hands_everything_over() -> None:
    hub = _Hub(pubsub=False, maxsize=2)
    receiver = await hub.channel(Role.RECV, batch=2, maxsize=2)
    sender = await hub.channel(Role.SEND, batch=2, maxsize=2)
    for i in range(4):
        await sender.send(i)
    await hub.until(lambda: hub.waiting == 2 and len(hub.puts) == 1)  # the second put waits
    await asyncio.wait_for(sender.close(), DEADLINE)
    assert await asyncio.wait_for(drain(receiver), DEADLINE) == [0, 1, 2, 3]


async def test_a_pipeline_receiver_gives_back_the_frames_it_did_not_return() -> None:
    hub = _Hub(pubsub=False, maxsize=10)
    first = await hub.channel(Role.RECV, batch=10, maxsize=10)
    second = await hub.channel(Role.RECV, batch=10, maxsize=10)
    sender = await hub.channel(Role.SEND, batch=10, maxsize=10)
    for i in range(6):
        await sender.send(i)
    await sender.close()
    assert await asyncio.wait_for(first.recv(), DEADLINE) == 0
    assert first.statistics().buffered == 5  # the rest of its batch, verified on arrival
    await first.close()
    assert await asyncio.wait_for(drain(second), DEADLINE) == [1, 2, 3, 4, 5]
    assert second.statistics().rejected == 0


async def test_a_standalone_channel_closed_before_first_use_ends_without_a_hub() -> None:
    channel = RayChannel(maxsize=10)
    await channel.close()
    assert await asyncio.wait_for(drain(channel), DEADLINE) == []


async def test_a_sender_states_the_items_of_each_frame_to_the_hub() -> None:
    hub = _Hub(pubsub=False, maxsize=8)
    await hub.channel(Role.RECV, batch=8, maxsize=8)
    sender = await hub.channel(Role.SEND, batch=8, maxsize=8)
    await sender.send_many(range(5))
    await hub.until(lambda: hub.puts == [(1, 1)])  # one frame offered, and accepted
    assert (await hub.hub.status())["buffered"] == 5


async def test_a_receivers_buffered_count_is_in_items() -> None:
    hub = _Hub(pubsub=False, maxsize=10)
    receiver = await hub.channel(Role.RECV, batch=10, maxsize=10)
    sender = await hub.channel(Role.SEND, batch=10, maxsize=10)
    await sender.send_many([0, 1, 2])
    await sender.send_many([3, 4, 5])
    await hub.until(lambda: sum(accepted for _, accepted in hub.puts) == 2)
    assert await asyncio.wait_for(receiver.recv(), DEADLINE) == 0
    assert receiver.statistics().buffered == 5  # 2 of the first frame, 3 of the second


async def test_a_pipeline_receiver_gives_back_frames_with_their_items() -> None:
    hub = _Hub(pubsub=False, maxsize=10)
    first = await hub.channel(Role.RECV, batch=10, maxsize=10)
    sender = await hub.channel(Role.SEND, batch=10, maxsize=10)
    await sender.send(0)
    await sender.send_many([1, 2, 3])
    await hub.until(lambda: sum(accepted for _, accepted in hub.puts) == 2)
    assert await asyncio.wait_for(first.recv(), DEADLINE) == 0
    await first.close()
    assert (await hub.hub.status())["buffered"] == 3


async def test_items_a_closing_channel_gives_back_reach_the_hub_first_with_their_count() -> None:
    hub = _Hub(pubsub=False, maxsize=10)
    first = await hub.channel(Role.RECV, batch=10, maxsize=10)
    sender = await hub.channel(Role.SEND, batch=10, maxsize=10)
    await sender.send_many([0, 1, 2])
    await sender.send(3)
    await hub.until(lambda: sum(accepted for _, accepted in hub.puts) == 2)
    assert await asyncio.wait_for(first.recv(), DEADLINE) == 0
    await first.close()  # holds 1 and 2 of the first frame, and the frame of 3
    assert (await hub.hub.status())["buffered"] == 3
    second = await hub.channel(Role.RECV, batch=10, maxsize=10)
    await sender.close()
    assert await asyncio.wait_for(drain(second), DEADLINE) == [1, 2, 3]
