"""`asyncio.run(main())` twice in one process, as a script, notebook or test suite does.

Usage: python run_twice.py BACKEND
"""

import asyncio
import sys

from connector_core import ConnectorSpec, get_backend


async def main(backend: str, run: int) -> None:
    connector = get_backend(backend)(ConnectorSpec("app.out", "worker.in"))
    async with await connector.connect_recv() as receiver:
        async with await connector.connect_send() as sender:
            for n in range(3):
                await sender.send((run, n))
        items = [item async for item in receiver]
    assert items == [(run, 0), (run, 1), (run, 2)], items
    print(f"run {run} ok")


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], 1))
    asyncio.run(main(sys.argv[1], 2))
