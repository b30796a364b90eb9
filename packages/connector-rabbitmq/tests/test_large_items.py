"""Items larger than a part cross the broker in parts (`connector_rabbitmq.parts`).

The part size is set small (`PART`), so items of about `BIG` bytes go in several parts.
"""

from __future__ import annotations

import asyncio
import random
import sys
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from connector_core.di import container
from connector_core.settings import Settings
from connector_core.spec import ConnectorMode
from connector_core.testing import (
    PROCESS_TIMEOUT,
    STEP_TIMEOUT,
    connector_child,
    drain,
    run_program,
    transport_of,
    unique_spec,
)
from connector_rabbitmq import RabbitMQChannel, RabbitMQConnector, purge
from connector_rabbitmq.cleanup import leftovers, queue_length
from connector_rabbitmq.messages import Claim, claim_message, part_message
from connector_rabbitmq.receiver import RabbitMQReceiver
from connector_rabbitmq.sender import RabbitMQSender
from connector_rabbitmq.settings import RabbitMQSettings

pytestmark = [pytest.mark.rabbitmq, pytest.mark.asyncio(loop_scope="session")]

PART = 256 * 1024
BIG = 1024 * 1024 + 12_345


def _connector(mode: ConnectorMode, **settings: Any) -> RabbitMQConnector:
    settings.setdefault("part_size", PART)
    return RabbitMQConnector(
        unique_spec(mode),
        settings=Settings(end_grace=0.2),
        rabbitmq_settings=RabbitMQSettings(**settings),
    )


def _big(i: int) -> bytes:
    return random.Random(i).randbytes(BIG + i)


def _mixed(count: int) -> list[Any]:
    """Small items and large ones, one after the other."""
    items: list[Any] = []
    for i in range(count):
        items += [i, _big(i)]
    return items


async def _conn() -> Any:
    return await container.rabbitmq_conn()


def _part_queues(
    connector: RabbitMQConnector, sender: RabbitMQChannel, subs: list[str]
) -> list[str]:
    """Every name a part queue of `sender` can have had."""
    publisher = transport_of(sender, RabbitMQSender).publisher
    names, party = connector.names, publisher.sender_id
    claims = [f"{party}.{n}" for n in range(publisher.messages)]
    if not subs:
        return [names.part_queue(claim) for claim in claims]
    return [names.part_queue(claim, sub) for claim in claims for sub in subs]


def _parted(sender: RabbitMQChannel) -> int:
    parts = transport_of(sender, RabbitMQSender).publisher.parts
    assert parts is not None
    return parts.sent


def _in_order(got: list[Any], sent: list[Any]) -> bool:
    """True if `got` is a subsequence of `sent` (in the order sent)."""
    rest = iter(sent)
    return all(any(item == candidate for candidate in rest) for item in got)


async def test_large_items_among_small_ones_reach_two_competing_receivers_intact(
    broker: str,
) -> None:
    connector = _connector(ConnectorMode.PIPELINE)
    receivers = [await connector.connect_recv() for _ in range(2)]
    sender = await connector.connect_send()
    items = _mixed(8)
    takers = [asyncio.create_task(drain(r)) for r in receivers]
    for item in items:
        await sender.send(item)
    await sender.close()
    got = await asyncio.gather(*takers)
    assert _parted(sender) == 8
    merged = got[0] + got[1]
    assert sorted(map(repr, merged)) == sorted(map(repr, items)), "lost or doubled"
    assert all(_in_order(g, items) for g in got), "a receiver got items out of order"
    for receiver in receivers:
        assert receiver.statistics().rejected == 0
        await receiver.close()
    queues = _part_queues(connector, sender, [])
    assert await leftovers(await _conn(), connector.names, queues) == []


async def test_every_subscriber_gets_every_large_item_in_order(broker: str) -> None:
    connector = _connector(ConnectorMode.PUBSUB)
    receivers = [await connector.connect_recv() for _ in range(2)]
    subs = [transport_of(r, RabbitMQReceiver).party for r in receivers]
    sender = await connector.connect_send()
    items = _mixed(6)
    takers = [asyncio.create_task(drain(r)) for r in receivers]
    await sender.send_many(items[:4])
    for item in items[4:]:
        await sender.send(item)
    await sender.close()
    for got in await asyncio.gather(*takers):
        assert got == items
    for receiver in receivers:
        await receiver.close()
    queues = _part_queues(connector, sender, subs)
    assert await leftovers(await _conn(), connector.names, queues) == []


