"""Hub actor lifecycle: gone when every side has closed; its death is a `ChannelError`.

`ray.kill` is asynchronous: a killed actor stays listed until Ray has torn it down. Tests
therefore wait, within a bounded deadline, for this connection's hub to leave the list (or
for its calls to fail), and look only at their own hub: other tests' hubs may be going away
at the same moment.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest
import ray
from ray.exceptions import RayActorError

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


async def wait_until_gone(*names: str) -> None:
    """Waits until no hub of these names is listed; fails after `STEP` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + STEP
    while left := set(names) & _hubs():
        assert loop.time() < deadline, f"hub actors still listed after {STEP} s: {left}"
        await asyncio.sleep(0.05)  # polling Ray's actor list: there is no event to await


async def wait_until_dead(name: str) -> None:
    """Waits until calls to the named hub fail (Ray has torn it down); fails after `STEP` s."""
    handle: Any = ray.get_actor(name, namespace=NAMESPACE)
    ray.kill(handle)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + STEP
    while True:
        try:
            await asyncio.wait_for(handle.status.remote(), STEP)
        except RayActorError:
            return
        assert loop.time() < deadline, f"the hub {name} still answers {STEP} s after ray.kill"
        await asyncio.sleep(0.05)  # polling: Ray offers no event for an actor's death


@pytest.fixture(params=list(ConnectorMode), ids=lambda m: m.value)
def mode(request: pytest.FixtureRequest) -> ConnectorMode:
    value: ConnectorMode = request.param
    return value


async def test_hub_actor_is_gone_once_every_side_has_closed(mode: ConnectorMode) -> None:
    connector = RayConnector(_spec(mode))
    receivers = [await connector.connect_recv() for _ in range(2)]
    senders = [await connector.connect_send() for _ in range(2)]
    assert connector.actor_name in _hubs()
    for n, sender in enumerate(senders):
        await sender.send(n)
        await sender.close()
    for receiver in receivers:
        await drain(receiver)
        await receiver.close()
    await wait_until_gone(connector.actor_name)


async def test_the_hub_ends_itself_and_no_member_kills_it(
    mode: ConnectorMode, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A `ray.kill` fails at once every call still waiting for its reply, so another
    member's `END`, already answered and on its way, could turn into a dead-hub error."""
    kills: list[object] = []
    monkeypatch.setattr(ray, "kill", lambda handle, **_: kills.append(handle))
    connector = RayConnector(_spec(mode))
    receivers = [await connector.connect_recv() for _ in range(2)]
    sender = await connector.connect_send()
    await sender.send("last")
    await sender.close()
    for receiver in receivers:
        await drain(receiver)
        await receiver.close()
    await wait_until_gone(connector.actor_name)
    assert kills == []


async def test_hub_actor_is_gone_when_receivers_close_without_draining(
    mode: ConnectorMode,
) -> None:
    connector = RayConnector(_spec(mode))
    receiver = await connector.connect_recv()
    sender = await connector.connect_send()
    await sender.send("left behind")
    await sender.close()
    await receiver.close()
    await wait_until_gone(connector.actor_name)


async def test_hub_actor_waits_for_a_receiver_while_pipeline_items_are_buffered() -> None:
    connector = RayConnector(_spec(ConnectorMode.PIPELINE))
    sender = await connector.connect_send()
    await sender.send("for a late receiver")
    await sender.close()
    assert connector.actor_name in _hubs()
    receiver = await connector.connect_recv()
    assert await drain(receiver) == ["for a late receiver"]
    await wait_until_gone(connector.actor_name)


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
    ray.kill(ray.get_actor(connector.actor_name, namespace=NAMESPACE))  # while recv() waits
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
    await wait_until_dead(connector.actor_name)
    failed_at = await asyncio.wait_for(send_until_error(sender, 100), STEP)
    assert failed_at is not None, "100 sends to a dead hub raised nothing"
    # The outbox holds min(2 * batch_size, maxsize) = 8 frames: the send after it is full
    # waits for the flusher, whose put fails on the dead hub.
    assert failed_at <= 8, f"the error came at send {failed_at}, not within one outbox (8)"
    with pytest.raises(ChannelError):
        await sender.send("again")
    with pytest.raises(ChannelError, match="not delivered"):
        await asyncio.wait_for(sender.close(), STEP)


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
    # Nobody receives: the hub takes 4 frames, then the outbox (4) fills behind a waiting put.
    # Sends 4..7 only return once the first put was accepted, so both are full afterwards.
    for i in range(8):
        await asyncio.wait_for(sender.send(("fill", i)), STEP)
    assert sender.statistics().buffered == 4
    ray.kill(ray.get_actor(connector.actor_name, namespace=NAMESPACE))
    with pytest.raises(ChannelError, match="4 messages were not delivered"):
        await asyncio.wait_for(sender.close(), STEP)


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
    await wait_until_gone(*(c.actor_name for c in connectors))


async def test_purge_leaves_the_hubs_of_a_job_whose_id_extends_it() -> None:
    job = uuid.uuid4().hex[:12]
    mine = RayConnector(_spec(ConnectorMode.PIPELINE), job_id=job)
    theirs = RayConnector(_spec(ConnectorMode.PIPELINE), job_id=f"{job}-2")
    for connector in (mine, theirs):
        await connector.connect_recv()
    assert purge(job) == [mine.actor_name]
    await wait_until_gone(mine.actor_name)
    assert theirs.actor_name in _hubs()
    assert purge(f"{job}-2") == [theirs.actor_name]
    await wait_until_gone(theirs.actor_name)


async def test_connecting_after_the_hub_was_released_does_not_start_a_new_connection() -> None:
    connector = RayConnector(_spec(ConnectorMode.PIPELINE))
    receiver = await connector.connect_recv()
    sender = await connector.connect_send()
    await sender.send("only")
    await sender.close()
    assert await drain(receiver) == ["only"]
    await receiver.close()
    await wait_until_gone(connector.actor_name)
    with pytest.raises(ChannelClosedError, match="already closed"):
        await connector.connect_send()
    late = await connector.connect_recv()
    with pytest.raises(ChannelClosedError):
        await late.recv()
    await late.close()
    assert connector.actor_name not in _hubs()
