"""Connections nobody completes leave nothing behind: threads and fds over many cycles.

Each test runs one cycle first (it makes the process's ZeroMQ context and whatever the event
loop creates once), then counts threads and fds, runs `CYCLES` more and waits (bounded) for
the rendezvous threads to end: the counts must be back where they were.
"""

from __future__ import annotations

import asyncio
import gc
import os
import pickle
import threading
from collections.abc import Awaitable, Callable

import pytest

from connector_core.exceptions import ChannelClosedError
from connector_core.spec import ConnectorMode
from connector_core.testing import drain
from connector_core.testing import unique_spec as spec
from connector_zmq import ZMQConnector
from connector_zmq.settings import ZMQSettings

CYCLES = 40

EXIT_TIMEOUT = 60.0
"""Bound on waiting for the rendezvous threads to end."""


def _rendezvous_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("connector-zmq-rendezvous")]


def _counts() -> tuple[int, int]:
    """(threads, fds), not counting the event loop's default executor (`asyncio_*`)."""
    executor = sum(1 for t in threading.enumerate() if t.name.startswith("asyncio_"))
    return threading.active_count() - executor, len(os.listdir("/proc/self/fd"))


async def _rendezvous_threads_ended(threads: list[threading.Thread]) -> None:
    """Waits until `threads` have ended, for at most `EXIT_TIMEOUT` in all."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + EXIT_TIMEOUT
    for thread in threads:
        await asyncio.to_thread(thread.join, max(0.0, deadline - loop.time()))
    assert not [t for t in threads if t.is_alive()], "rendezvous threads still running"


async def _cycles(cycle: Callable[[], Awaitable[None]], count: int) -> None:
    """Runs `cycle` `count` times, then waits for the rendezvous threads it started to end."""
    existing = set(_rendezvous_threads())
    for _ in range(count):
        await cycle()
    await _rendezvous_threads_ended([t for t in _rendezvous_threads() if t not in existing])


async def _growth(cycle: Callable[[], Awaitable[None]]) -> tuple[int, int]:
    """How many (threads, fds) `CYCLES` cycles left behind (after a first one to warm up).

    Closed sockets release their TCP connections in libzmq's I/O thread a moment later
    (longer on a busy machine), so the counts are polled until they are back, within
    `EXIT_TIMEOUT`; a leak never comes back. Fewer than before is fine (an earlier test's
    thread may end meanwhile).
    """
    await _cycles(cycle, 1)
    before = _counts()
    await _cycles(cycle, CYCLES)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + EXIT_TIMEOUT
    after = _counts()
    while (after[0] > before[0] or after[1] > before[1]) and loop.time() < deadline:
        await asyncio.sleep(0.01)  # polling a condition with no event to await
        after = _counts()
    return max(0, after[0] - before[0]), max(0, after[1] - before[1])


@pytest.mark.parametrize("mode", list(ConnectorMode), ids=lambda m: m.value)
async def test_receivers_closing_before_any_sender_joined_leave_nothing(
    mode: ConnectorMode,
) -> None:
    async def cycle() -> None:
        connector = ZMQConnector(spec(mode))
        receivers = [await connector.connect_recv() for _ in range(2)]
        for receiver in receivers:
            await receiver.close()

    assert await _growth(cycle) == (0, 0), "(threads, fds) left behind"


async def test_a_pickled_connector_never_used_leaves_nothing() -> None:
    async def cycle() -> None:
        connector = ZMQConnector(
            spec(ConnectorMode.PIPELINE), zmq_settings=ZMQSettings(join_timeout=0.2)
        )
        pickle.dumps(connector)  # its copies get 0.2 s to join, then the rendezvous stops

    assert await _growth(cycle) == (0, 0), "(threads, fds) left behind"


async def test_a_connector_never_pickled_stops_its_rendezvous_when_dropped() -> None:
    connector = ZMQConnector(spec(ConnectorMode.PIPELINE))
    assert connector.zmq_address  # starts the rendezvous
    assert connector._rendezvous is not None
    rendezvous = connector._rendezvous
    del connector
    gc.collect()
    await asyncio.to_thread(rendezvous.join, EXIT_TIMEOUT)
    assert not rendezvous.running, "the rendezvous outlived its connector"


async def test_a_copy_joins_after_the_creator_dropped_a_pickled_connector() -> None:
    connector = ZMQConnector(spec(ConnectorMode.PIPELINE))  # copies get 60 s to join
    copy = pickle.loads(pickle.dumps(connector))
    rendezvous = connector._rendezvous
    assert rendezvous is not None
    del connector
    gc.collect()
    receiver = await copy.connect_recv()
    sender = await copy.connect_send()
    await sender.send("still here")
    assert await receiver.recv() == "still here"
    await sender.close()
    await receiver.close()
    rendezvous.stop()  # it would wait the 60 s join timeout for more participants


async def test_a_kept_connector_accepts_senders_after_its_receivers_left() -> None:
    connector = ZMQConnector(spec(ConnectorMode.PIPELINE))
    early = await connector.connect_recv()
    await early.close()
    receiver = await connector.connect_recv()
    sender = await connector.connect_send()
    await sender.send("late")
    await sender.close()
    assert await drain(receiver) == ["late"]


async def test_items_no_receiver_can_take_do_not_keep_a_dropped_connection_alive(
    caplog: pytest.LogCaptureFixture,
) -> None:
    connector = ZMQConnector(spec(ConnectorMode.PIPELINE))
    sender = await connector.connect_send()
    await sender.send("nobody takes this")
    await sender.close()  # the item waits at the rendezvous for a receiver
    rendezvous = connector._rendezvous
    assert rendezvous is not None
    del connector, sender  # the sender refers to its connector too
    gc.collect()
    await asyncio.to_thread(rendezvous.join, EXIT_TIMEOUT)
    assert not rendezvous.running, "the rendezvous outlived its connector"
    assert "1 returned items had no receiver" in caplog.text


async def test_a_copy_arriving_after_the_grace_is_told_how_to_avoid_it() -> None:
    settings = ZMQSettings(join_timeout=0)
    connector = ZMQConnector(spec(ConnectorMode.PIPELINE), zmq_settings=settings)
    copy = pickle.loads(pickle.dumps(connector))
    rendezvous = connector._rendezvous
    assert rendezvous is not None
    del connector
    gc.collect()
    await asyncio.to_thread(rendezvous.join, EXIT_TIMEOUT)
    with pytest.raises(ChannelClosedError, match="keep the connector referenced"):
        await copy.connect_send()
