"""A connector made in the parent and pickled to a process started with `spawn`.

Usage: python spawned.py BACKEND
"""

import asyncio
import multiprocessing
import sys

from connector_core import Connector, ConnectorSpec, get_backend


def produce(connector: Connector) -> None:
    async def run() -> None:
        async with await connector.connect_send() as sender:
            for n in range(5):
                await sender.send(n * n)

    asyncio.run(run())


async def main(backend: str) -> None:
    connector = get_backend(backend)(ConnectorSpec("producer.out", "app.in"))
    async with await connector.connect_recv() as receiver:
        child = multiprocessing.get_context("spawn").Process(target=produce, args=(connector,))
        child.start()
        items = [item async for item in receiver]
    await asyncio.to_thread(child.join)
    assert child.exitcode == 0, f"the spawned producer exited with {child.exitcode}"
    assert items == [0, 1, 4, 9, 16], items
    print("spawned producer ok")


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
