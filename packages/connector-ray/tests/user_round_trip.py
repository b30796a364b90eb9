"""A user program: one RayConnector round trip, run by `test_launchers.py` as a subprocess.

Usage: ``python user_round_trip.py``. It calls ``ray.init(num_cpus=2)`` first, as a user script
would (`tests/user_programs/round_trip.py` covers letting the connector start Ray), and prints
``ROUND TRIP OK`` when the message came back and the connection was closed on both sides.
"""

from __future__ import annotations

import asyncio

import ray

from connector_core import ConnectorSpec
from connector_ray import RayConnector


async def main() -> None:
    connector = RayConnector(ConnectorSpec("script.out", "script.in"))
    receiver = await connector.connect_recv()
    sender = await connector.connect_send()
    await sender.send("hello")
    await sender.close()
    assert await receiver.recv() == "hello"
    await receiver.close()


if __name__ == "__main__":
    ray.init(num_cpus=2)
    asyncio.run(main())
    print("ROUND TRIP OK", flush=True)
