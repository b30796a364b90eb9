"""A process exits promptly even when its channels were never closed.

Each scenario runs in a fresh interpreter (the hang it guards against happened at exit,
in the end of the process's ZeroMQ context), which must exit with code 0 well within the
timeout.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from connector_core.spec import ConnectorMode
from connector_core.testing import unique_spec
from connector_zmq import ZMQConnector
from connector_zmq.receiver import ReceiverLink

EXIT_TIMEOUT = 60.0
"""Generous: an interpreter start plus a few connects; a hang never ends."""

_SCRIPT = textwrap.dedent(
    """
    import asyncio
    import sys

    from connector_core.spec import ConnectorSpec
    from connector_zmq import ZMQConnector


    async def main(mode: str, scenario: str) -> None:
        connector = ZMQConnector(ConnectorSpec("a.out", "b.in", mode=mode), maxsize=1000)
        receiver = await connector.connect_recv()
        sender = await connector.connect_send()
        for i in range(100):
            await sender.send({"i": i})
        if scenario == "receiver-ends-without-close":
            await sender.close()
            got = [item async for item in receiver]
            assert got == [{"i": i} for i in range(100)], got
        else:  # sender-never-closed
            got = [await receiver.recv() for _ in range(10)]
            assert got == [{"i": i} for i in range(10)], got
            await receiver.close()
        print("done", flush=True)


    asyncio.run(main(sys.argv[1], sys.argv[2]))
    """
)


def _run(mode: ConnectorMode, scenario: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", _SCRIPT, mode.value, scenario],
        capture_output=True,
        text=True,
        timeout=EXIT_TIMEOUT,
        check=False,
    )


@pytest.mark.parametrize("mode", list(ConnectorMode), ids=lambda m: m.value)
def test_process_exits_after_receiver_ended_without_close(mode: ConnectorMode) -> None:
    result = _run(mode, "receiver-ends-without-close")
    assert (result.returncode, result.stdout.strip()) == (0, "done"), result.stderr


@pytest.mark.parametrize("mode", list(ConnectorMode), ids=lambda m: m.value)
def test_process_exits_with_a_sender_never_closed(mode: ConnectorMode) -> None:
    result = _run(mode, "sender-never-closed")
    assert (result.returncode, result.stdout.strip()) == (0, "done"), result.stderr


@pytest.mark.parametrize("mode", list(ConnectorMode), ids=lambda m: m.value)
async def test_receiver_releases_its_sockets_at_the_end(mode: ConnectorMode) -> None:
    connector = ZMQConnector(unique_spec(mode), maxsize=16)
    receiver = await connector.connect_recv()
    sender = await connector.connect_send()
    await sender.send("x")
    await sender.close()
    assert [item async for item in receiver] == ["x"]
    link = receiver._rx
    assert isinstance(link, ReceiverLink)
    assert link._data.closed
    assert link._ctrl is not None
    assert link._ctrl.closed
