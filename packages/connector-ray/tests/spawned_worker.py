"""A plain process (started by `test_spawned_processes.py`) that joins a connection.

Usage: ``python spawned_worker.py send NAME COUNT [SIZE]`` or
``python spawned_worker.py recv NAME``. The first stdin line is the connector, pickled and
base64-encoded. The process connects (initialising Ray at the address the connector
carries), prints ``ready``; a sender then waits for ``go`` on stdin, sends
``(NAME, 0) .. (NAME, COUNT - 1)`` (with SIZE: ``(NAME, i, large(i, SIZE))``) and closes; a
receiver drains. The last line printed is ``RESULT <json>``.
"""

from __future__ import annotations

import asyncio
import base64
import json
import pickle
import sys
from typing import Any


def large(i: int, size: int) -> bytes:
    """The bytes a sender given a SIZE sends as item `i`."""
    return bytes([i % 256]) * size


async def main(role: str, name: str, count: int, size: int) -> Any:
    connector = pickle.loads(base64.b64decode(sys.stdin.readline()))
    if role == "recv":
        channel = await connector.connect_recv()
        print("ready", flush=True)
        items = [item async for item in channel]
        await channel.close()
        return items
    channel = await connector.connect_send()
    print("ready", flush=True)
    if (await asyncio.to_thread(sys.stdin.readline)).strip() != "go":
        raise SystemExit("expected 'go' on stdin")
    for i in range(count):
        await channel.send((name, i, large(i, size)) if size else (name, i))
    await channel.close()
    return count


if __name__ == "__main__":
    role, name = sys.argv[1], sys.argv[2]
    count = int(sys.argv[3]) if len(sys.argv) > 3 else 0
    size = int(sys.argv[4]) if len(sys.argv) > 4 else 0
    result = asyncio.run(main(role, name, count, size))
    print("RESULT " + json.dumps(result), flush=True)
