"""A frame of one connection, sent into another that shares the secret, is dropped there.

Two connections configured with the same `CONNECTOR_SHARED_SECRET` verify each other's tags,
so the signed envelope also binds each frame to its connection's id: a party of one
connection (or anyone replaying its traffic) that pushes a frame through a sender of the
other gets it dropped and counted by that connection's receivers, never delivered. The
RabbitMQ variant, from a keyless process, is in `test_cross_connection.py`.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator

import pytest

from connector_core import Connector, ConnectorMode, ConnectorSpec, Settings
from connector_core.registry import get_backend
from connector_core.testing import drain, skip_or_fail
from connector_core.testing.backends import installed_profiles, unavailable_reason
from connector_core.transport_channel import TransportChannel

SECRET = "shared-by-two-connections-" + uuid.uuid4().hex
TIMEOUT = 60.0


@pytest.fixture(scope="module")
def ray_session() -> Iterator[None]:
    """A local 2-CPU Ray for the Ray case, unless the run already has one."""
    ray = pytest.importorskip("ray")
    if ray.is_initialized():
        yield
        return
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        yield
    finally:
        ray.shutdown()


def _connector(backend: str, tag: str, mode: ConnectorMode) -> Connector:
    profile = installed_profiles().get(backend)
    if profile is None:
        skip_or_fail(f"connector-{backend} is not installed")
    reason = unavailable_reason(profile)
    if reason is not None:
        skip_or_fail(reason)
    spec = ConnectorSpec(f"src-{tag}.out", f"dst-{tag}.in", mode=mode)
    settings = Settings(shared_secret=SECRET, end_grace=0.2)
    return get_backend(backend)(spec, settings=settings)


@pytest.mark.parametrize("mode", list(ConnectorMode), ids=lambda m: m.value)
@pytest.mark.parametrize("backend", ["zmq", "redis", "ray"])
async def test_a_frame_of_another_connection_sharing_the_secret_is_dropped(
    backend: str, mode: ConnectorMode, request: pytest.FixtureRequest
) -> None:
    if backend == "ray":
        request.getfixturevalue("ray_session")
    ours = _connector(backend, uuid.uuid4().hex[:10], mode)
    theirs = _connector(backend, uuid.uuid4().hex[:10], mode)
    receiver = await ours.connect_recv()
    sender = await ours.connect_send()
    foreign = await theirs.connect_send()
    assert isinstance(sender, TransportChannel)
    assert isinstance(foreign, TransportChannel)
    # a frame that verifies under the shared key, sealed by a sender of the other connection
    frame = foreign.seal_bytes(foreign.codec.serializer.dumps(["from the other connection"]))
    async with asyncio.timeout(TIMEOUT):
        await sender.send_bytes(frame)
        await sender.send("ours")
        await sender.close()
        await foreign.close()
        assert await drain(receiver, TIMEOUT) == ["ours"]
    assert receiver.statistics().rejected == 1
    await receiver.close()
