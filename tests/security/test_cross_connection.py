"""Two connections that share `CONNECTOR_SHARED_SECRET` do not accept each other's frames.

Every frame carries its connection's id inside the signed envelope
(`connector_core.envelope`), so a frame that verifies under the shared key is still dropped
by a receiver of another connection. RabbitMQ: a keyless process with broker credentials
copies a message of one connection to the other's exchange (`rabbitmq_attacker.py replay`).
"""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from connector_core import ConnectorMode, ConnectorSpec, Settings
from connector_core.channel import Channel
from connector_core.testing import drain
from connector_core.testing.programs import user_environment
from connector_rabbitmq import RabbitMQConnector

pytestmark = pytest.mark.rabbitmq

ATTACKER = Path(__file__).with_name("rabbitmq_attacker.py")
TIMEOUT = 60.0
SECRET = "cross-connection-" + uuid.uuid4().hex


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
async def _replaying(url: str, source: str, target: str, copies: int) -> AsyncIterator[None]:
    """Runs the `replay` attacker: bound to `source` on entry, done replaying on exit."""
    attacker = await asyncio.to_thread(_popen, ["replay", url, source, target, str(copies)])
    try:
        assert attacker.stdout is not None
        async with asyncio.timeout(TIMEOUT):
            line = await asyncio.to_thread(attacker.stdout.readline)
        assert line.strip() == "bound", line
        yield
        out, err = await asyncio.to_thread(attacker.communicate, timeout=TIMEOUT)
        assert attacker.returncode == 0, err
        assert f"{copies} copies" in out
    finally:
        if attacker.poll() is None:
            attacker.kill()
            attacker.wait()


async def _receive_all(receiver: Channel) -> tuple[list[object], int]:
    got = await drain(receiver, TIMEOUT)
    await receiver.close()
    return got, receiver.statistics().rejected


async def test_a_frame_of_a_connection_sharing_the_secret_is_dropped_by_another(
    rabbitmq_url: str,
) -> None:
    tag = uuid.uuid4().hex[:10]
    settings = Settings(shared_secret=SECRET, end_grace=0.5)
    one, other = (
        RabbitMQConnector(
            ConnectorSpec(f"{name}-{tag}.out", f"sink-{tag}.in", ConnectorMode.PIPELINE),
            job_id=f"security-{tag}",
            settings=settings,
        )
        for name in ("one", "other")
    )
    assert one.codec.connection != other.codec.connection  # same key, different connections
    one_in, other_in = await one.connect_recv(), await other.connect_recv()
    one_out, other_out = await one.connect_send(), await other.connect_send()
    async with _replaying(rabbitmq_url, one.names.work, other.names.work, 2):
        await one_out.send("for one only")
    for item in range(3):
        await other_out.send(item)
    await asyncio.gather(one_out.close(), other_out.close())

    (one_got, one_rejected), (other_got, other_rejected) = await asyncio.gather(
        _receive_all(one_in), _receive_all(other_in)
    )

    assert one_got == ["for one only"]
    assert one_rejected == 0
    assert other_got == [0, 1, 2]
    assert other_rejected == 2
