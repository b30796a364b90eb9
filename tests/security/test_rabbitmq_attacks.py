"""Attacks on a RabbitMQ connection by a party with broker credentials but no connector key.

The attacker runs in a separate process (`rabbitmq_attacker.py`); the test is the
legitimate sender and receiver, and asserts what they observe.
"""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import aio_pika
import pytest

from connector_core import ConnectorMode, ConnectorSpec, Settings
from connector_core.channel import Channel
from connector_core.testing import drain
from connector_core.testing.programs import run_program, user_environment
from connector_rabbitmq import RabbitMQConnector
from connector_rabbitmq.cleanup import leftovers
from connector_rabbitmq.topology import limits

pytestmark = pytest.mark.rabbitmq

ATTACKER = Path(__file__).with_name("rabbitmq_attacker.py")
ATTACK_TIMEOUT = 60.0
RUN_TIMEOUT = 60.0


def _connector(
    mode: ConnectorMode = ConnectorMode.PIPELINE, grace: float = 0.5, maxsize: int = 0
) -> RabbitMQConnector:
    tag = uuid.uuid4().hex[:10]
    spec = ConnectorSpec(f"sec-{tag}.out", f"sink-{tag}.in", mode)
    return RabbitMQConnector(
        spec, job_id=f"security-{tag}", settings=Settings(end_grace=grace), maxsize=maxsize
    )


def _control_rejected(channel: Channel) -> int:
    """Control-log entries the channel's transport dropped as unsigned or forged."""
    transport = channel._rx if channel._rx is not None else channel._tx  # type: ignore[attr-defined]
    return int(transport.membership.log.rejected)


