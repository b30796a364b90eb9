"""Benchmark the ZeroMQ backend against a bare pyzmq asyncio PUSH/PULL pair, in one run.

Scenarios (one producer process, consumer processes, small pickled dicts):

- ``bare pipeline``: the baseline, a pyzmq asyncio PUSH (connect) -> PULL (bind) pair where
  the producer awaits one ``send(pickle.dumps(item))`` per item and the consumer awaits
  ``recv()`` and unpickles;
- ``pipeline 1x1``: `ZMQConnector` in pipeline mode, one sender and one receiver process;
- ``pubsub 1x4``: `ZMQConnector` in pubsub mode, one sender and four subscriber processes
  (throughput counts each item once, when the last subscriber has it).

Each worker is this module started with ``python -m connector_zmq.bench --worker`` (the
connector arrives pickled on stdin); all processes connect, then start together.
Throughput is items / (time the last consumer got the last item - time the producer
started), on the system-wide monotonic clock; latency percentiles come from the send
timestamp carried in every item.

Usage: ``uv run python -m connector_zmq.bench [--quick]`` (or ``tools/bench_zmq.py``);
`run(quick)` returns the rows; `connector bench` finds it in the `connector.benchmarks` entry
points.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import pickle
import statistics
import subprocess
import sys
import time
from typing import Any

__all__ = ["main", "run"]

_TARGETS = {"pipeline 1x1": 3.0, "pubsub 1x4": 0.5}
"""Ratios to the bare pipeline that the issue asks for."""


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
    latencies.sort()
    return {
        "t_end": t_end,
        "p50": latencies[len(latencies) // 2] / 1000 if latencies else None,
        "p99": latencies[int(len(latencies) * 0.99)] / 1000 if latencies else None,
    }


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
        if self.popen.wait(60) != 0:
            raise RuntimeError(f"worker {self.popen.args!r} failed")


def _measure(consumers: list[_Proc], producer: _Proc, count: int) -> dict[str, Any]:
    producer.read()  # ready
    producer.write("go")
    start = producer.read()["t0"]
    results = [consumer.read() for consumer in consumers]
    for proc in (*consumers, producer):
        proc.finish()
    elapsed = max(r["t_end"] for r in results) - start
    p50s = [r["p50"] for r in results if r["p50"] is not None]
    p99s = [r["p99"] for r in results if r["p99"] is not None]
    return {
        "msgs_per_s": count / elapsed,
        "p50_us": statistics.median(p50s) if p50s else None,
        "p99_us": max(p99s) if p99s else None,
    }


def _bare(count: int) -> dict[str, Any]:
    consumer = _Proc("bare-consumer", count)
    port = consumer.read()["port"]
    producer = _Proc("bare-producer", count, port)
    return _measure([consumer], producer, count)


def _zmq(mode: str, consumers: int, count: int) -> dict[str, Any]:
    from connector_core import ConnectorMode, ConnectorSpec
    from connector_zmq import ZMQConnector

    connector = ZMQConnector(ConnectorSpec("bench.out", "sink.in", ConnectorMode(mode)))
    procs = [_Proc("zmq-consumer", count, connector=connector) for _ in range(consumers)]
    for proc in procs:
        proc.read()  # connected: subscribed before the producer starts
    producer = _Proc("zmq-producer", count, connector=connector)
    return _measure(procs, producer, count)


def run(quick: bool) -> list[dict[str, object]]:
    """Measures the bare pair and the backend in this run; returns the table rows."""
    count = 20_000 if quick else 200_000
    bare = _bare(count)
    rows: list[dict[str, object]] = [
        {
            "backend": "pyzmq",
            "scenario": "bare pipeline",
            "baseline": "pyzmq asyncio PUSH/PULL, await send per item",
            "messages": count,
            "msgs_per_s": round(bare["msgs_per_s"]),
            "baseline_msgs_per_s": round(bare["msgs_per_s"]),
            "ratio": 1.0,
            "p50_us": bare["p50_us"],
            "p99_us": bare["p99_us"],
        }
    ]
    for scenario, mode, consumers in (
        ("pipeline 1x1", "pipeline", 1),
        ("pubsub 1x4", "pubsub", 4),
    ):
        measured = _zmq(mode, consumers, count)
        rows.append(
            {
                "backend": "zmq",
                "scenario": scenario,
                "baseline": "bare pipeline",
                "messages": count,
                "msgs_per_s": round(measured["msgs_per_s"]),
                "baseline_msgs_per_s": round(bare["msgs_per_s"]),
                "ratio": round(measured["msgs_per_s"] / bare["msgs_per_s"], 2),
                "p50_us": measured["p50_us"],
                "p99_us": measured["p99_us"],
            }
        )
    return rows


def _format(rows: list[dict[str, object]]) -> str:
    keys = ["backend", "scenario", "messages", "msgs_per_s", "baseline_msgs_per_s", "ratio"]
    keys += ["p50_us", "p99_us", "target"]
    table = [keys]
    for row in rows:
        target = _TARGETS.get(str(row["scenario"]))
        cells = [row.get(k) for k in keys[:-1]]
        text = [f"{c:.1f}" if isinstance(c, float) else str(c) for c in cells]
        table.append([*text, f">= {target}x" if target else ""])
    widths = [max(len(r[i]) for r in table) for i in range(len(keys))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in table)


def main(argv: list[str] | None = None) -> int:
    """Runs the benchmark and prints the table."""
    args = sys.argv[1:] if argv is None else argv
    if args and args[0] == "--worker":
        role, count, port = args[1], int(args[2]), int(args[3])
        if role.startswith("zmq-"):
            _zmq_worker(role, count)
        else:
            _worker(role, count, port)
        return 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer messages (~30 s)")
    quick = parser.parse_args(args).quick
    print(_format(run(quick)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
