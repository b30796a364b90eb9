"""A keyless attacker on a RabbitMQ connection: broker credentials, no connector key.

Run as a separate process by the tests in this folder; it never sees a connector, only what
anyone with the broker's user and password can reach (the connection's broker names, which
follow `connector.<job_id>.<spec id>.*`). Each command prints one line, what it did.

    python rabbitmq_attacker.py forge-first-id URL CONTROL EXCHANGE FRAMES [QUEUE]
        reads the control log for the first sender's id and publishes a batch of FRAMES
        junk frames under that sender's first message id (`<sender>.0`); with QUEUE, to
        that queue through the default exchange (EXCHANGE is then ignored).
    python rabbitmq_attacker.py forge-join URL CONTROL VICTIM
        appends `join` for a made-up receiver naming queue VICTIM, then its `leave`.
    python rabbitmq_attacker.py forge-control URL CONTROL KIND [KIND ...]
        appends one entry of each KIND (close, drained, end, ...) in the name of the first
        sender in the control log, in the shape legitimate entries have.
    python rabbitmq_attacker.py forge-eos URL CONTROL EXCHANGE
        publishes an end-of-stream marker in the name of the first sender to EXCHANGE.
    python rabbitmq_attacker.py replay URL SOURCE TARGET COPIES [retried]
        binds a queue of its own to exchange SOURCE, prints "bound", takes the first
        message a sender publishes there (with `retried`: the first retry of one, which
        carries a signed retry mark) and publishes it COPIES times to exchange TARGET,
        headers and all.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys

import aio_pika
from aio_pika.abc import AbstractIncomingMessage, AbstractRobustChannel

from connector_core.framing import pack_frames
from connector_rabbitmq.messages import BATCH
from connector_rabbitmq.retries import RETRY_HEADER


async def _first_sender(channel: AbstractRobustChannel, control: str) -> str:
    """Reads the control log from its first entry until a sender's `open`."""
    await channel.set_qos(prefetch_count=64)
    queue = await channel.declare_queue(control, durable=True, arguments={"x-queue-type": "stream"})
    found: asyncio.Future[str] = asyncio.get_running_loop().create_future()

    async def on_entry(message: AbstractIncomingMessage) -> None:
        event = json.loads(message.body)
        await message.ack()
        if event.get("k") == "open" and not found.done():
            found.set_result(event["p"])

    tag = await queue.consume(on_entry, arguments={"x-stream-offset": "first"})
    try:
        return await found
    finally:
        await queue.cancel(tag)


async def forge_first_id(
    url: str, control: str, exchange: str, frames: int, queue: str = ""
) -> str:
    connection = await aio_pika.connect_robust(url)
    async with connection:
        channel = await connection.channel()
        sender = await _first_sender(channel, control)
        if queue:
            target = channel.default_exchange
        else:
            target = await channel.get_exchange(exchange, ensure=False)
        await target.publish(
            aio_pika.Message(
                pack_frames([b"junk-%d" % i for i in range(frames)]),
                message_id=f"{sender}.0",
                app_id=sender,
                type=BATCH,
                delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
            ),
            routing_key=queue,
        )
        return f"published {frames} junk frames as {sender}.0"


async def forge_join(url: str, control: str, victim: str) -> str:
    connection = await aio_pika.connect_robust(url)
    async with connection:
        channel = await connection.channel()
        for event in ({"k": "join", "p": "r-evil", "q": victim}, {"k": "leave", "p": "r-evil"}):
            await channel.default_exchange.publish(
                aio_pika.Message(json.dumps(event).encode()), routing_key=control
            )
        return f"appended join/leave of r-evil naming {victim}"


async def forge_control(url: str, control: str, kinds: list[str]) -> str:
    connection = await aio_pika.connect_robust(url)
    async with connection:
        channel = await connection.channel()
        sender = await _first_sender(channel, control)
        for kind in kinds:
            party = "r-evil@0" if kind == "end" else sender
            await channel.default_exchange.publish(
                aio_pika.Message(
                    json.dumps({"k": kind, "p": party}).encode(),
                    message_id=f"{kind}:{party}",
                    delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                    content_type="application/json",
                ),
                routing_key=control,
            )
        return f"appended {', '.join(kinds)} in the name of {sender}"


async def forge_eos(url: str, control: str, exchange: str) -> str:
    connection = await aio_pika.connect_robust(url)
    async with connection:
        channel = await connection.channel()
        sender = await _first_sender(channel, control)
        target = await channel.get_exchange(exchange, ensure=False)
        await target.publish(
            aio_pika.Message(
                b"",
                message_id=f"{sender}.eos",
                type="eos",
                app_id=sender,
                delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
            ),
            routing_key="",
        )
        return f"published an end marker of {sender} to {exchange}"


async def replay(url: str, source: str, target: str, copies: int, retried: bool) -> str:
    connection = await aio_pika.connect_robust(url)
    async with connection:
        channel = await connection.channel()
        tap = await channel.declare_queue(exclusive=True)
        await tap.bind(source, routing_key="")
        print("bound", flush=True)
        async with tap.iterator() as messages:
            async for message in messages:
                await message.ack()
                if message.type == BATCH and (
                    not retried or RETRY_HEADER in (message.headers or {})
                ):
                    break
        out = await channel.get_exchange(target, ensure=False)
        for _ in range(copies):
            copy = aio_pika.Message(
                message.body,
                headers=message.headers,
                message_id=message.message_id,
                app_id=message.app_id,
                type=message.type,
                delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
            )
            # A nack: a full queue refused its copy (reject-publish); the others kept theirs.
            with contextlib.suppress(aio_pika.exceptions.DeliveryError):
                await out.publish(copy, routing_key="")
        return f"published {copies} copies of {message.message_id} to {target}"


def main(argv: list[str]) -> None:
    command, url, control, *rest = argv
    if command == "forge-first-id":
        exchange, frames, *queue = rest
        print(asyncio.run(forge_first_id(url, control, exchange, int(frames), *queue)))
    elif command == "forge-join":
        (victim,) = rest
        print(asyncio.run(forge_join(url, control, victim)))
    elif command == "forge-control":
        print(asyncio.run(forge_control(url, control, rest)))
    elif command == "forge-eos":
        (exchange,) = rest
        print(asyncio.run(forge_eos(url, control, exchange)))
    elif command == "replay":
        target, copies, *retried = rest
        print(asyncio.run(replay(url, control, target, int(copies), retried == ["retried"])))
    else:
        raise SystemExit(f"unknown command {command!r}")


if __name__ == "__main__":
    main(sys.argv[1:])
