"""A user's first program: one sender, one receiver, one item, then the end of the stream.

Usage: python round_trip.py BACKEND
"""

import asyncio
import sys

from connector_core import ConnectorSpec, get_backend


async def main(backend: str) -> None:
    connector = get_backend(backend)(ConnectorSpec("app.out", "worker.in"))
    async with await connector.connect_recv() as receiver:
        async with await connector.connect_send() as sender:
            await sender.send({"job": 1})
        items = [item async for item in receiver]
    assert items == [{"job": 1}], items
    assert receiver.is_closed
    print("round trip ok")


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