async def _attack(*args: str) -> str:
    """Runs the attacker to completion in its own process; returns what it printed."""
    command = [sys.executable, str(ATTACKER), *args]
    result = await asyncio.to_thread(
        run_program, command, timeout=ATTACK_TIMEOUT, what="the attacker"
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def _popen(args: list[str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(ATTACKER), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=user_environment(),
        start_new_session=True,
    )


@contextlib.asynccontextmanager
async def _replaying(
    url: str, source: str, target: str, copies: int, *which: str
) -> AsyncIterator[None]:
    """Runs the `replay` attacker: bound to `source` on entry, done replaying on exit."""
    args = ["replay", url, source, target, str(copies), *which]
    attacker = await asyncio.to_thread(_popen, args)
    try:
        assert attacker.stdout is not None
        async with asyncio.timeout(ATTACK_TIMEOUT):
            line = await asyncio.to_thread(attacker.stdout.readline)
        assert line.strip() == "bound", line
        yield
        out, err = await asyncio.to_thread(attacker.communicate, timeout=ATTACK_TIMEOUT)
        assert attacker.returncode == 0, err
        assert f"{copies} copies" in out
    finally:
        if attacker.poll() is None:
            attacker.kill()
            attacker.wait()


async def _receive_all(
    connector: RabbitMQConnector, receiver: Channel | None = None
) -> tuple[list[object], int]:
    """A receiver's whole stream, and how many frames it rejected."""
    if receiver is None:
        receiver = await connector.connect_recv()
    got = await drain(receiver, RUN_TIMEOUT)
    await receiver.close()
    return got, receiver.statistics().rejected


async def test_junk_under_a_senders_first_message_id_does_not_drop_its_real_message(
    rabbitmq_url: str,
) -> None:
    connector = _connector()
    names = connector.names
    sender = await connector.connect_send()
    said = await _attack("forge-first-id", rabbitmq_url, names.control, names.work, "3")
    assert ".0" in said  # the junk waits in the queue ahead of the real first message
    for item in range(5):
        await sender.send(item)
    await sender.close()

    got, rejected = await _receive_all(connector)

    assert got == [0, 1, 2, 3, 4]
    assert rejected == 3


async def test_junk_published_into_the_returns_queue_is_dropped_and_counted(
    rabbitmq_url: str,
) -> None:
    connector = _connector()
    names = connector.names
    receiver = await connector.connect_recv()  # declares the returns queue, and consumes it
    sender = await connector.connect_send()
    args = ("forge-first-id", rabbitmq_url, names.control, "", "3", names.returns)
    assert ".0" in await _attack(*args)
    for item in range(5):
        await sender.send(item)
    await sender.close()

    got, rejected = await _receive_all(connector, receiver)

    assert got == [0, 1, 2, 3, 4]
    assert rejected == 3


async def test_a_forged_join_cannot_make_cleanup_delete_a_queue_of_another_application(
    rabbitmq_url: str,
) -> None:
    victim = f"victim-{uuid.uuid4().hex[:10]}"
    owner = await aio_pika.connect_robust(rabbitmq_url)
    async with owner:
        channel = await owner.channel()
        await channel.declare_queue(victim, durable=True)
        await channel.default_exchange.publish(aio_pika.Message(b"keep me"), routing_key=victim)
        try:
            connector = _connector()
            sender = await connector.connect_send()
            await _attack("forge-join", rabbitmq_url, connector.names.control, victim)
            for item in range(3):
                await sender.send(item)
            await sender.close()
            got, _ = await _receive_all(connector)
            assert got == [0, 1, 2]
            assert await leftovers(owner, connector.names) == []  # the run cleaned up

            queue = await channel.declare_queue(victim, passive=True)  # raises if deleted
            kept = await queue.get(no_ack=True, fail=False, timeout=RUN_TIMEOUT)
            assert kept is not None
            assert kept.body == b"keep me"
        finally:
            await channel.queue_delete(victim)


# -- control-log forgery (issue 12, finding 4a) -------------------------------------------


async def test_a_forged_close_does_not_end_a_subscribers_stream_while_its_sender_is_open(
    rabbitmq_url: str,
) -> None:
    connector = _connector(ConnectorMode.PUBSUB, grace=0)
    sender = await connector.connect_send()
    await _attack("forge-control", rabbitmq_url, connector.names.control, "close")
    receiver = await connector.connect_recv()  # it read the log past the forged close
    assert receiver.statistics().senders == 1  # the forged close was not believed
    receiving = asyncio.ensure_future(_receive_all(connector, receiver))
    for item in range(5):
        await sender.send(item)
    await sender.close()

    got, rejected = await receiving

    assert got == [0, 1, 2, 3, 4]
    assert rejected == 1  # the forged entry, counted with the frames the receiver dropped
    assert _control_rejected(receiver) == 1


async def test_forged_close_and_drained_do_not_end_a_pipeline_while_its_sender_is_open(
    rabbitmq_url: str,
) -> None:
    connector = _connector(ConnectorMode.PIPELINE, grace=0)
    sender = await connector.connect_send()
    await _attack("forge-control", rabbitmq_url, connector.names.control, "close", "drained")
    receiver = await connector.connect_recv()
    assert receiver.statistics().senders == 1
    receiving = asyncio.ensure_future(_receive_all(connector, receiver))
    for item in range(5):
        await sender.send(item)
    await sender.close()

    got, rejected = await receiving

    assert got == [0, 1, 2, 3, 4]
    assert _control_rejected(receiver) == 2
    assert rejected == 2


async def test_a_forged_end_does_not_refuse_a_sender_that_joins_during_the_grace_period(
    rabbitmq_url: str,
) -> None:
    connector = _connector(ConnectorMode.PIPELINE, grace=0)
    receiver = await connector.connect_recv()  # joined, so nobody ends the stream for it
    first = await connector.connect_send()
    for item in range(3):
        await first.send(item)
    await first.close()  # every sender has closed: the grace period would run now
    await _attack("forge-control", rabbitmq_url, connector.names.control, "end")

    second = await connector.connect_send()  # ChannelClosedError if the forged end counted
    assert second.statistics().rejected == 1  # it read the forged entry too, and dropped it
    for item in range(3, 6):
        await second.send(item)
    await second.close()
    got, _ = await _receive_all(connector, receiver)

    assert got == [0, 1, 2, 3, 4, 5]
    assert _control_rejected(receiver) == 1


@pytest.mark.parametrize("mode", [ConnectorMode.PIPELINE, ConnectorMode.PUBSUB])
async def test_a_forged_end_marker_is_dropped_and_counted(
    rabbitmq_url: str, mode: ConnectorMode
) -> None:
    connector = _connector(mode, grace=0)
    names = connector.names
    receiver = await connector.connect_recv()
    sender = await connector.connect_send()
    exchange = names.work if mode is ConnectorMode.PIPELINE else names.fanout
    await _attack("forge-eos", rabbitmq_url, names.control, exchange)
    receiving = asyncio.ensure_future(_receive_all(connector, receiver))
    for item in range(5):
        await sender.send(item)
    await sender.close()

    got, rejected = await receiving

    assert got == [0, 1, 2, 3, 4]
    assert rejected == 1  # the marker, not one of the sender's items


# -- replay from outside (issue 12, finding 3) ----------------------------------------------


async def test_a_captured_message_published_three_more_times_is_delivered_once(
    rabbitmq_url: str,
) -> None:
    connector = _connector()
    work = connector.names.work
    receiver = await connector.connect_recv()
    sender = await connector.connect_send()
    async with _replaying(rabbitmq_url, work, work, 3):
        await sender.send("captured")  # the attacker copies this message, then replays it
    for item in range(3):
        await sender.send(item)
    await sender.close()

    got, rejected = await _receive_all(connector, receiver)

    assert got == ["captured", 0, 1, 2]
    assert rejected == 3


async def test_a_captured_retry_published_three_more_times_is_dropped_and_counted(
    rabbitmq_url: str,
) -> None:
    # A slow subscriber's full queue makes the broker nack the fanout publish, so the
    # publisher sends it again with a signed retry mark: the attacker copies that retry.
    maxsize = 16
    connector = _connector(ConnectorMode.PUBSUB, maxsize=maxsize)
    fanout = connector.names.fanout
    fast = await connector.connect_recv()
    slow = await connector.connect_recv()
    sender = await connector.connect_send()
    room = limits(maxsize, ConnectorMode.PUBSUB).stalled_room
    assert room is not None
    async with _replaying(rabbitmq_url, fanout, fanout, 3, "retried"):
        sending = asyncio.create_task(sender.send_many(range(300)))
        async with asyncio.timeout(RUN_TIMEOUT):  # past the slow one's room: a nack
            early = [await fast.recv() for _ in range(room + 1)]
        fast_got = asyncio.create_task(drain(fast, RUN_TIMEOUT))
        slow_got = asyncio.create_task(drain(slow, RUN_TIMEOUT))
    await sending
    await sender.close()

    assert early + await fast_got == list(range(300))
    assert await slow_got == list(range(300))
    # The fast one took that retry before the copies (its queue is in order): each copy
    # repeats an attempt it took, and carries one frame (send_many frames of batch_items).
    assert fast.statistics().rejected == 3
    await fast.close()
    await slow.close()
