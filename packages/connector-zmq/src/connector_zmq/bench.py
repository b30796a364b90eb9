"""Benchmark the ZeroMQ backend against a bare pyzmq asyncio PUSH/PULL pair, in one run.

The baseline is a pyzmq asyncio PUSH (connect) -> PULL (bind) pair: the producer awaits one
``send(pickle.dumps(item))`` per item, the consumer awaits ``recv()`` and unpickles. Each of
this module's scenarios runs the bare pair, then `ZMQConnector`, between processes (small
pickled dicts, `stamped_item`):

- ``pipeline 1x1``: one sender and one receiver process;
- ``pubsub 1x4``: one sender and four subscriber processes (throughput counts each item once,
  when the last subscriber has it);
- ``batch_processes``: ``send_many``/``recv_many`` of 1000 between a producer and a consumer
  process (``maxsize`` `BATCH_MAXSIZE`, as in the machine's ``batch``), beside that
  scenario's bare queue in this process, moving its item (`small_item`); the first item of
  each list also carries its send time;
- ``large_processes``: 16 MiB ``bytes`` items (`LARGE_BYTES`) from a sender to a receiver
  process (``maxsize`` `LARGE_MAXSIZE`), beside HMAC-SHA256 over the same bytes in this process: the
  machine's ``large`` hashes twice in one process (seal and open), which caps it at 0.5x;
  here each process hashes once, on its own core. The rows give MiB/s;
- ``large_processes_signed``: the same items beside bare pyzmq moving them signed (the HMAC
  beside each item, verified on arrival): what the transport allows a signed item.

Each worker is `connector_zmq.bench_workers` started with ``python -m`` (the connector
arrives pickled on stdin); all processes connect, then start together.
Throughput is items / (time the last consumer got the last item - time the producer
started), on the system-wide monotonic clock; latency samples come from the send time
carried in every 16th item (the first of each list sent, for ``batch_processes``), pooled
over the consumers.

The kit's ``latency`` (`connector_core.benchmarking.scenarios`) runs in this process beside
a bare PUSH/PULL pair's round trip with a pickled int, both over inproc (a sender reaches a
receiver of its own process that way, `connector_zmq.inproc`); ``latency_tcp`` is the same
over TCP on both sides, the path between processes. Then the machine's scenarios
(`connector_core.benchmarking.machine`) run with the defaults, so in one process over
inproc; every target is in `TARGETS`.
``uv run connector bench --backends zmq --quick`` runs them all.
"""

from __future__ import annotations

import asyncio
import json
import os
import pickle
import subprocess
import sys
from functools import partial
from typing import Any

from connector_core import CHAN_MAXSIZE, ConnectorMode, ConnectorSpec
from connector_core import benchmarking as kit
from connector_core.benchmarking.machine import (
    BATCH_ITEMS,
    BATCH_MAXSIZE,
    LARGE_BYTES,
    QUEUE_BASELINE,
    hmac_seconds,
    queue_seconds,
)

__all__ = [
    "batch_processes",
    "large_processes",
    "large_processes_signed",
    "latency",
    "latency_tcp",
    "pipeline",
    "pubsub",
    "run",
]

BASELINE = "pyzmq asyncio PUSH/PULL, await send per item"
LONE_BASELINE = "pyzmq asyncio PUSH/PULL over inproc, pickled int, one in flight"
LONE_BASELINE_TCP = "pyzmq asyncio PUSH/PULL over TCP, pickled int, one in flight"
BATCH = BATCH_ITEMS
"""Items per `send_many()` list and per `recv_many()` in ``batch_processes``."""
WORKERS = "connector_zmq.bench_workers"
"""The module each worker process runs (``python -m``)."""
BASELINE_SIGNED = "pyzmq PUSH/PULL over TCP, HMAC-SHA256 on each side, no copy"
LARGE_QUICK, LARGE_FULL = 20, 40
"""Items in ``large_processes`` (quick, full): enough that filling the pipe (the first item
sealed, sent and verified before the second can arrive) weighs little on the rate."""
LARGE_MAXSIZE = 16
"""``maxsize`` in ``large_processes``: 4 items on their way to the receiver at a time."""
TARGETS = {
    "pipeline": 3.0,
    "pubsub": 0.5,
    "latency": 0.8,
    "vs_queue": 0.25,
    "batch": 1.5,
    "pubsub_vs_pipeline": 0.5,
    "large": 0.6,
}
"""The lowest ratio the issues ask for, per scenario (issue 14's for the machine's scenarios,
its ``batch`` for ``batch_processes`` too)."""


