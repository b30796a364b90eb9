"""Clean shutdown, the end of a connection, and joining one that is over."""

from __future__ import annotations

import asyncio
import contextlib
import os
import pickle
import threading
from collections.abc import Iterator

import psutil
import pytest
import zmq
import zmq.asyncio
from dependency_injector import providers

from connector_core.di import container
from connector_core.exceptions import ChannelClosedError
from connector_core.registry import get_backend
from connector_core.settings import Settings
from connector_core.spec import ConnectorMode
from connector_core.testing import drain
from connector_core.testing import unique_spec as spec
from connector_zmq import ZMQConnector


@contextlib.contextmanager
def _private_context() -> Iterator[zmq.asyncio.Context]:
    """A ZeroMQ context of the test's own, so that terminating it proves no socket is open."""
    context = zmq.asyncio.Context()
    try:
        with container.zmq_context.override(providers.Object(context)):
            yield context
    finally:
        if not context.closed:
            context.destroy(linger=0)


def _resources() -> tuple[int, int, int, int]:
    """(Python threads, OS threads, fds, child processes), not counting the threads of the
    event loop's default executor (asyncio's, which `asyncio.to_thread` grows on demand)."""
    me = psutil.Process()
    executor = sum(1 for t in threading.enumerate() if t.name.startswith("asyncio_"))
    python_threads = threading.active_count() - executor
    fds = len(os.listdir("/proc/self/fd"))
    return (python_threads, me.num_threads() - executor, fds, len(me.children()))


async def _no_more_than(before: tuple[int, ...], timeout: float = 30.0) -> tuple[int, ...]:
    """The resources in use, once none exceeds `before` or after `timeout` seconds.

    A thread leaves `threading` a moment before its OS thread is gone (longer on a busy
    machine), so the OS count is polled until it is back, within a bound. Fewer than before
    is fine: a thread of an earlier test may finish meanwhile.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    now = _resources()
    while any(n > b for n, b in zip(now, before, strict=True)) and loop.time() < deadline:
        await asyncio.sleep(0.01)  # polling a condition with no event to await
        now = _resources()
    return now


@pytest.mark.parametrize("mode", list(ConnectorMode), ids=lambda m: m.value)
async def test_nothing_is_left_after_every_side_closed(mode: ConnectorMode) -> None:
    before = _resources()
    with _private_context() as context:
        await _exchange_and_close(mode, context)
    after = await _no_more_than(before)
    assert all(a <= b for a, b in zip(after, before, strict=True)), (
        f"(python threads, OS threads, fds, child processes) grew: {before} -> {after}"
    )


async def _exchange_and_close(mode: ConnectorMode, context: zmq.asyncio.Context) -> None:
    connector = ZMQConnector(spec(mode), maxsize=16)
    receivers = [await connector.connect_recv() for _ in range(2)]
    senders = [await connector.connect_send() for _ in range(2)]
    drains = [asyncio.create_task(drain(r)) for r in receivers]
    for i in range(100):
        await senders[i % 2].send(i)
    for sender in senders:
        await sender.close()
    results = await asyncio.gather(*drains)
    expected = 100 if mode is ConnectorMode.PIPELINE else 200
    assert sum(len(items) for items in results) == expected
    for receiver in receivers:
        await receiver.close()
    assert connector._rendezvous is not None
    assert not connector._rendezvous.running, "the rendezvous thread outlived the connection"
    # term() blocks while any socket of the context is open: it returning proves none is.
    await asyncio.wait_for(asyncio.to_thread(context.term), 10)


async def test_a_sender_after_the_end_is_refused() -> None:
    connector = ZMQConnector(spec(ConnectorMode.PIPELINE))
    receiver = await connector.connect_recv()
    sender = await connector.connect_send()
    await sender.close()
    with pytest.raises(ChannelClosedError):
        await connector.connect_send()
    await receiver.close()


async def test_joining_a_connection_that_is_over_fails_fast_with_a_clear_error() -> None:
    connector = ZMQConnector(spec(ConnectorMode.PIPELINE), settings=Settings(end_grace=0))
    copy = pickle.loads(pickle.dumps(connector))
    receiver = await connector.connect_recv()
    sender = await connector.connect_send()
    await sender.close()
    assert await drain(receiver) == []
    await receiver.close()
    with pytest.raises(ChannelClosedError, match="rendezvous"):
        async with asyncio.timeout(10):
            await copy.connect_recv()


async def test_shared_connection_waits_for_a_sender_still_starting() -> None:
    connector = ZMQConnector(spec(ConnectorMode.PIPELINE), settings=Settings(end_grace=30))
    copy = pickle.loads(pickle.dumps(connector))  # shared: the end waits for late senders
    receiver = await connector.connect_recv()
    first = await connector.connect_send()
    await first.send("early")
    await first.close()
    assert await receiver.recv() == "early"
    late = await copy.connect_send()  # arrives after the first sender closed
    await late.send("late")
    await late.close()
    assert await receiver.recv() == "late"
    await receiver.close()
    assert connector._rendezvous is not None
    connector._rendezvous.stop()


async def test_a_shared_connection_everyone_left_stops_without_waiting_the_grace() -> None:
    connector = ZMQConnector(spec(ConnectorMode.PIPELINE), settings=Settings(end_grace=30))
    pickle.dumps(connector)  # shared: the end waits for late senders, while anyone waits
    receiver = await connector.connect_recv()
    sender = await connector.connect_send()
    await sender.close()  # the end is pending: the receiver waits with the grace
    await receiver.close()  # nobody is left to wait with: the rendezvous stops now
    assert connector._rendezvous is not None
    assert not connector._rendezvous.running


async def test_receiver_closed_while_waiting_in_recv_raises() -> None:
    connector = ZMQConnector(spec(ConnectorMode.PIPELINE))
    receiver = await connector.connect_recv()
    sender = await connector.connect_send()
    waiting = asyncio.create_task(receiver.recv())
    await asyncio.sleep(0)  # let it start waiting (a scheduling step, not a settling delay)
    await receiver.close()
    with pytest.raises(ChannelClosedError):
        await waiting
    await sender.close()


async def test_registered_as_the_zmq_backend() -> None:
    assert get_backend("zmq") is ZMQConnector
