"""The worker processes of the ZeroMQ benchmark (`connector_zmq.bench`).

Each is started as ``python -m connector_zmq.bench_workers --worker ROLE COUNT PORT`` by the
benchmark's parent process. A bare worker speaks plain pyzmq PUSH/PULL; a ``zmq-`` worker
reads its `ZMQConnector`, pickled, from stdin. Every worker prints JSON lines on stdout
(``ready``, then its result) and a producer starts when the parent writes ``go``.
Timestamps are `time.monotonic()` (system-wide), so the parent can compare them.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import os
import pickle
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

from connector_core import benchmarking as kit
from connector_core.benchmarking.machine import BATCH_ITEMS, LARGE_BYTES, small_item

__all__ = ["main"]


def _emit(payload: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(payload) + "\n")
    sys.stdout.flush()


async def _wait_go() -> None:
    line = await asyncio.to_thread(sys.stdin.readline)
    if line.strip() != "go":
        raise SystemExit(f"worker expected 'go', got {line!r}")


def _summary(t_end: float, latencies: list[int]) -> dict[str, Any]:
    return {"t_end": t_end, "latencies_ns": latencies}


@contextlib.contextmanager
def _bare_socket(port: int = 0) -> Iterator[Any]:
    """A bare pyzmq asyncio PULL bound to a free port (announced), or a PUSH to `port`."""
    import zmq
    import zmq.asyncio

    ctx = zmq.asyncio.Context()
    sock = ctx.socket(zmq.PUSH if port else zmq.PULL)
    if port:
        sock.connect(f"tcp://127.0.0.1:{port}")
        _emit({"ready": True})
    else:
        _emit({"ready": True, "port": sock.bind_to_random_port("tcp://127.0.0.1")})
    try:
        yield sock
    finally:
        sock.close(linger=-1 if port else 0)  # a producer's last messages still leave
        ctx.term()


async def _bare_produce(count: int, send: Callable[[int], Awaitable[object]]) -> None:
    """Awaits ``send(i)`` for each of `count` items once the parent says go."""
    await _wait_go()
    t0 = time.monotonic()
    for i in range(count):
        await send(i)
    _emit({"t0": t0})


async def _bare_consumer(count: int) -> None:
    with _bare_socket() as pull:
        latencies: list[int] = []
        for n in range(count):
            item = pickle.loads(await pull.recv())
            if n % 16 == 0:
                latencies.append(time.monotonic_ns() - item["t"])
        _emit(_summary(time.monotonic(), latencies))


async def _bare_producer(count: int, port: int) -> None:
    def pickled(i: int) -> bytes:
        return pickle.dumps(kit.stamped_item(i), protocol=pickle.HIGHEST_PROTOCOL)

    with _bare_socket(port) as push:
        await _bare_produce(count, lambda i: push.send(pickled(i)))


_BARE_KEY = bytes(range(32))
"""The bare signed pair's HMAC key (both processes know it; nothing here is secret)."""


def _tag(data: Any) -> bytes:
    return hmac.new(_BARE_KEY, data, hashlib.sha256).digest()


async def _bare_large_consumer(count: int) -> None:
    """Takes `count` [tag, 16 MiB] messages, verifying each tag (HMAC-SHA256) in place."""
    with _bare_socket() as pull:
        for _ in range(count):
            tag, data = await pull.recv_multipart(copy=False)
            if not hmac.compare_digest(_tag(data.buffer), tag.bytes) or len(data) != LARGE_BYTES:
                raise SystemExit("bare large consumer: a message did not verify")
        _emit(_summary(time.monotonic(), []))


async def _bare_large_producer(count: int, port: int) -> None:
    """Sends one 16 MiB ``bytes`` `count` times, each behind its HMAC-SHA256, not copied."""
    large = os.urandom(LARGE_BYTES)
    with _bare_socket(port) as push:
        await _bare_produce(count, lambda i: push.send_multipart([_tag(large), large], copy=False))


