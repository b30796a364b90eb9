"""Parties in several processes connecting to a new connection at the same moment.

Each connection's control log is a RabbitMQ stream that the first parties create. When
several connections declare a new stream at once, the broker can answer a declaration
before the stream is ready; a consumer or publisher that uses it then makes the broker
close that party's whole AMQP connection. Connecting must not be disturbed by that.
"""

from __future__ import annotations

import asyncio
import base64
import pickle
import socket
import sys
import uuid

import aio_pika
import aiormq
import pytest
from yarl import URL

from connector_core.di import container
from connector_core.exceptions import ChannelSetupError
from connector_core.settings import Settings
from connector_core.spec import ConnectorMode
from connector_core.testing import STEP_TIMEOUT, unique_spec
from connector_core.testing.harness import PROCESS_TIMEOUT
from connector_rabbitmq import RabbitMQConnector, purge
from connector_rabbitmq.connection import release
from connector_rabbitmq.stream import StreamProbe, stream_unready

ROUNDS = 20
"""New connections the parties connect to at once, one after another."""

# One party: reads a pickled list of connectors from stdin; for each, on "go" it connects
# (as a sender or a receiver), prints the outcome, and on "close" closes its channel.
_PARTY = """
import asyncio, base64, pickle, sys
connectors = pickle.loads(base64.b64decode(sys.stdin.readline()))
role = sys.argv[1]
async def main():
    for connector in connectors:
        await asyncio.to_thread(sys.stdin.readline)
        channel = None
        try:
            connect = connector.connect_send if role == "send" else connector.connect_recv
            channel = await connect()
            print("connected", flush=True)
        except Exception as exc:
            print(f"{role} failed: {exc!r}".replace("\\n", " "), flush=True)
        await asyncio.to_thread(sys.stdin.readline)
        if channel is not None:
            await channel.close()
        print("closed", flush=True)
asyncio.run(main())
"""


async def _line(party: asyncio.subprocess.Process) -> str:
    assert party.stdout is not None
    async with asyncio.timeout(STEP_TIMEOUT):
        line = await party.stdout.readline()
    assert line, f"a party exited early with code {await party.wait()}"
    return line.decode().strip()


async def _tell(parties: list[asyncio.subprocess.Process], word: str) -> None:
    for party in parties:
        assert party.stdin is not None
        party.stdin.write(f"{word}\n".encode())
    await asyncio.gather(*(party.stdin.drain() for party in parties if party.stdin is not None))


@pytest.mark.rabbitmq
@pytest.mark.crossprocess
@pytest.mark.timeout(PROCESS_TIMEOUT)
async def test_parties_connecting_to_a_new_connection_at_the_same_moment_all_connect(
    broker: str,
) -> None:
    job_id = f"race-{uuid.uuid4().hex[:8]}"
    connectors = [
        RabbitMQConnector(unique_spec(mode), job_id=job_id, settings=Settings(end_grace=0.0))
        for mode in [ConnectorMode.PIPELINE, ConnectorMode.PUBSUB] * (ROUNDS // 2)
    ]
    payload = base64.b64encode(pickle.dumps(connectors)) + b"\n"
    parties = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            _PARTY,
            role,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        for role in ("send", "recv", "recv")
    ]
    failures: list[str] = []
    try:
        for party in parties:
            assert party.stdin is not None
            party.stdin.write(payload)
        for _ in connectors:
            await _tell(parties, "go")
            outcomes = [await _line(party) for party in parties]
            failures += [outcome for outcome in outcomes if outcome != "connected"]
            for party in parties:  # one at a time: this test is about connecting
                await _tell([party], "close")
                assert await _line(party) == "closed"
        assert [await party.wait() for party in parties] == [0] * len(parties)
    finally:
        for party in parties:
            if party.returncode is None:
                party.kill()
                await party.wait()
        await purge(job_id, connectors)
    assert not failures, f"{len(failures)} of {3 * len(connectors)} connects failed: {failures}"


def test_the_broker_answers_for_a_stream_not_ready_yet_are_recognised() -> None:
    name = "queue 'q.ctl' in vhost '/'"
    assert stream_unready(aiormq.exceptions.ConnectionInternalError("INTERNAL_ERROR"))
    assert stream_unready(
        aiormq.exceptions.ChannelPreconditionFailed(f"{name} does not have a replica")
    )
    assert stream_unready(aiormq.exceptions.ConnectionResourceError(f"Stream not found: {name}"))
    assert not stream_unready(
        aiormq.exceptions.ChannelPreconditionFailed("inequivalent arg 'x-queue-type'")
    )


@pytest.mark.rabbitmq
async def test_a_stream_name_taken_by_a_classic_queue_is_a_setup_error_at_once(
    broker: str,
) -> None:
    connection = await container.rabbitmq_conn()
    name = f"connector-test-{uuid.uuid4().hex[:8]}"
    channel = await connection.channel()
    try:
        await channel.declare_queue(name)
        with pytest.raises(ChannelSetupError, match="could not create the control stream"):
            await StreamProbe(connection, timeout=STEP_TIMEOUT).ensure(name)
    finally:
        await channel.queue_delete(name)
        await channel.close()
        await release(connection)


async def test_a_probe_of_a_silent_broker_gives_up_within_the_connect_timeout() -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()  # accepts TCP, never speaks AMQP
    port = listener.getsockname()[1]
    silent = aio_pika.Connection(URL(f"amqp://guest:guest@127.0.0.1:{port}/"))
    try:
        async with asyncio.timeout(STEP_TIMEOUT):
            with pytest.raises(ChannelSetupError, match="within 0.5 s"):
                await StreamProbe(silent, timeout=0.5).ensure("connector-test.ctl")
    finally:
        listener.close()
