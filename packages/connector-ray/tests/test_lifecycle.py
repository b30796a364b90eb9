"""Hub actor lifecycle: gone when every side has closed; its death is a `ChannelError`."""

from __future__ import annotations

import asyncio
import uuid

import pytest
import ray

from connector_core import (
    Channel,
    ChannelClosedError,
    ChannelError,
    ConnectorMode,
    ConnectorSpec,
)
from connector_core.testing import drain
from connector_ray import NAMESPACE, RayConnector, purge

pytestmark = pytest.mark.ray

STEP = 30.0


def _spec(mode: ConnectorMode) -> ConnectorSpec:
    tag = uuid.uuid4().hex[:8]
    return ConnectorSpec(f"src-{tag}.out", f"dst-{tag}.in", mode)


def _hubs() -> set[str]:
    return {
        a["name"]
        for a in ray.util.list_named_actors(all_namespaces=True)
        if a["namespace"] == NAMESPACE
    }


@pytest.fixture(params=list(ConnectorMode), ids=lambda m: m.value)
def mode(request: pytest.FixtureRequest) -> ConnectorMode:
    value: ConnectorMode = request.param
    return value


async def test_hub_actor_is_gone_once_every_side_has_closed(mode: ConnectorMode) -> None:
    before = _hubs()
    connector = RayConnector(_spec(mode))
    receivers = [await connector.connect_recv() for _ in range(2)]
    senders = [await connector.connect_send() for _ in range(2)]
    assert _hubs() == before | {connector.actor_name}
    for n, sender in enumerate(senders):
        await sender.send(n)
        await sender.close()
    for receiver in receivers:
        await drain(receiver)
        await receiver.close()
    assert _hubs() == before


async def test_hub_actor_is_gone_when_receivers_close_without_draining(
    mode: ConnectorMode,
) -> None:
    before = _hubs()
    connector = RayConnector(_spec(mode))
    receiver = await connector.connect_recv()
    sender = await connector.connect_send()
    await sender.send("left behind")
    await sender.close()
    await receiver.close()
    assert _hubs() == before


async def test_hub_actor_waits_for_a_receiver_while_pipeline_items_are_buffered() -> None:
    connector = RayConnector(_spec(ConnectorMode.PIPELINE))
    sender = await connector.connect_send()
    await sender.send("for a late receiver")
    await sender.close()
    assert connector.actor_name in _hubs()
    receiver = await connector.connect_recv()
    assert await drain(receiver) == ["for a late receiver"]
    assert connector.actor_name not in _hubs()


async def test_killed_hub_surfaces_as_channel_error_in_a_waiting_recv(
    mode: ConnectorMode,
) -> None:
    connector = RayConnector(_spec(mode))
    receiver = await connector.connect_recv()
    sender = await connector.connect_send()
    waiting = asyncio.create_task(receiver.recv())
    await sender.send("one")
    assert await asyncio.wait_for(waiting, STEP) == "one"
    waiting = asyncio.create_task(receiver.recv())
    ray.kill(ray.get_actor(connector.actor_name, namespace=NAMESPACE))
    with pytest.raises(ChannelError) as caught:
        await asyncio.wait_for(waiting, STEP)
    assert not isinstance(caught.value, ChannelClosedError)
    with pytest.raises(ChannelError):
        await asyncio.wait_for(receiver.recv(), STEP)
    await receiver.close()


async def test_killed_hub_surfaces_as_channel_error_on_send_and_close() -> None:
    connector = RayConnector(_spec(ConnectorMode.PIPELINE), maxsize=8)
    await connector.connect_recv()
    sender = await connector.connect_send()
    ray.kill(ray.get_actor(connector.actor_name, namespace=NAMESPACE))
    failed_at = await asyncio.wait_for(send_until_error(sender, 100), STEP)
    assert failed_at is not None, "100 sends to a dead hub raised nothing"
    assert failed_at <= 8, "the error must surface within one outbox (maxsize) of sends"
    with pytest.raises(ChannelError):
        await sender.send("again")


async def send_until_error(sender: Channel, count: int) -> int | None:
    """Sends up to `count` items; returns the index of the first that raised ChannelError."""
    for i in range(count):
        try:
            await sender.send(i)
        except ChannelError:
            return i
    return None


async def test_close_of_a_sender_whose_hub_died_reports_lost_messages() -> None:
    connector = RayConnector(_spec(ConnectorMode.PIPELINE), maxsize=4)
    await connector.connect_recv()
    sender = await connector.connect_send()
    await fill_until_blocked(sender)
    assert sender.statistics().buffered > 0
    ray.kill(ray.get_actor(connector.actor_name, namespace=NAMESPACE))
    with pytest.raises(ChannelError, match="not delivered"):
        await asyncio.wait_for(sender.close(), STEP)


async def fill_until_blocked(sender: Channel) -> None:
    """Sends until a send stays blocked for a second: the hub is full, the outbox holds frames."""
    for i in range(100):
        try:
            await asyncio.wait_for(sender.send(("fill", i)), 1.0)
        except TimeoutError:
            return
    raise AssertionError("100 sends never blocked with maxsize=4 and nobody receiving")


async def test_connect_send_after_the_connection_ended_raises() -> None:
    connector = RayConnector(_spec(ConnectorMode.PIPELINE))
    receiver = await connector.connect_recv()
    sender = await connector.connect_send()
    await sender.close()
    with pytest.raises(ChannelClosedError, match="already closed"):
        await connector.connect_send()
    await receiver.close()


async def test_purge_kills_the_hubs_of_a_job() -> None:
    job = uuid.uuid4().hex[:12]
    connectors = [RayConnector(_spec(ConnectorMode.PIPELINE), job_id=job) for _ in range(2)]
    for connector in connectors:
        await connector.connect_recv()
    assert sorted(purge(job)) == sorted(c.actor_name for c in connectors)
    assert not {c.actor_name for c in connectors} & _hubs()


async def test_connecting_after_the_hub_was_released_does_not_start_a_new_connection() -> None:
    before = _hubs()
    connector = RayConnector(_spec(ConnectorMode.PIPELINE))
    receiver = await connector.connect_recv()
    sender = await connector.connect_send()
    await sender.send("only")
    await sender.close()
    assert await drain(receiver) == ["only"]
    await receiver.close()
    assert _hubs() == before
    with pytest.raises(ChannelClosedError, match="already closed"):
        await connector.connect_send()
    late = await connector.connect_recv()
    with pytest.raises(ChannelClosedError):
        await late.recv()
    await late.close()
    assert _hubs() == before