def _make(mode: ConnectorMode, maxsize: int, **options: Any) -> Any:
    from connector_zmq import ZMQConnector

    spec = ConnectorSpec("bench.out", "bench.in", mode)
    return ZMQConnector(spec, maxsize=maxsize, **options)


# -- the parent ------------------------------------------------------------------------------


class _Proc:
    def __init__(self, role: str, count: int, port: int = 0, connector: Any = None) -> None:
        self.popen = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "connector_zmq.bench_workers",
                "--worker",
                role,
                str(count),
                str(port),
            ],
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


def _measure(consumers: list[_Proc], producer: _Proc, count: int) -> kit.Measurement:
    producer.read()  # ready
    producer.write("go")
    start = producer.read()["t0"]
    results = [consumer.read() for consumer in consumers]
    for proc in (*consumers, producer):
        proc.finish()
    elapsed = max(r["t_end"] for r in results) - start
    return kit.Measurement(count, elapsed, [ns for r in results for ns in r["latencies_ns"]])


def _bare(count: int, kind: str = "") -> kit.Measurement:
    """The bare pair's run: `kind` ``""`` (pickled dicts) or ``"large-"`` (signed, 16 MiB)."""
    consumer = _Proc(f"bare-{kind}consumer", count)
    port = consumer.read()["port"]
    producer = _Proc(f"bare-{kind}producer", count, port)
    return _measure([consumer], producer, count)


def _zmq(mode: ConnectorMode, consumers: int, count: int, role: str = "zmq-") -> kit.Measurement:
    # batches: room for a few lists of BATCH in flight, as a user moving lists would size it;
    # large items: an open pipeline sender keeps a quarter of maxsize at its receiver, so
    # 16 lets 4 be on their way while the receiver verifies one (with 4, one at a time)
    maxsize = {"zmq-batch-": BATCH_MAXSIZE, "zmq-large-": LARGE_MAXSIZE}.get(role, CHAN_MAXSIZE)
    connector = _make(mode, maxsize)
    procs = [_Proc(f"{role}consumer", count, connector=connector) for _ in range(consumers)]
    for proc in procs:
        proc.read()  # connected: subscribed before the producer starts
    producer = _Proc(f"{role}producer", count, connector=connector)
    return _measure(procs, producer, count)


def _beside_bare(quick: bool, mode: ConnectorMode, consumers: int) -> kit.Comparison:
    count = 20_000 if quick else 200_000
    bare = _bare(count)
    ours = _zmq(mode, consumers, count)
    return kit.Comparison(f"{mode.value} 1x{consumers}", BASELINE, ours, bare, TARGETS[mode.value])


def pipeline(quick: bool) -> kit.Comparison:
    """One sender and one receiver process against the bare pair (the issue asks for 3x).

    Args:
        quick: A short run.
    """
    return _beside_bare(quick, ConnectorMode.PIPELINE, 1)


def pubsub(quick: bool) -> kit.Comparison:
    """One sender, four subscriber processes, against the bare pair (the issue asks 0.5x).

    Args:
        quick: A short run.
    """
    return _beside_bare(quick, ConnectorMode.PUBSUB, 4)


async def batch_processes(quick: bool) -> kit.Comparison:
    """`send_many`/`recv_many` of 1000 between two processes, beside a bare in-process queue.

    The machine's `batch` scenario runs both ends in one process; here the sender pickles
    and signs on one core while the receiver opens and unpickles on the other.
    """
    # quick still moves 300 lists: with fewer, the first list's trip (the pipeline filling)
    # weighs on the rate
    count = 300_000 if quick else 1_000_000
    bare = kit.Measurement(count, min([await queue_seconds(count) for _ in range(3)]))
    ours = await asyncio.to_thread(_zmq, ConnectorMode.PIPELINE, 1, count, "zmq-batch-")
    return kit.Comparison(
        f"batches of {BATCH}, 2 processes", QUEUE_BASELINE, ours, bare, TARGETS["batch"]
    )


