"""A keyless attacker on a RabbitMQ connection: broker credentials, no connector key.

Run as a separate process by the tests in this folder; it never sees a connector, only what
anyone with the broker's user and password can reach (the connection's broker names, which
follow `connector.<job_id>.<spec id>.*`). Each command prints one line, what it did.

    python rabbitmq_attacker.py forge-first-id URL CONTROL EXCHANGE FRAMES
        reads the control log for the first sender's id and publishes a batch of FRAMES
        junk frames under that sender's first message id (`<sender>.0`).
    python rabbitmq_attacker.py forge-join URL CONTROL VICTIM
        appends `join` for a made-up receiver naming queue VICTIM, then its `leave`.
"""

from __future__ import annotations

import asyncio
import json
import sys

import aio_pika
from aio_pika.abc import AbstractIncomingMessage, AbstractRobustChannel

from connector_core.framing import pack_frames
from connector_rabbitmq.messages import BATCH


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


async def forge_first_id(url: str, control: str, exchange: str, frames: int) -> str:
    connection = await aio_pika.connect_robust(url)
    async with connection:
        channel = await connection.channel()
        sender = await _first_sender(channel, control)
        target = await channel.get_exchange(exchange, ensure=False)
        await target.publish(
            aio_pika.Message(
                pack_frames([b"junk-%d" % i for i in range(frames)]),
                message_id=f"{sender}.0",
                app_id=sender,
                type=BATCH,
                delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
            ),
            routing_key="",
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


def main(argv: list[str]) -> None:
    command, url, control, *rest = argv
    if command == "forge-first-id":
        exchange, frames = rest
        print(asyncio.run(forge_first_id(url, control, exchange, int(frames))))
    elif command == "forge-join":
        (victim,) = rest
        print(asyncio.run(forge_join(url, control, victim)))
    else:
        raise SystemExit(f"unknown command {command!r}")


if __name__ == "__main__":
    main(sys.argv[1:])
