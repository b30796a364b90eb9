"""Runs in its own process: a two-node local Ray cluster, sender and receiver pinned apart.

Started by `test_two_node.py` (it must not share the test run's Ray session). Prints one JSON
line with, per mode, the node each side ran on and what the receivers got, plus the log line
connecting printed when Ray was not yet initialised, and the hub actors left at the end.

Both nodes run on this machine, on the address Ray picks for it (Ray 2.60's
`cluster_utils.Cluster` does not come up with `node_ip_address="127.0.0.1"`: its GCS client
then still dials the host address).
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
import time
from typing import Any

import ray
from ray.cluster_utils import Cluster

from connector_core import ConnectorMode, ConnectorSpec
from connector_ray import NAMESPACE, RayConnector

COUNT = 300
WORKER_ENV = {"py_executable": sys.executable}
"""The test's own tasks and actors run on this interpreter, as the README advises for a user's
own tasks under `uv run` (Ray's `uv run` integration would start them through `uv run` in a
copy of the working directory, which never works under `uv run --no-sync`)."""


ray_nodes: Any = ray.nodes


class _Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


@ray.remote(num_cpus=0, resources={"node_a": 0.01}, runtime_env=WORKER_ENV)
def send_range(connector: RayConnector, count: int) -> str:
    async def body() -> None:
        channel = await connector.connect_send()
        for i in range(count):
            await channel.send(i)
        await channel.close()

    asyncio.run(body())
    return str(ray.get_runtime_context().get_node_id())


class _Receiver:
    async def connect(self, connector: RayConnector) -> str:
        self.channel = await connector.connect_recv()
        return str(ray.get_runtime_context().get_node_id())

    async def drain(self) -> list[Any]:
        items = [item async for item in self.channel]
        await self.channel.close()
        return items


Receiver: Any = ray.remote(num_cpus=0, resources={"node_b": 0.01}, runtime_env=WORKER_ENV)(
    _Receiver
)


HUB_EXIT_SECONDS = 30.0
"""How long a released hub may take to end itself (it exits after its last replies)."""


def _hubs_left_after(seconds: float) -> list[str]:
    """The hub actors still listed once none is, or once `seconds` have passed."""
    deadline = time.monotonic() + seconds
    while True:
        left = [
            a["name"]
            for a in ray.util.list_named_actors(all_namespaces=True)
            if a["namespace"] == NAMESPACE
        ]
        if not left or time.monotonic() >= deadline:
            return left
        time.sleep(0.05)  # polling Ray's actor list: there is no event to await


async def probe(address: str) -> None:
    """Connects and closes one receiver in this (not yet Ray-initialised) driver."""
    connector = RayConnector(ConnectorSpec("probe.out", "probe.in"), address=address)
    channel = await connector.connect_recv()
    await channel.close()


def main() -> None:
    cluster = Cluster(
        initialize_head=True,
        head_node_args={
            "num_cpus": 1,
            "resources": {"node_a": 1},
            "include_dashboard": False,
        },
    )
    try:
        cluster.add_node(num_cpus=1, resources={"node_b": 1})
        cluster.wait_for_nodes()
        capture = _Capture()
        logging.getLogger("connector_ray").addHandler(capture)
        logging.getLogger("connector_ray").setLevel(logging.INFO)
        was_initialised = ray.is_initialized()
        asyncio.run(probe(cluster.address))
        results: dict[str, Any] = {
            "was_initialised": was_initialised,
            "init_log": capture.lines,
            "nodes": len([n for n in ray_nodes() if n["Alive"]]),
        }
        for mode in ConnectorMode:
            connector = RayConnector(ConnectorSpec("a.out", "b.in", mode))
            receivers = [Receiver.remote() for _ in range(2)]
            receiver_nodes = ray.get([r.connect.remote(connector) for r in receivers])
            sender_node = ray.get(send_range.remote(connector, COUNT))
            received = ray.get([r.drain.remote() for r in receivers])
            results[mode.value] = {
                "sender_node": sender_node,
                "receiver_nodes": receiver_nodes,
                "received": received,
            }
            for receiver in receivers:
                ray.kill(receiver)
        results["hubs_left"] = _hubs_left_after(HUB_EXIT_SECONDS)
        print("RESULT " + json.dumps(results), flush=True)
    finally:
        ray.shutdown()
        cluster.shutdown()  # type: ignore[no-untyped-call]


if __name__ == "__main__":
    main()