async def large_processes(quick: bool) -> kit.Comparison:
    """16 MiB items from a sender to a receiver process, beside HMAC-SHA256 over them.

    The issue asks for 0.6x: a signed item needs one HMAC on each side, and here the two
    sides run on two cores, as they would in use.
    """
    count = LARGE_QUICK if quick else LARGE_FULL
    payload = os.urandom(LARGE_BYTES)
    bare = kit.Measurement(count, min([await hmac_seconds(payload, count) for _ in range(3)]))
    ours = await asyncio.to_thread(_zmq, ConnectorMode.PIPELINE, 1, count, "zmq-large-")
    return kit.Comparison(
        f"{LARGE_BYTES // 2**20} MiB items, 2 processes",
        "HMAC-SHA256 over the same bytes",
        ours,
        bare,
        TARGETS["large"],
        item_bytes=LARGE_BYTES,
    )


async def large_processes_signed(quick: bool) -> kit.Comparison:
    """``large_processes`` beside bare pyzmq moving the same items signed: what the wire allows.

    The bare pair sends each item as [its HMAC-SHA256, the bytes] (not copied) and the
    consumer verifies it in place, so both do the hashing ours must do, with nothing else.
    """
    count = LARGE_QUICK if quick else LARGE_FULL
    signed = await asyncio.to_thread(_bare, count, "large-")
    ours = await asyncio.to_thread(_zmq, ConnectorMode.PIPELINE, 1, count, "zmq-large-")
    return kit.Comparison(
        f"{LARGE_BYTES // 2**20} MiB items, 2 processes",
        BASELINE_SIGNED,
        ours,
        signed,
        item_bytes=LARGE_BYTES,
    )


async def _bare_round_trips(count: int, endpoint: str) -> kit.Measurement:
    import zmq
    import zmq.asyncio

    ctx = zmq.asyncio.Context()
    pull = ctx.socket(zmq.PULL)
    if endpoint == "inproc":
        address = f"inproc://bench-latency-{os.getpid()}"
        pull.bind(address)
    else:
        address = f"tcp://127.0.0.1:{pull.bind_to_random_port('tcp://127.0.0.1')}"
    push = ctx.socket(zmq.PUSH)
    push.connect(address)

    async def send(i: int) -> None:
        await push.send(pickle.dumps(i, protocol=pickle.HIGHEST_PROTOCOL))

    async def recv() -> object:
        return pickle.loads(await pull.recv())

    try:
        return await kit.round_trips(send, recv, count)
    finally:
        push.close(linger=0)
        pull.close(linger=0)
        ctx.term()


def _make_tcp(mode: ConnectorMode, maxsize: int) -> Any:
    from connector_zmq.settings import ZMQSettings

    return _make(mode, maxsize, zmq_settings=ZMQSettings(in_process=False))


latency = kit.latency_scenario(
    _make, partial(_bare_round_trips, endpoint="inproc"), LONE_BASELINE, TARGETS["latency"]
)
"""One item at a time in this process (inproc on both sides), beside the bare pair (0.8)."""

latency_tcp = kit.latency_scenario(
    _make_tcp,
    partial(_bare_round_trips, endpoint="tcp"),
    LONE_BASELINE_TCP,
    TARGETS["latency"],
    name="latency_tcp",
    label="latency 1x1, TCP",
)
"""The same over TCP on both sides (``ZMQSettings(in_process=False)``), as between processes."""


def run(quick: bool) -> list[kit.Row]:
    """Runs every scenario; returns one row each (`connector_core.benchmarking.ROW_KEYS`).

    Args:
        quick: Short runs (seconds) instead of the full ones.
    """
    machine = kit.machine_scenarios(_make, TARGETS)
    scenarios = [
        pipeline,
        pubsub,
        latency,
        latency_tcp,
        *machine,
        batch_processes,
        large_processes,
        large_processes_signed,
    ]
    return kit.run_scenarios("zmq", scenarios, quick)
