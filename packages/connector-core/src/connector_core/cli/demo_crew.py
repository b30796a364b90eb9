"""Who runs the demo's producer and workers: spawned processes, or tasks in this process.

`ProcessCrew` starts each role in its own process with the `spawn` start method, passing the
pickled connectors: the children join the parent's connections through what the connectors
carry. It watches each child's sentinel (a file descriptor that becomes readable when the
process ends) with the event loop, so a child that dies is noticed at once, without polling.

Ctrl-C reaches only the parent: children start with SIGINT ignored, and the parent's
`abort()` stops them.

`TaskCrew` runs the same coroutines as tasks of this event loop, for a backend whose
connectors cannot cross a process boundary (the in-process `asyncio` backend).

Either way `failure()` completes with `DemoError` as soon as a member fails, and `abort()`
stops every member that is still running (terminate, then kill, for processes).
"""

from __future__ import annotations

import asyncio
import multiprocessing
import signal
from abc import ABC, abstractmethod
from collections.abc import Callable
from multiprocessing.context import SpawnProcess

from connector_core.cli.demo_roles import producer, producer_process, worker, worker_process
from connector_core.connector import Connector

__all__ = ["Crew", "DemoError", "ProcessCrew", "TaskCrew"]

_STOP_GRACE = 3.0  # seconds a terminated child gets before it is killed


class DemoError(Exception):
    """The demo could not run or did not verify; the message says why and what to do."""


class Crew(ABC):
    """Runs the producer and the workers, and reports when one of them fails."""

    def __init__(self) -> None:
        self._failed: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    @abstractmethod
    def start_worker(self, index: int, jobs: Connector, results: Connector) -> None:
        """Starts worker `index`.

        Raises:
            DemoError: If it cannot be started (for example, a connector cannot be pickled).
        """

    @abstractmethod
    def start_producer(self, count: int, jobs: Connector, results: Connector) -> None:
        """Starts the producer of `count` jobs.

        Raises:
            DemoError: If it cannot be started.
        """

    @abstractmethod
    async def finish(self, timeout: float) -> None:
        """Waits until every member has ended.

        Raises:
            DemoError: If a member failed or is still running after `timeout` seconds.
        """

    @abstractmethod
    async def abort(self) -> None:
        """Stops every member that is still running."""

    async def failure(self) -> None:
        """Completes only when a member has failed.

        Raises:
            DemoError: Saying which member failed and how.
        """
        await asyncio.shield(self._failed)

    def _fail(self, message: str) -> None:
        if not self._failed.done():
            self._failed.set_exception(DemoError(message))
            self._failed.exception()  # retrieved here: a run that ends otherwise is not "unawaited"


class ProcessCrew(Crew):
    """Runs each member in a process of its own (spawn start method)."""

    def __init__(self) -> None:
        super().__init__()
        self._context = multiprocessing.get_context("spawn")
        self._loop = asyncio.get_running_loop()
        self._processes: list[SpawnProcess] = []

    def _start(self, name: str, target: Callable[..., None], args: tuple[object, ...]) -> None:
        process = self._context.Process(target=target, args=args, name=name, daemon=True)
        # The child starts with SIGINT ignored (a disposition exec keeps), so Ctrl-C reaches
        # only this process, which then stops the children: no traceback from each of them.
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
        try:
            process.start()
        except Exception as exc:
            raise DemoError(
                f"cannot start the {name} process: {type(exc).__name__}: {exc}"
            ) from exc
        finally:
            signal.signal(signal.SIGINT, previous)
        self._processes.append(process)
        self._loop.add_reader(process.sentinel, self._ended, process)

    def _ended(self, process: SpawnProcess) -> None:
        self._loop.remove_reader(process.sentinel)
        process.join(0)
        if process.exitcode not in (0, None):
            self._fail(f"the {process.name} process exited with status {process.exitcode}")

    def start_worker(self, index: int, jobs: Connector, results: Connector) -> None:
        """Starts worker `index` in a new process.

        Raises:
            DemoError: If the process cannot be started.
        """
        self._start(f"worker {index}", worker_process, (index, jobs, results))

    def start_producer(self, count: int, jobs: Connector, results: Connector) -> None:
        """Starts the producer in a new process.

        Raises:
            DemoError: If the process cannot be started.
        """
        self._start("producer", producer_process, (count, jobs, results))

    async def finish(self, timeout: float) -> None:
        """Waits until every process has exited.

        Raises:
            DemoError: If one exited with a failure or is still running after `timeout` s.
        """
        deadline = self._loop.time() + timeout
        for process in self._processes:
            remaining = max(0.0, deadline - self._loop.time())
            await asyncio.to_thread(process.join, remaining)
            if process.exitcode is None:
                raise DemoError(f"the {process.name} process is still running after {timeout}s")
            if process.exitcode != 0:
                raise DemoError(f"the {process.name} process exited with status {process.exitcode}")

    async def abort(self) -> None:
        """Terminates, then kills, every process that is still running."""
        alive = [p for p in self._processes if p.is_alive()]
        for process in alive:
            process.terminate()
        for process in alive:
            await asyncio.to_thread(process.join, _STOP_GRACE)
            if process.is_alive():
                process.kill()
                await asyncio.to_thread(process.join, _STOP_GRACE)
        for process in self._processes:
            self._loop.remove_reader(process.sentinel)


class TaskCrew(Crew):
    """Runs each member as a task of this event loop."""

    def __init__(self) -> None:
        super().__init__()
        self._tasks: list[asyncio.Task[int]] = []

    def _watch(self, name: str, task: asyncio.Task[int]) -> None:
        def done(task: asyncio.Task[int]) -> None:
            if not task.cancelled() and task.exception() is not None:
                exc = task.exception()
                self._fail(f"the {name} task failed: {type(exc).__name__}: {exc}")

        task.add_done_callback(done)
        self._tasks.append(task)

    def start_worker(self, index: int, jobs: Connector, results: Connector) -> None:
        """Starts worker `index` as a task."""
        self._watch(f"worker {index}", asyncio.create_task(worker(index, jobs, results)))

    def start_producer(self, count: int, jobs: Connector, results: Connector) -> None:
        """Starts the producer as a task."""
        self._watch("producer", asyncio.create_task(producer(count, jobs, results)))

    async def finish(self, timeout: float) -> None:
        """Waits until every task has ended.

        Raises:
            DemoError: If a task failed or is still running after `timeout` s.
        """
        if not self._tasks:
            return
        done, pending = await asyncio.wait(self._tasks, timeout=timeout)
        if pending:
            raise DemoError(f"{len(pending)} demo task(s) still running after {timeout}s")
        for task in done:
            if task.exception() is not None:
                raise DemoError(f"a demo task failed: {task.exception()!r}")

    async def abort(self) -> None:
        """Cancels every task that is still running and waits for them."""
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