async def _zmq_consumer(connector: Any, count: int, batch: int) -> None:
    """Takes `count` items one by one (`batch` 1) or in lists of up to `batch`."""
    channel = await connector.connect_recv()
    _emit({"ready": True})
    latencies: list[int] = []
    n, t_end = 0, 0.0
    if batch == 1:
        async for item in channel:
            if n % 16 == 0:
                latencies.append(time.monotonic_ns() - item["t"])
            n += 1
            if n == count:
                t_end = time.monotonic()
    else:
        async for items in channel.batches(batch):
            first = -n % batch  # the stamped item (the first of each list sent), if here
            if first < len(items):
                latencies.append(time.monotonic_ns() - items[first]["t"])
            n += len(items)
            if n == count:
                t_end = time.monotonic()
    await channel.close()
    if n != count:
        raise SystemExit(f"consumer got {n} of {count} items")
    _emit(_summary(t_end, latencies))


async def _large_consumer(connector: Any, count: int) -> None:
    """Takes `count` large items (no latency samples: they carry no send time)."""
    channel = await connector.connect_recv()
    _emit({"ready": True})
    n, t_end = 0, 0.0
    async for item in channel:
        n += 1 if len(item) == LARGE_BYTES else 0
        if n == count:
            t_end = time.monotonic()
    await channel.close()
    if n != count:
        raise SystemExit(f"consumer got {n} of {count} large items")
    _emit(_summary(t_end, []))


async def _zmq_producer(connector: Any, count: int, batch: int) -> None:
    """Sends `count` items: one by one (`batch` 1), in lists of `batch`, or large (`batch` 0).

    Large: one ``bytes`` item of `LARGE_BYTES`, `count` times.
    """
    channel = await connector.connect_send()
    large = os.urandom(LARGE_BYTES) if batch == 0 else b""
    _emit({"ready": True})
    await _wait_go()
    t0 = time.monotonic()
    if batch == 0:
        for _ in range(count):
            await channel.send(large)
    elif batch == 1:
        for i in range(count):
            await channel.send(kit.stamped_item(i))
    else:
        for first in range(0, count, batch):
            items = [small_item(i) for i in range(first, min(first + batch, count))]
            items[0]["t"] = time.monotonic_ns()  # the one latency sample of the list
            await channel.send_many(items)
    await channel.close()
    _emit({"t0": t0})


def _worker(role: str, count: int, port: int) -> None:
    if role == "bare-consumer":
        asyncio.run(_bare_consumer(count))
    elif role == "bare-producer":
        asyncio.run(_bare_producer(count, port))
    elif role == "bare-large-consumer":
        asyncio.run(_bare_large_consumer(count))
    elif role == "bare-large-producer":
        asyncio.run(_bare_large_producer(count, port))
    else:
        raise SystemExit(f"unknown worker role {role!r}")


def _zmq_worker(role: str, count: int) -> None:
    connector = pickle.loads(bytes.fromhex(sys.stdin.readline().strip()))
    if role == "zmq-large-consumer":
        asyncio.run(_large_consumer(connector, count))
        return
    batch = {"zmq-batch-": BATCH_ITEMS, "zmq-large-": 0}.get(role[: role.rindex("-") + 1], 1)
    work = _zmq_consumer if role.endswith("-consumer") else _zmq_producer
    asyncio.run(work(connector, count, batch))


def main(argv: list[str]) -> int:
    """A worker process's entry: ``python -m connector_zmq.bench_workers --worker ROLE N PORT``.

    Args:
        argv: ``--worker``, the role, the item count and the bare consumer's port (or 0).
    """
    if len(argv) != 4 or argv[0] != "--worker":
        raise SystemExit("usage: python -m connector_zmq.bench_workers --worker ROLE COUNT PORT")
    role, count, port = argv[1], int(argv[2]), int(argv[3])
    if role.startswith("zmq-"):
        _zmq_worker(role, count)
    else:
        _worker(role, count, port)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
