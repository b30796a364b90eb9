"""Benchmark the ZeroMQ backend against a bare pyzmq asyncio PUSH/PULL pair, in one run.

Scenarios (one producer process, consumer processes, small pickled dicts), each measuring
the bare pair and then the backend:

- the baseline, a pyzmq asyncio PUSH (connect) -> PULL (bind) pair where the producer
  awaits one ``send(pickle.dumps(item))`` per item and the consumer awaits ``recv()`` and
  unpickles;
- ``pipeline 1x1``: `ZMQConnector` in pipeline mode, one sender and one receiver process;
- ``pubsub 1x4``: `ZMQConnector` in pubsub mode, one sender and four subscriber processes
  (throughput counts each item once, when the last subscriber has it);
- ``latency 1x1``: one item at a time in this process, ``send()`` then awaiting ``recv()``
  through `ZMQConnector` (pipeline), 500 round trips (200 with ``--quick``), beside a bare
  pyzmq asyncio PUSH/PULL pair doing the same round trip with a pickled int; the ratio is
  bare p50 / our p50.

Each worker is this module started with ``python -m connector_zmq.bench --worker`` (the
connector arrives pickled on stdin); all processes connect, then start together.
Throughput is items / (time the last consumer got the last item - time the producer
started), on the system-wide monotonic clock; latency samples come from the send timestamp
carried in every 16th item, pooled over the consumers.

`run(quick)` returns the rows; `connector bench` finds it in the `connector.benchmarks` entry
points (``uv run connector bench --backends zmq --quick``).

Beside those, the scenarios of `connector_core.benchmarking.machine` measure it against the
machine's floor in one process: ``vs_queue`` and ``batch`` (``send_many``/``recv_many`` of
1000) beside a bare ``asyncio.Queue(1000)``, ``pubsub_vs_pipeline`` beside its own pipeline,
and ``large`` (16 MiB items) beside HMAC-SHA256 over the same bytes, with issue 14's targets
(`MACHINE_TARGETS`). ``batch_processes`` runs ``send_many``/``recv_many`` of 1000 between a
producer and a consumer process (``maxsize`` 8000), beside the same bare queue.
"""

from __future__ import annotations

import asyncio
import json
import pickle
import subprocess
import sys
import time
from typing import Any

from connector_core import ConnectorMode, ConnectorSpec
from connector_core.benchmarking import (
    RATIO_OF_P50,
    Comparison,
    Measurement,
    Row,
    machine_scenarios,
    round_trips,
    run_scenarios,
)
from connector_core.benchmarking.machine import QUEUE_BASELINE, queue_seconds

__all__ = ["batch_processes", "latency", "pipeline", "pubsub", "run"]

BASELINE = "pyzmq asyncio PUSH/PULL, await send per item"
BATCH = 1000
"""Items per `send_many()` list and per `recv_many()` in ``batch_processes``."""


def _item(i: int) -> dict[str, Any]:
    return {"i": i, "t": time.monotonic_ns(), "name": "reading", "value": i * 0.5}


# -- workers (run in their own processes) ---------------------------------------------------


def _emit(payload: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(payload) + "\n")
    sys.stdout.flush()


async def _wait_go() -> None:
    line = await asyncio.to_thread(sys.stdin.readline)
    if line.strip() != "go":
        raise SystemExit(f"worker expected 'go', got {line!r}")


def _summary(t_end: float, latencies: list[int]) -> dict[str, Any]:
    return {"t_end": t_end, "latencies_ns": latencies}


async def _bare_consumer(count: int) -> None:
    import zmq
    import zmq.asyncio

    ctx = zmq.asyncio.Context()
    pull = ctx.socket(zmq.PULL)
    port = pull.bind_to_random_port("tcp://127.0.0.1")
    _emit({"ready": True, "port": port})
    latencies: list[int] = []
    for n in range(count):
        item = pickle.loads(await pull.recv())
        if n % 16 == 0:
            latencies.append(time.monotonic_ns() - item["t"])
    t_end = time.monotonic()
    _emit(_summary(t_end, latencies))
    pull.close()
    ctx.term()


async def _bare_producer(count: int, port: int) -> None:
    import zmq
    import zmq.asyncio

    ctx = zmq.asyncio.Context()
    push = ctx.socket(zmq.PUSH)
    push.connect(f"tcp://127.0.0.1:{port}")
    _emit({"ready": True})
    await _wait_go()
    t0 = time.monotonic()
    for i in range(count):
        await push.send(pickle.dumps(_item(i), protocol=pickle.HIGHEST_PROTOCOL))
    _emit({"t0": t0})
    push.close(linger=-1)
    ctx.term()