# A receiver that stalls in the middle of reading the parts of a claim, until it is killed.
_STALLS_MID_REASSEMBLY = """
import asyncio, pickle, sys
from connector_rabbitmq import reassembly

class Stalling:
    def __init__(self, channel):
        self.channel, self.gets = channel, 0
    async def basic_get(self, *args, **kwargs):
        got = await self.channel.basic_get(*args, **kwargs)
        self.gets += 1
        if self.gets == 2:
            print("reassembling", flush=True)
            await asyncio.Event().wait()
        return got

take = reassembly.Reassembler._take
async def stalling_take(self, channel, queue, claim, tags):
    return await take(self, Stalling(channel), queue, claim, tags)
reassembly.Reassembler._take = stalling_take

connector = pickle.load(sys.stdin.buffer)
async def main():
    channel = await connector.connect_recv()
    print("ready", flush=True)
    while True:
        print(repr(await channel.recv()), flush=True)
asyncio.run(main())
"""


async def test_a_receiver_killed_while_reading_parts_loses_nothing(broker: str) -> None:
    connector = _connector(ConnectorMode.PIPELINE)
    big = _big(7)
    async with connector_child(_STALLS_MID_REASSEMBLY, connector) as child:
        sender = await connector.connect_send()
        await sender.send("before")
        await sender.send(big)
        await sender.send("after")
        await sender.flush()
        lines = []
        while "reassembling" not in lines:
            lines += await child.read_lines(1)
        survivor = await connector.connect_recv()
        await child.kill()
        await sender.close()
        got = await drain(survivor, timeout=PROCESS_TIMEOUT)
    assert max(Counter(map(repr, got)).values()) == 1, "the survivor got an item twice"
    assert big in got
    assert "after" in got
    assert "before" in got or "'before'" in lines  # taken by the child, maybe not acked
    assert survivor.statistics().rejected == 0
    await survivor.close()
    conn = await _conn()
    assert await leftovers(conn, connector.names, _part_queues(connector, sender, [])) != []
    await purge(connector.job_id, [connector], conn)  # the killed receiver never left
    assert await leftovers(conn, connector.names, _part_queues(connector, sender, [])) == []


# A process without the key: it fills a queue with junk and publishes a claim that names it.
_FORGER = """
import asyncio, json, os, sys
import aio_pika

url, exchange, queue = sys.argv[1:4]
async def main():
    conn = await aio_pika.connect(url)
    channel = await conn.channel()
    await channel.declare_queue(queue, durable=True)
    for index in range(4):
        junk = aio_pika.Message(os.urandom(1000), message_id=f"s-forger.0.{index}")
        await channel.default_exchange.publish(junk, routing_key=queue)
    fields = ["s-forger", "s-forger.0", queue, 4, 4000, 1000, None]
    body = os.urandom(32) + b"connector-claim\\0" + json.dumps(fields).encode()
    claim = aio_pika.Message(
        body, message_id="s-forger.0", type="claim", app_id="s-forger",
        delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
    )
    await (await channel.get_exchange(exchange)).publish(claim, routing_key="")
    await conn.close()
asyncio.run(main())
"""


async def test_a_claim_forged_without_the_key_is_rejected_and_names_nothing_read(
    broker: str,
) -> None:
    connector = _connector(ConnectorMode.PIPELINE)
    receiver = await connector.connect_recv()
    sender = await connector.connect_send()
    junk_queue = connector.names.part_queue("s-forger.0")
    forger = [sys.executable, "-c", _FORGER, broker, connector.names.work, junk_queue]
    done = await asyncio.to_thread(run_program, forger, timeout=PROCESS_TIMEOUT, what="forger")
    assert done.returncode == 0, done.stderr
    await sender.send("real")
    await sender.close()
    assert await drain(receiver) == ["real"]
    assert receiver.statistics().rejected == 1
    conn = await _conn()
    channel = await conn.channel()
    try:
        raw = await channel.get_underlay_channel()
        assert await queue_length(raw, junk_queue) == 4  # never read, never deleted
        await raw.queue_delete(junk_queue)
    finally:
        await channel.close()
    await receiver.close()


async def _publish_claim(
    connector: RabbitMQConnector, claim: Claim, parts: list[bytes], queue: str | None = None
) -> None:
    """Publishes `parts` to a queue (`claim.queue` unless given) and a claim signed with the
    connector's key naming it."""
    queue = queue or claim.queue
    conn = await _conn()
    channel = await conn.channel()
    try:
        raw = await channel.get_underlay_channel()
        await raw.queue_declare(queue, durable=True, arguments=connector.parts.arguments)
        for index, part in enumerate(parts):
            message = part_message(part, claim.claim_id, index, claim.sender)
            await channel.default_exchange.publish(message, routing_key=queue)
        names = connector.names
        pubsub = connector.spec.mode is ConnectorMode.PUBSUB
        data = await channel.get_exchange(names.fanout if pubsub else names.work)
        await data.publish(claim_message(connector.codec, claim), routing_key="")
    finally:
        await channel.close()


