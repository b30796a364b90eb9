"""The demo's roles: the producer and the workers, as coroutines and as process entry points.

Topology of `connector demo` (see `connector_core.cli.demo`)::

    producer --jobs (pipeline)--> worker 0..N-1 --results (pubsub)--> collector (the parent)

The collector subscribes to `results` before anything starts. Each worker connects a
receiver on `jobs` and a sender on `results`, then sends `READY`: the collector starts the
producer only when every worker is ready, so the jobs are shared by all of them. The producer
sends `(job_id, sent_ns)` for ids `0..N-1` and closes; each worker answers every job with a
`RESULT` and, when `jobs` ends for it (every job delivered, the producer closed), closes its
results sender. The results stream ends for the collector when every worker and the producer
have closed theirs. A role that fails sends `FAILED` with its traceback before closing.

Times are `time.monotonic_ns()`, one clock for every process of the host (Linux
`CLOCK_MONOTONIC`), so latencies can be taken across processes.

The `*_process` functions are what `multiprocessing` (spawn) runs in a fresh interpreter:
they take the pickled connectors, run the coroutine in a new event loop and release the
transport's shared resources (the DI container's) before the process exits.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import time
import traceback
from collections.abc import Awaitable, Callable

from connector_core.channel import Channel
from connector_core.connector import Connector
from connector_core.di import container

__all__ = [
    "FAILED",
    "PRODUCED",
    "READY",
    "RESULT",
    "job_value",
    "producer",
    "producer_process",
    "worker",
    "worker_process",
]

PRODUCER = "producer"
"""The `role` name the producer reports failures under."""


READY = "ready"
"""`(READY, worker)`: a worker's first message on `results`; it is connected to both."""
RESULT = "result"
"""`(RESULT, job_id, worker, value, sent_ns)`: a worker's answer to one job."""
PRODUCED = "produced"
"""`(PRODUCED, count, first_ns, last_ns)`: the producer's last message on `results`."""
FAILED = "failed"
"""`(FAILED, role, traceback)`: a role's report that it failed."""

# Messages are plain tuples tagged by their first item (jobs are `(job_id, sent_ns)`), so that
# the demo works with every serializer, the JSON one included (it turns tuples into lists).


def job_value(job_id: int) -> int:
    """The work a worker does for job `job_id` (the collector checks every answer)."""
    return job_id * job_id + 1


async def _close_all(*channels: Channel) -> None:
    for channel in channels:
        await channel.close()


async def _report_failure(results: Channel | None, role: str) -> None:
    if results is None or results.is_closed:
        return
    # If even this fails, the process's exit status still reports the failure.
    with contextlib.suppress(Exception):
        await results.send((FAILED, role, traceback.format_exc()))


async def worker(index: int, jobs: Connector, results: Connector) -> int:
    """Runs worker `index`: answers jobs until `jobs` ends, then closes its results sender.

    Args:
        index: The worker's number, carried in its messages.
        jobs: The pipeline connector the jobs arrive on (this worker competes for them).
        results: The pubsub connector the answers go out on.

    Returns:
        How many jobs this worker answered.

    Raises:
        ChannelError: If a channel fails (reported to the collector as `FAILED` first).
    """
    out: Channel | None = None
    try:
        out = await results.connect_send()
        inbox = await jobs.connect_recv()
        await out.send((READY, index))
        done = 0
        async for job_id, sent_ns in inbox:
            await out.send((RESULT, job_id, index, job_value(job_id), sent_ns))
            done += 1
        await _close_all(inbox, out)
        return done
    except BaseException:
        await _report_failure(out, f"worker {index}")
        raise
    finally:
        if out is not None:
            await out.close()


async def producer(count: int, jobs: Connector, results: Connector) -> int:
    """Sends jobs `0..count-1` on `jobs`, closes, and reports `PRODUCED` on `results`.

    Args:
        count: How many jobs to send.
        jobs: The pipeline connector to send the jobs on.
        results: The pubsub connector for the `PRODUCED` report (or `FAILED`).

    Returns:
        `count`.

    Raises:
        ChannelError: If a channel fails (reported to the collector as `FAILED` first).
    """
    report: Channel | None = None
    try:
        report = await results.connect_send()
        outbox = await jobs.connect_send()
        first_ns = time.monotonic_ns()
        for job_id in range(count):
            await outbox.send((job_id, time.monotonic_ns()))
        await outbox.close()
        await report.send((PRODUCED, count, first_ns, time.monotonic_ns()))
        await report.close()
        return count
    except BaseException:
        await _report_failure(report, PRODUCER)
        raise
    finally:
        if report is not None:
            await report.close()


async def release_resources() -> None:
    """Releases the transport resources this process's DI container built (sockets, links)."""
    outcome = container.shutdown_resources()
    if inspect.isawaitable(outcome):
        await outcome


def _run_in_process(body: Callable[[], Awaitable[int]]) -> None:
    async def main() -> None:
        try:
            await body()
        finally:
            await release_resources()

    asyncio.run(main())


def worker_process(index: int, jobs: Connector, results: Connector) -> None:
    """A worker process's entry point (spawned; the connectors arrive pickled).

    Raises:
        ChannelError: If a channel fails; the process then exits with status 1.
    """
    _run_in_process(lambda: worker(index, jobs, results))


def producer_process(count: int, jobs: Connector, results: Connector) -> None:
    """The producer process's entry point (spawned; the connectors arrive pickled).

    Raises:
        ChannelError: If a channel fails; the process then exits with status 1.
    """
    _run_in_process(lambda: producer(count, jobs, results))