async def _zmq_consumer(connector: Any, count: int) -> None:
    channel = await connector.connect_recv()
    _emit({"ready": True})
    latencies: list[int] = []
    n = 0
    async for item in channel:
        if n % 16 == 0:
            latencies.append(time.monotonic_ns() - item["t"])
        n += 1
        if n == count:
            t_end = time.monotonic()
    await channel.close()
    if n != count:
        raise SystemExit(f"consumer got {n} of {count} items")
    _emit(_summary(t_end, latencies))


async def _zmq_producer(connector: Any, count: int) -> None:
    channel = await connector.connect_send()
    _emit({"ready": True})
    await _wait_go()
    t0 = time.monotonic()
    for i in range(count):
        await channel.send(_item(i))
    await channel.close()
    _emit({"t0": t0})


async def _zmq_batch_consumer(connector: Any, count: int) -> None:
    channel = await connector.connect_recv()
    _emit({"ready": True})
    latencies: list[int] = []
    n = 0
    async for batch in channel.batches(BATCH):
        now = time.monotonic_ns()
        latencies.append(now - batch[0]["t"])
        n += len(batch)
        if n == count:
            t_end = time.monotonic()
    await channel.close()
    if n != count:
        raise SystemExit(f"consumer got {n} of {count} items")
    _emit(_summary(t_end, latencies))


async def _zmq_batch_producer(connector: Any, count: int) -> None:
    channel = await connector.connect_send()
    _emit({"ready": True})
    await _wait_go()
    t0 = time.monotonic()
    for first in range(0, count, BATCH):
        await channel.send_many([_item(i) for i in range(first, min(first + BATCH, count))])
    await channel.close()
    _emit({"t0": t0})


def _worker(role: str, count: int, port: int) -> None:
    if role == "bare-consumer":
        asyncio.run(_bare_consumer(count))
    elif role == "bare-producer":
        asyncio.run(_bare_producer(count, port))
    else:
        raise SystemExit(f"unknown worker role {role!r}")


def _zmq_worker(role: str, count: int) -> None:
    connector = pickle.loads(bytes.fromhex(sys.stdin.readline().strip()))
    if role == "zmq-consumer":
        asyncio.run(_zmq_consumer(connector, count))
    elif role == "zmq-batch-consumer":
        asyncio.run(_zmq_batch_consumer(connector, count))
    elif role == "zmq-batch-producer":
        asyncio.run(_zmq_batch_producer(connector, count))
    else:
        asyncio.run(_zmq_producer(connector, count))


# -- the parent ------------------------------------------------------------------------------