@pytest.mark.parametrize("junk", ["frame", "sizes", "too large"])
async def test_a_signed_claim_of_junk_parts_is_rejected_and_its_queue_deleted(
    broker: str, junk: str
) -> None:
    connector = _connector(ConnectorMode.PIPELINE, max_item_size=8000)
    receiver = await connector.connect_recv()
    sender = await connector.connect_send()
    queue = connector.names.part_queue("s-replay.0")
    sizes = {"frame": [1000] * 4, "sizes": [1000, 900, 1000, 1000], "too large": [3000] * 4}
    parts = [bytes(size) for size in sizes[junk]]
    claim = Claim("s-replay", "s-replay.0", queue, 4, sum(sizes["frame"]), 1000)
    if junk == "too large":
        claim = Claim("s-replay", "s-replay.0", queue, 3, 9000, 3000)
    await _publish_claim(connector, claim, parts[: claim.parts])
    await sender.send("real")
    await sender.close()
    assert await drain(receiver) == ["real"]
    assert receiver.statistics().rejected == 1
    conn = await _conn()
    left = await leftovers(conn, connector.names, [queue])
    if junk == "too large":  # refused from the claim alone: nothing declared or read
        assert f"queue {queue}" in left
        channel = await conn.channel()
        await (await channel.get_underlay_channel()).queue_delete(queue)
        await channel.close()
    else:
        assert f"queue {queue}" not in left
    await receiver.close()


async def test_the_wait_for_a_large_item_ends_when_its_parts_are_read(broker: str) -> None:
    connector = _connector(ConnectorMode.PIPELINE)
    receiver = await connector.connect_recv()
    sender = await connector.connect_send()
    taking = asyncio.create_task(receiver.recv())
    await sender.send(_big(3))
    async with asyncio.timeout(STEP_TIMEOUT):
        assert await taking == _big(3)
    await sender.close()
    assert await drain(receiver) == []
    await receiver.close()


@pytest.mark.fault
@pytest.mark.parametrize("mode", list(ConnectorMode), ids=lambda m: m.value)
async def test_large_items_survive_the_broker_dropping_every_connection(
    drop_every_connection: Callable[[], Awaitable[None]], mode: ConnectorMode
) -> None:
    connector = _connector(mode, part_size=64 * 1024)
    receiver = await connector.connect_recv()
    sender = await connector.connect_send()
    items = [_big(i) if i % 3 == 0 else i for i in range(60)]

    async def produce() -> None:
        for item in items:
            await sender.send(item)
        await sender.close()

    producer = asyncio.create_task(produce())
    got: list[Any] = []
    async with asyncio.timeout(PROCESS_TIMEOUT):
        while len(got) < 10:
            got.append(await receiver.recv())
        await drop_every_connection()
        got += await drain(receiver, timeout=PROCESS_TIMEOUT)
        await producer
    assert got == items, "items were lost, doubled or reordered"
    assert receiver.statistics().rejected == 0
    await receiver.close()
    subs = [transport_of(receiver, RabbitMQReceiver).party] if mode is ConnectorMode.PUBSUB else []
    queues = _part_queues(connector, sender, subs)
    assert await leftovers(await _conn(), connector.names, queues) == []


async def test_a_subscriber_not_named_by_a_claim_acknowledges_it_and_reads_nothing(
    broker: str,
) -> None:
    # A subscriber that joined after the sender listed the subscribers of a large item.
    connector = _connector(ConnectorMode.PUBSUB)
    receiver = await connector.connect_recv()
    idle = await connector.connect_recv()  # keeps the connection (and its dead letters)
    sender = await connector.connect_send()
    base = connector.names.part_queue("s-earlier.0")
    queue = f"{base}.r-someone-else"
    claim = Claim("s-earlier", "s-earlier.0", base, 1, 1000, 1000, ("r-someone-else",))
    await _publish_claim(connector, claim, [bytes(1000)], queue)
    await sender.send("after")
    await sender.close()
    assert await drain(receiver) == ["after"]
    assert receiver.statistics().rejected == 0
    await receiver.close()  # its acks (or a reject) reached the broker
    conn = await _conn()
    channel = await conn.channel()
    try:
        raw = await channel.get_underlay_channel()
        assert await queue_length(raw, connector.names.dead_letters) == 0  # acknowledged
        assert await queue_length(raw, queue) == 1  # not read
        await raw.queue_delete(queue)
    finally:
        await channel.close()
    assert await drain(idle) == ["after"]
    await idle.close()
