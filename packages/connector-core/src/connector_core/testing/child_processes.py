"""Child interpreters that a backend's fault and cleanup tests start, read and kill.

`connector_child(program, connector)` starts `python -c program`, hands it the connector
pickled on stdin and waits until it prints `ready`; the `ConnectorChild` it yields reads what
the child prints next and SIGKILLs it (the crash the test is about). `stalling_receiver()` is
such a child that takes a few items and then holds what it has until it is killed.

`scenario_result(script)` runs a scenario script in a fresh process and returns the JSON
object of the `RESULT ` line the script prints (for scenarios that must not share the test
run's own state, such as its Ray session).
"""

from __future__ import annotations

import asyncio
import json
import os
import pickle
import subprocess
import sys
from collections.abc import AsyncIterator, Iterable, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from connector_core.connector import Connector
from connector_core.testing.harness import PROCESS_TIMEOUT
from connector_core.testing.programs import run_program

__all__ = ["ConnectorChild", "connector_child", "scenario_result", "stalling_receiver"]

# The program of `stalling_receiver()`.
_STALLING_RECEIVER = """
import asyncio, pickle, sys
connector = pickle.load(sys.stdin.buffer)
stop_after = int(sys.argv[1])
async def main():
    channel = await connector.connect_recv()
    print("ready", flush=True)
    for _ in range(stop_after):
        print(await channel.recv(), flush=True)
    await asyncio.Event().wait()
asyncio.run(main())
"""


class ConnectorChild:
    """A running child started by `connector_child()`: read its lines, kill it."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        """Wraps a started child.

        Args:
            process: The child, started with its stdout piped.
        """
        self.process = process
        """The child process (its stdout is a pipe, its stdin closed)."""

    async def read_lines(self, count: int) -> list[str]:
        """Returns the next `count` lines the child prints, stripped.

        Args:
            count: How many lines to read, all within `PROCESS_TIMEOUT`.
        """
        stdout = self.process.stdout
        assert stdout is not None
        async with asyncio.timeout(PROCESS_TIMEOUT):
            return [(await stdout.readline()).decode().strip() for _ in range(count)]

    async def kill(self) -> None:
        """SIGKILLs the child and waits until it is gone: a crash, nothing cleaned up."""
        self.process.kill()
        await self.process.wait()


@asynccontextmanager
async def connector_child(
    program: str, connector: Connector, *args: str, env: Mapping[str, str] | None = None
) -> AsyncIterator[ConnectorChild]:
    """Starts `python -c program *args` with `connector` pickled on its stdin.

    The program reads the connector with `pickle.load(sys.stdin.buffer)` and prints `ready`
    once it is set up; the context is entered then. A child still running when the context
    exits is killed.

    Args:
        program: The child's source code.
        connector: The connector the child unpickles.
        *args: The child's `sys.argv[1:]`.
        env: Optional; the child's environment, this process's by default.
    """
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        program,
        *args,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        env=None if env is None else dict(env),
    )
    try:
        assert process.stdin is not None
        assert process.stdout is not None
        process.stdin.write(pickle.dumps(connector))
        await process.stdin.drain()
        process.stdin.close()
        async with asyncio.timeout(PROCESS_TIMEOUT):
            assert (await process.stdout.readline()).strip() == b"ready"
        yield ConnectorChild(process)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


def stalling_receiver(
    connector: Connector, stop_after: int, env: Mapping[str, str] | None = None
) -> AbstractAsyncContextManager[ConnectorChild]:
    """A `connector_child()` receiver that takes `stop_after` items, then stalls.

    It connects a receiver, prints `ready`, then one line per item (the item's `str`), and
    after `stop_after` items stops taking any, holding what its transport gave it (prefetched,
    read and not acknowledged) until it is killed.

    Args:
        connector: The connector the child receives from.
        stop_after: How many items it takes (and prints) before it stalls.
        env: Optional; the child's environment, this process's by default.
    """
    return connector_child(_STALLING_RECEIVER, connector, str(stop_after), env=env)


def scenario_result(script: Path, *, timeout: float, unset: Iterable[str] = ()) -> dict[str, Any]:
    """Runs `python script` in a fresh process; returns the JSON of its `RESULT ` line.

    The test fails, with the end of what the script printed, when the script prints no
    `RESULT {json}` line or is still running after `timeout` seconds.

    Args:
        script: The scenario script.
        timeout: Seconds the script may take.
        unset: Environment variables the script must not inherit (e.g. `RAY_ADDRESS`).
    """
    dropped = set(unset)
    env = {name: value for name, value in os.environ.items() if name not in dropped}
    done = run_program([sys.executable, str(script)], timeout=timeout, what=script.name, env=env)
    for line in done.stdout.splitlines():
        if line.startswith("RESULT "):
            result: dict[str, Any] = json.loads(line.removeprefix("RESULT "))
            return result
    pytest.fail(
        f"{script.name} printed no RESULT line (exit {done.returncode}):\n"
        f"--- stdout ---\n{done.stdout[-3000:]}\n--- stderr ---\n{done.stderr[-4000:]}"
    )
