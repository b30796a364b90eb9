"""Plain processes (not Ray workers) that unpickle a connector join the same connection.

Unlike the conformance suite's spawn test (`multiprocessing`, which inherits the environment),
the workers are scripts started without `RAY_ADDRESS`: they find the cluster through the
address the connector carries.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import pickle
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
import ray

from connector_core import ConnectorMode, ConnectorSpec
from connector_core.testing import assert_delivered_once, drain
from connector_ray import NAMESPACE, RayConnector
from connector_ray.settings import RaySettings

pytestmark = [pytest.mark.ray, pytest.mark.crossprocess, pytest.mark.timeout(240)]

_WORKER = Path(__file__).with_name("spawned_worker.py")
_COUNT = 150
_STEP = 120.0


async def _start(connector: RayConnector, *args: str) -> asyncio.subprocess.Process:
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        str(_WORKER),
        *args,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        env=env,
    )
    assert process.stdin is not None
    process.stdin.write(base64.b64encode(pickle.dumps(connector)) + b"\n")
    await process.stdin.drain()
    return process


async def _ready(process: asyncio.subprocess.Process) -> None:
    assert process.stdout is not None
    line = await asyncio.wait_for(process.stdout.readline(), _STEP)
    assert line.strip() == b"ready", f"worker said {line!r} instead of ready"


async def _result(process: asyncio.subprocess.Process) -> Any:
    assert process.stdout is not None
    out, _ = await asyncio.wait_for(process.communicate(), _STEP)
    assert process.returncode == 0, f"worker exited with {process.returncode}"
    last = out.decode().strip().splitlines()[-1]
    assert last.startswith("RESULT "), last
    return json.loads(last.removeprefix("RESULT "))


@pytest.mark.parametrize("mode", list(ConnectorMode), ids=lambda m: m.value)
async def test_two_sender_and_two_receiver_processes_share_one_connection(
    mode: ConnectorMode,
) -> None:
    tag = uuid.uuid4().hex[:8]
    connector = RayConnector(ConnectorSpec(f"src-{tag}.out", f"dst-{tag}.in", mode))
    processes: list[asyncio.subprocess.Process] = []
    try:
        receivers = [await _start(connector, "recv", f"r{n}") for n in range(2)]
        processes += receivers
        await asyncio.gather(*(_ready(p) for p in receivers))
        senders = [await _start(connector, "send", f"s{n}", str(_COUNT)) for n in range(2)]
        processes += senders
        await asyncio.gather(*(_ready(p) for p in senders))
        for sender in senders:
            assert sender.stdin is not None
            sender.stdin.write(b"go\n")
            await sender.stdin.drain()
        assert await asyncio.gather(*(_result(p) for p in senders)) == [_COUNT, _COUNT]
        received = await asyncio.gather(*(_result(p) for p in receivers))
    finally:
        for process in processes:
            if process.returncode is None:
                process.kill()
                await process.wait()
    expected = [(f"s{s}", i) for s in range(2) for i in range(_COUNT)]
    assert_delivered_once([map(tuple, items) for items in received], expected, mode)


async def test_large_items_outlive_a_sender_process_that_exited_after_close() -> None:
    """Its process owned their objects: its close handed the queued ones to the hub."""
    tag = uuid.uuid4().hex[:8]
    spec = ConnectorSpec(f"src-{tag}.out", f"dst-{tag}.in", ConnectorMode.PIPELINE)
    connector = RayConnector(spec, maxsize=8, ray_settings=RaySettings(large_frame_bytes=4096))
    receiver = await connector.connect_recv()
    sender = await _start(connector, "send", "big", "5", str(64 * 1024))
    try:
        await _ready(sender)
        assert sender.stdin is not None
        sender.stdin.write(b"go\n")
        await sender.stdin.drain()
        assert await _result(sender) == 5  # it closed and exited: its objects are gone
    finally:
        if sender.returncode is None:
            sender.kill()
            await sender.wait()
    hub: Any = ray.get_actor(connector.actor_name, namespace=NAMESPACE)
    status = await asyncio.wait_for(hub.status.remote(), _STEP)
    assert (status["buffered"], status["refs"]) == (5, 0)
    items = await drain(receiver, _STEP)
    assert [tuple(item) for item in items] == [("big", i, bytes([i]) * 64 * 1024) for i in range(5)]
    assert receiver.statistics().rejected == 0
