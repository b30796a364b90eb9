"""The broker connection follows the event loop: several loops per process, nothing to call."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
from typing import Any
from urllib.parse import urlsplit

import pytest

from connector_core.exceptions import ChannelError
from connector_core.settings import Settings
from connector_core.spec import ConnectorMode
from connector_core.testing import STEP_TIMEOUT, drain, transport_of, unique_spec
from connector_core.testing.harness import PROCESS_TIMEOUT
from connector_rabbitmq import RabbitMQChannel, RabbitMQConnector
from connector_rabbitmq.receiver import RabbitMQReceiver

pytestmark = pytest.mark.rabbitmq

# A user program: a round trip under asyncio.run, twice, then a run that leaves its
# channels open. It prints what it received and whether each run's connection was closed
# once asyncio.run returned.
_RUN_TWICE = """
import asyncio, logging, sys, uuid
from connector_core.settings import Settings
from connector_core.spec import ConnectorMode, ConnectorSpec
from connector_rabbitmq import RabbitMQConnector

logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s %(message)s")
logging.getLogger("aiormq").setLevel(logging.WARNING)
logging.getLogger("aio_pika").setLevel(logging.WARNING)

def spec():
    return ConnectorSpec(f"a{uuid.uuid4().hex[:8]}.out", "b.in", mode=ConnectorMode.PUBSUB)

async def round_trip(close):
    connector = RabbitMQConnector(spec(), settings=Settings(end_grace=0.1))
    receiver = await connector.connect_recv()
    sender = await connector.connect_send()
    for i in range(3):
        await sender.send(i)
    if close:
        await sender.close()
        print([item async for item in receiver], flush=True)
    return receiver._rx.membership.connection

for close in (True, True, False):
    connection = asyncio.run(round_trip(close))
    print("closed" if connection.is_closed else "still open", flush=True)
"""

# A user program of the older style: loops made and closed by hand, without
# shutdown_asyncgens(), a sender left open in each.
_LOOPS_BY_HAND = """
import asyncio, gc, uuid
from connector_core.spec import ConnectorSpec
from connector_rabbitmq import RabbitMQConnector

async def main():
    connector = RabbitMQConnector(ConnectorSpec(f"a{uuid.uuid4().hex[:8]}.out", "b.in"))
    sender = await connector.connect_send()
    await sender.send(1)

for run in range(2):
    loop = asyncio.new_event_loop()
    loop.run_until_complete(main())
    loop.close()
    del loop
    gc.collect()
    print("ran", run, flush=True)
"""


def _clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST", "RAY_"))}
    env.update(extra)
    return env


def _run_program(source: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(
            [sys.executable, "-X", "dev", "-c", source],
            env=env,
            capture_output=True,
            text=True,
            timeout=PROCESS_TIMEOUT,
        )
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"the user program did not finish in {PROCESS_TIMEOUT} s: {exc.stderr!r}")


def test_asyncio_run_twice_in_one_program_works_and_closes_each_connection(broker: str) -> None:
    result = _run_program(_RUN_TWICE, _clean_env(RABBITMQ_URL=broker))
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "[0, 1, 2]",
        "closed",
        "[0, 1, 2]",
        "closed",
        "closed",  # channels left open: closed when asyncio.run shut its loop down
    ], result.stderr
    for noise in ("Traceback", "Task was destroyed", "never awaited", "Unclosed", "unclosed"):
        assert noise not in result.stderr, result.stderr


def test_loops_closed_by_hand_with_a_channel_open_end_the_program_cleanly(broker: str) -> None:
    result = _run_program(_LOOPS_BY_HAND, _clean_env(RABBITMQ_URL=broker))
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.splitlines() == ["ran 0", "ran 1"]


def test_unset_rabbitmq_url_uses_the_local_broker_and_says_so_once(broker: str) -> None:
    parts = urlsplit(broker)
    local = parts.hostname in ("localhost", "127.0.0.1") and (parts.port or 5672) == 5672
    if not (local and parts.username == "guest"):
        pytest.skip("the broker under test is not the local one with the default account")
    env = _clean_env()
    env.pop("RABBITMQ_URL", None)
    env.pop("CONNECTOR_RABBITMQ_URL", None)
    result = _run_program(_RUN_TWICE, env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0] == "[0, 1, 2]", result.stderr
    said = [line for line in result.stderr.splitlines() if "RABBITMQ_URL is not set" in line]
    assert said == [
        "INFO connector_rabbitmq.connection RABBITMQ_URL is not set: using the local broker "
        "at amqp://guest:***@localhost:5672/"
    ]


async def _round_trip(barrier: threading.Barrier) -> list[Any]:
    connector = RabbitMQConnector(
        unique_spec(ConnectorMode.PIPELINE), settings=Settings(end_grace=0.1)
    )
    receiver = await connector.connect_recv()
    sender = await connector.connect_send()
    # Both loops have their connection open at the same time before either goes on.
    await asyncio.to_thread(barrier.wait, STEP_TIMEOUT)
    for i in range(5):
        await sender.send(i)
    await sender.close()
    return await drain(receiver)


def test_two_loops_in_two_threads_at_the_same_time_each_get_a_connection(broker: str) -> None:
    barrier = threading.Barrier(2)
    results: dict[int, Any] = {}

    def run(index: int) -> None:
        try:
            results[index] = asyncio.run(_round_trip(barrier))
        except BaseException as exc:  # reported by the assertion below
            results[index] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(PROCESS_TIMEOUT)
    assert not any(thread.is_alive() for thread in threads), "a loop's round trip hung"
    assert results == {0: [0, 1, 2, 3, 4], 1: [0, 1, 2, 3, 4]}


def test_the_connection_closes_when_the_last_channel_of_its_loop_closes(broker: str) -> None:
    async def main() -> tuple[bool, bool]:
        connector = RabbitMQConnector(
            unique_spec(ConnectorMode.PIPELINE), settings=Settings(end_grace=0.1)
        )
        receiver = await connector.connect_recv()
        sender = await connector.connect_send()
        membership = transport_of(receiver, RabbitMQReceiver).membership
        assert membership is not None
        connection = membership.connection
        await sender.send("x")
        await sender.close()
        open_while_a_channel_is = not connection.is_closed
        assert await drain(receiver) == ["x"]
        await receiver.close()
        return open_while_a_channel_is, bool(connection.is_closed)

    assert _in_a_new_loop(main) == (True, True)


def test_a_channel_used_from_another_loop_raises_a_channel_error_at_once(broker: str) -> None:
    made: dict[str, RabbitMQChannel] = {}

    async def make() -> None:
        connector = RabbitMQConnector(
            unique_spec(ConnectorMode.PIPELINE), settings=Settings(end_grace=0.1)
        )
        made["sender"] = await connector.connect_send()

    async def use() -> str:
        with pytest.raises(ChannelError, match="another event loop") as info:
            async with asyncio.timeout(STEP_TIMEOUT):
                await made["sender"].send("from the wrong loop")
        return str(info.value)

    _in_a_new_loop(make)
    assert "in the event loop that uses them" in _in_a_new_loop(use)


def _in_a_new_loop(main: Any) -> Any:
    """Runs `main()` under asyncio.run in a thread of its own (pytest's loop is untouched)."""
    result: dict[str, Any] = {}

    def run() -> None:
        try:
            result["value"] = asyncio.run(main())
        except BaseException as exc:
            result["error"] = exc

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(PROCESS_TIMEOUT)
    assert not thread.is_alive(), "the loop did not finish"
    if "error" in result:
        raise result["error"]
    return result["value"]