class _Proc:
    def __init__(self, role: str, count: int, port: int = 0, connector: Any = None) -> None:
        self.popen = subprocess.Popen(
            [sys.executable, "-m", "connector_zmq.bench", "--worker", role, str(count), str(port)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        if connector is not None:
            self.write(pickle.dumps(connector).hex())

    def write(self, line: str) -> None:
        assert self.popen.stdin is not None
        self.popen.stdin.write(line + "\n")
        self.popen.stdin.flush()

    def read(self) -> dict[str, Any]:
        assert self.popen.stdout is not None
        line = self.popen.stdout.readline()
        if not line:
            raise RuntimeError(f"worker {self.popen.args!r} exited ({self.popen.wait()})")
        result: dict[str, Any] = json.loads(line)
        return result

    def finish(self) -> None:
        if self.popen.stdin is not None:
            self.popen.stdin.close()
        status = self.popen.wait(60)
        if self.popen.stdout is not None:
            self.popen.stdout.close()
        if status != 0:
            raise RuntimeError(f"worker {self.popen.args!r} failed")


def _measure(consumers: list[_Proc], producer: _Proc, count: int) -> Measurement:
    producer.read()  # ready
    producer.write("go")
    start = producer.read()["t0"]
    results = [consumer.read() for consumer in consumers]
    for proc in (*consumers, producer):
        proc.finish()
    elapsed = max(r["t_end"] for r in results) - start
    return Measurement(count, elapsed, [ns for r in results for ns in r["latencies_ns"]])


def _bare(count: int) -> Measurement:
    consumer = _Proc("bare-consumer", count)
    port = consumer.read()["port"]
    producer = _Proc("bare-producer", count, port)
    return _measure([consumer], producer, count)


def _zmq(mode: str, consumers: int, count: int, batches: bool = False) -> Measurement:
    from connector_core import ConnectorMode, ConnectorSpec
    from connector_zmq import ZMQConnector

    spec = ConnectorSpec("bench.out", "sink.in", ConnectorMode(mode))
    # batches: room for a few lists of BATCH in flight, as a user moving lists would size it
    connector = ZMQConnector(spec, maxsize=8 * BATCH) if batches else ZMQConnector(spec)
    role = "zmq-batch-" if batches else "zmq-"
    procs = [_Proc(f"{role}consumer", count, connector=connector) for _ in range(consumers)]
    for proc in procs:
        proc.read()  # connected: subscribed before the producer starts
    producer = _Proc(f"{role}producer", count, connector=connector)
    return _measure(procs, producer, count)


def _count(quick: bool) -> int:
    return 20_000 if quick else 200_000


def pipeline(quick: bool) -> Comparison:
    """One sender and one receiver process against the bare pair (the issue asks for 3x)."""
    bare = _bare(_count(quick))
    return Comparison("pipeline 1x1", BASELINE, _zmq("pipeline", 1, _count(quick)), bare, 3.0)


def pubsub(quick: bool) -> Comparison:
    """One sender, four subscriber processes, against the bare pair (the issue asks 0.5x)."""
    bare = _bare(_count(quick))
    return Comparison("pubsub 1x4", BASELINE, _zmq("pubsub", 4, _count(quick)), bare, 0.5)


async def batch_processes(quick: bool) -> Comparison:
    """`send_many`/`recv_many` of 1000 between two processes, beside a bare in-process queue.

    The machine's `batch` scenario runs both ends in one process; here the sender pickles
    and signs on one core while the receiver opens and unpickles on the other.
    """
    count = 100_000 if quick else 1_000_000
    bare = Measurement(count, min([await queue_seconds(count) for _ in range(3)]))
    ours = await asyncio.to_thread(_zmq, "pipeline", 1, count, True)
    return Comparison(
        f"batches of {BATCH}, 2 processes", QUEUE_BASELINE, ours, bare, MACHINE_TARGETS["batch"]
    )


async def _bare_round_trips(count: int) -> Measurement:
    import zmq
    import zmq.asyncio

    ctx = zmq.asyncio.Context()
    pull = ctx.socket(zmq.PULL)
    port = pull.bind_to_random_port("tcp://127.0.0.1")
    push = ctx.socket(zmq.PUSH)
    push.connect(f"tcp://127.0.0.1:{port}")

    async def send(i: int) -> None:
        await push.send(pickle.dumps(i, protocol=pickle.HIGHEST_PROTOCOL))

    async def recv() -> object:
        return pickle.loads(await pull.recv())

    try:
        return await round_trips(send, recv, count)
    finally:
        push.close(linger=0)
        pull.close(linger=0)
        ctx.term()


async def _zmq_round_trips(count: int) -> Measurement:
    from connector_core import ConnectorMode, ConnectorSpec
    from connector_zmq import ZMQConnector

    connector = ZMQConnector(ConnectorSpec("lone.out", "sink.in", ConnectorMode.PIPELINE))
    receiver = await connector.connect_recv()
    sender = await connector.connect_send()
    try:
        return await round_trips(sender.send, receiver.recv, count)
    finally:
        await sender.close()
        await receiver.close()


async def latency(quick: bool) -> Comparison:
    """One item at a time, ours beside the bare pair in this process (the issue asks 0.8)."""
    count = 200 if quick else 500
    bare = await _bare_round_trips(count)
    ours = await _zmq_round_trips(count)
    baseline = "pyzmq asyncio PUSH/PULL, pickled int, one in flight"
    return Comparison("latency 1x1", baseline, ours, bare, 0.8, RATIO_OF_P50)


def run(quick: bool) -> list[Row]:
    """Runs every scenario; returns one row each (`connector_core.benchmarking.ROW_KEYS`)."""
    machine = machine_scenarios(_machine_connector, MACHINE_TARGETS)
    return run_scenarios("zmq", [pipeline, pubsub, latency, *machine, batch_processes], quick)


MACHINE_TARGETS = {"vs_queue": 0.25, "batch": 1.5, "pubsub_vs_pipeline": 0.5, "large": 0.6}
"""Issue 14's targets for the scenarios of `connector_core.benchmarking.machine`."""


def _machine_connector(mode: ConnectorMode, maxsize: int) -> Any:
    from connector_zmq import ZMQConnector

    return ZMQConnector(ConnectorSpec("bench.out", "bench.in", mode), maxsize=maxsize)


def main(argv: list[str]) -> int:
    """The entry of a worker process: ``python -m connector_zmq.bench --worker ROLE N PORT``."""
    if len(argv) != 4 or argv[0] != "--worker":
        raise SystemExit("usage: python -m connector_zmq.bench --worker ROLE COUNT PORT")
    role, count, port = argv[1], int(argv[2]), int(argv[3])
    if role.startswith("zmq-"):
        _zmq_worker(role, count)
    else:
        _worker(role, count, port)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
