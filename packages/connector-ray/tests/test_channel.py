"""RayChannel and RayConnector specifics: options, standalone channels, pickling, batching."""

from __future__ import annotations

import asyncio
import pickle
import uuid
from typing import Any

import pytest
import ray

from connector_core import (
    ChannelClosedError,
    ChannelError,
    ConnectorMode,
    ConnectorSpec,
    SerdeChannel,
    get_backend,
)
from connector_core.testing import drain
from connector_ray import DEFAULT_ACTOR_OPTIONS, NAMESPACE, RayChannel, RayConnector

pytestmark = pytest.mark.ray


def _spec(mode: ConnectorMode = ConnectorMode.PIPELINE) -> ConnectorSpec:
    tag = uuid.uuid4().hex[:8]
    return ConnectorSpec(f"src-{tag}.out", f"dst-{tag}.in", mode)


def test_backend_is_registered_as_ray() -> None:
    assert get_backend("ray") is RayConnector


def test_actor_options_default_to_zero_cpus() -> None:
    assert RayConnector(_spec()).actor_options == {"num_cpus": 0} == dict(DEFAULT_ACTOR_OPTIONS)
    assert RayConnector(_spec(), actor_options={"memory": 10**8}).actor_options == {
        "num_cpus": 0,
        "memory": 10**8,
    }


@pytest.mark.parametrize("option", ["name", "namespace", "lifetime", "get_if_exists"])
def test_actor_options_may_not_name_the_actor(option: str) -> None:
    with pytest.raises(ValueError, match="may not set"):
        RayConnector(_spec(), actor_options={option: "x"})


@pytest.mark.parametrize("bad", [0, -1, 1.5, True])
def test_batch_size_must_be_a_positive_int(bad: object) -> None:
    with pytest.raises(ValueError, match="batch_size"):
        RayConnector(_spec(), batch_size=bad)  # type: ignore[arg-type]


def test_making_a_connector_does_no_io() -> None:
    connector = RayConnector(_spec())
    assert connector.actor_name not in {
        a["name"] for a in ray.util.list_named_actors(all_namespaces=True)
    }


def test_pickled_connector_carries_the_cluster_address_and_key() -> None:
    connector = RayConnector(_spec())
    copy = pickle.loads(pickle.dumps(connector))
    assert copy.address == ray.get_runtime_context().gcs_address
    assert copy.codec == connector.codec
    assert copy.actor_name == connector.actor_name


async def test_channels_are_signed_serde_channels() -> None:
    connector = RayConnector(_spec())
    receiver = await connector.connect_recv()
    sender = await connector.connect_send()
    assert isinstance(sender, SerdeChannel)
    assert sender.codec.signed
    with pytest.raises(TypeError, match="cannot be pickled"):
        pickle.dumps(sender)
    await sender.close()
    await receiver.close()


async def test_a_lone_message_is_delivered_without_more_sends() -> None:
    connector = RayConnector(_spec())
    receiver = await connector.connect_recv()
    sender = await connector.connect_send()
    await sender.send("alone")
    assert await asyncio.wait_for(receiver.recv(), 30) == "alone"
    await sender.close()
    await receiver.close()


async def test_sends_are_batched_into_few_actor_calls() -> None:
    connector = RayConnector(_spec(), batch_size=100)
    receiver = await connector.connect_recv()
    sender = await connector.connect_send()
    calls = 0
    handle = ray.get_actor(connector.actor_name, namespace=NAMESPACE)
    put: Any = handle.put

    class CountingPut:
        def remote(self, *args: object) -> object:
            nonlocal calls
            calls += 1
            return put.remote(*args)

    link: Any = sender._tx._link  # type: ignore[union-attr]
    link.handle = _Proxy(handle, CountingPut())
    for i in range(1000):
        await sender.send(i)
    await sender.close()
    assert await drain(receiver) == list(range(1000))
    assert calls <= 20, f"{calls} put calls for 1000 messages"
    await receiver.close()


class _Proxy:
    def __init__(self, handle: object, put: object) -> None:
        self._handle = handle
        self.put = put

    def __getattr__(self, name: str) -> object:
        return getattr(self._handle, name)


async def test_standalone_channel_is_its_own_sender_and_receiver() -> None:
    channel = RayChannel(maxsize=10)
    assert channel.maxsize == 10
    assert channel.is_closed is False
    for i in range(5):
        await channel.send(i)
    await channel.close()
    closed: bool = channel.is_closed
    assert closed
    with pytest.raises(ChannelClosedError):
        await channel.send(5)
    assert await drain(channel) == list(range(5))


async def test_recv_on_a_sending_channel_raises() -> None:
    connector = RayConnector(_spec())
    receiver = await connector.connect_recv()
    sender = await connector.connect_send()
    with pytest.raises(ChannelError, match="cannot receive"):
        await sender.recv()
    with pytest.raises(ChannelError, match="cannot send"):
        await receiver.send(1)
    await sender.close()
    await receiver.close()


async def test_a_maxsize_beyond_any_fixed_width_is_honoured() -> None:
    """Ray has no transport limit on `maxsize` (`maxsize_limit` is None): 2**40 just works."""
    assert RayConnector.maxsize_limit is None
    connector = RayConnector(_spec(ConnectorMode.PUBSUB), maxsize=2**40)
    receiver = await connector.connect_recv()
    sender = await connector.connect_send()
    assert sender.maxsize == 2**40
    for i in range(300):
        await sender.send(i)
    await sender.close()
    assert await drain(receiver) == list(range(300))


def test_a_standalone_channel_belongs_to_the_loop_of_its_first_use() -> None:
    channel = RayChannel(maxsize=10)

    async def first() -> None:
        await channel.send("home")

    async def elsewhere() -> None:
        with pytest.raises(ChannelError, match="another event loop"):
            await channel.recv()

    async def home_again() -> list[object]:
        await channel.close()
        return await drain(channel)

    runner = asyncio.Runner()
    with runner:
        runner.run(first())
        asyncio.run(elsewhere())
        assert runner.run(home_again()) == ["home"]
