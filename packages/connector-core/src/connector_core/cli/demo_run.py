"""The demo's collector: builds the two connectors, runs the crew, tallies the answers.

`run_demo()` is the whole job without any terminal output: the command in
`connector_core.cli.demo` draws the progress bar through the `DemoObserver` it passes. See
`connector_core.cli.demo_roles` for the topology and the messages.

The collector subscribes to `results` first (so it misses nothing), starts the workers,
starts the producer once every worker has said `READY`, and reads `results` until the stream
ends (every worker and the producer closed their senders). A failing member ends the run at
once with `DemoError`; so does the overall timeout. Whatever happens, every process or task
the run started is stopped and the collector's channel is closed before `run_demo()` returns.
"""

from __future__ import annotations

import asyncio
import pickle
import time
from dataclasses import dataclass
from typing import Protocol

from connector_core.channel import Channel
from connector_core.cli.demo_crew import Crew, DemoError, ProcessCrew, TaskCrew
from connector_core.cli.demo_roles import (
    FAILED,
    PRODUCED,
    READY,
    RESULT,
    release_resources,
)
from connector_core.cli.demo_stats import Tally, Verdict
from connector_core.connector import Connector
from connector_core.exceptions import ChannelSetupError
from connector_core.registry import get_backend
from connector_core.spec import ConnectorMode, ConnectorSpec

__all__ = ["DemoConfig", "DemoObserver", "build_connectors", "crosses_processes", "run_demo"]

JOBS_SPEC = ConnectorSpec("producer.jobs", "worker.jobs", mode=ConnectorMode.PIPELINE)
RESULTS_SPEC = ConnectorSpec("worker.results", "collector.results", mode=ConnectorMode.PUBSUB)


@dataclass(frozen=True)
class DemoConfig:
    """What to run."""

    backend: str
    workers: int
    messages: int
    timeout: float = 120.0
    """Seconds for the whole run before it fails."""


class DemoObserver(Protocol):
    """Told what happens during the run (the command draws it)."""

    def started(self, in_process: bool) -> None:
        """The collector is subscribed and the members are being started."""

    def producing(self) -> None:
        """Every worker is ready and the producer was started."""

    def progress(self, tally: Tally) -> None:
        """An answer arrived."""


def build_connectors(backend: str) -> tuple[Connector, Connector]:
    """Returns the demo's `(jobs, results)` connectors of backend `backend`.

    Raises:
        BackendNotFoundError: If no backend of that name is installed.
    """
    cls = get_backend(backend)
    return cls(JOBS_SPEC), cls(RESULTS_SPEC)


def crosses_processes(connector: Connector) -> bool:
    """True when `connector` can be pickled to another process (cross-process backend)."""
    try:
        pickle.dumps(connector)
    except (TypeError, pickle.PicklingError, AttributeError):
        return False
    return True


async def _collect(
    inbox: Channel,
    tally: Tally,
    crew: Crew,
    config: DemoConfig,
    connectors: tuple[Connector, Connector],
    observer: DemoObserver,
) -> None:
    ready = 0
    async for message in inbox:
        kind = message[0]
        if kind == RESULT:
            _, job_id, worker, value, sent_ns = message
            tally.record(job_id, worker, value, sent_ns, time.monotonic_ns())
            observer.progress(tally)
        elif kind == READY:
            ready += 1
            if ready == config.workers:
                crew.start_producer(config.messages, *connectors)
                observer.producing()
        elif kind == FAILED:
            _, role, error = message
            last = (str(error).strip().splitlines() or ["no traceback"])[-1]
            raise DemoError(f"the {role} failed: {last}\n{error}")
        elif kind != PRODUCED:
            raise DemoError(f"unexpected message on the results connector: {message!r}")


async def _connect_collector(results: Connector, backend: str) -> Channel:
    try:
        return await results.connect_recv()
    except ChannelSetupError as exc:
        raise DemoError(f"cannot connect the {backend} backend: {exc}") from exc


async def run_demo(config: DemoConfig, observer: DemoObserver) -> tuple[Verdict, bool]:
    """Runs the demo and returns its verdict and whether it ran in one process.

    Raises:
        BackendNotFoundError: If the backend is not installed.
        DemoError: If the transport cannot be reached, a member fails, or the run times out.
    """
    if config.workers < 1 or config.messages < 1:
        raise DemoError("--workers and --messages must be at least 1")
    connectors = build_connectors(config.backend)
    in_process = not crosses_processes(connectors[0])
    tally = Tally(config.messages)
    inbox: Channel | None = None
    crew: Crew | None = None
    try:
        inbox = await _connect_collector(connectors[1], config.backend)
        crew = TaskCrew() if in_process else ProcessCrew()
        observer.started(in_process)
        async with asyncio.timeout(config.timeout):
            for index in range(config.workers):
                crew.start_worker(index, *connectors)
            collect = asyncio.create_task(
                _collect(inbox, tally, crew, config, connectors, observer)
            )
            failure = asyncio.create_task(crew.failure())
            try:
                await asyncio.wait({collect, failure}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for task in (collect, failure):
                    task.cancel()
                outcomes = await asyncio.gather(collect, failure, return_exceptions=True)
            for outcome in outcomes:
                if isinstance(outcome, BaseException) and not isinstance(
                    outcome, asyncio.CancelledError
                ):
                    raise outcome
            await crew.finish(timeout=config.timeout)
    except TimeoutError:
        stuck = (
            "every answer arrived, but the results stream did not end (a sender's close "
            "did not reach the collector)"
            if tally.delivered == config.messages
            else f"{tally.delivered} of {config.messages} answers arrived"
        )
        raise DemoError(f"the demo did not finish within {config.timeout:g}s: {stuck}") from None
    finally:
        if crew is not None:
            await crew.abort()
        if inbox is not None:
            await inbox.close()
        await release_resources()
    return tally.verdict(), in_process
