"""Finding and running the benchmarks: the `connector.benchmarks` entry points.

Every backend distribution registers a function `run(quick: bool) -> list[dict]` under its
backend's name in the entry-point group `connector.benchmarks` (core registers `asyncio`);
it builds its rows from scenarios with `connector_core.benchmarking.run_scenarios`. Each
row has the keys in `connector_core.benchmarking.ROW_KEYS` (a benchmark built otherwise must
give at least `REQUIRED_KEYS`; the others are filled with None): the backend next to the
bare transport underneath it, measured in the same run, and their ratio.

`plan()` decides what to run: every registered benchmark and every installed backend (a
backend without a benchmark gets a row saying so), by the rank each backend declares in its
`BackendTraits` (then by name), or the names asked for. `run_benchmark()` runs one benchmark
in a child process of its own (`python -m connector_core.cli.bench_child`), so that one
backend's event loop, threads or Ray runtime cannot disturb the next, and turns whatever
happens into rows: the benchmark's own, or one row saying why there are none. The child runs
in a session of its own: a benchmark that outlives its timeout is killed with every process
it started.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path

from connector_core.benchmarking.rows import (
    REQUIRED_KEYS,
    ROW_KEYS,
    SCENARIOS_ENV,
    Row,
    note_row,
)
from connector_core.registry import available_backends, by_rank, declared_traits

__all__ = ["BENCHMARK_GROUP", "BenchOutcome", "available_benchmarks", "plan", "run_benchmark"]

BENCHMARK_GROUP = "connector.benchmarks"
"""The entry-point group benchmarks register under (backend name -> `run(quick)`)."""


def available_benchmarks() -> dict[str, EntryPoint]:
    """Returns the registered benchmarks' entry points by backend name."""
    return {ep.name: ep for ep in entry_points(group=BENCHMARK_GROUP)}


def plan(requested: list[str] | None) -> list[str]:
    """Returns the backend names to benchmark, in table order.

    Args:
        requested: The names asked for (run in that order), or None for every registered
            benchmark and every installed backend, by declared rank (`BackendTraits.rank`),
            then by name; names that declare no rank come last.
    """
    if requested:
        return list(dict.fromkeys(requested))
    return by_rank([*available_benchmarks(), *available_backends()], declared_traits())


@dataclass(frozen=True)
class BenchOutcome:
    """What one backend's benchmark gave."""

    backend: str
    status: str
    """`ok`, `unavailable` (not installed, no benchmark, no service) or `failed`."""
    rows: list[Row]
    """The benchmark's rows, or one row whose `note` says why there are none."""
    seconds: float


def _unavailable_without_running(backend: str) -> str | None:
    if backend in available_benchmarks():
        return None
    if backend in available_backends():
        return f"no benchmark registered for it in the {BENCHMARK_GROUP} entry points"
    return f"not installed: pip install connector-{backend}"


def _run_child(
    command: list[str], timeout: float, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Runs `command` in a session of its own; on timeout kills the whole session.

    A benchmark starts processes of its own (workers, brokers' clients, Ray); killing only
    the child would leave them running.

    Raises:
        subprocess.TimeoutExpired: After killing every process of the session.
    """
    with subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        start_new_session=True,
    ) as proc:
        try:
            stdout, stderr = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
            raise
        finally:
            if proc.poll() is None:  # interrupted (Ctrl-C): do not leave the session behind
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
    return subprocess.CompletedProcess(command, proc.returncode, stdout, stderr)


def run_benchmark(
    backend: str, quick: bool, timeout: float, scenarios: list[str] | None = None
) -> BenchOutcome:
    """Runs `backend`'s benchmark in a child process and returns its rows.

    Args:
        backend: The name the benchmark is registered under.
        quick: Passed to the benchmark's `run()`.
        timeout: Seconds before the child is killed and the benchmark counts as failed.
        scenarios: Run only the scenarios so named (such as ``latency``; through
            `SCENARIOS_ENV`, which `run_scenarios` reads), or every one.

    Returns:
        The outcome; a benchmark that cannot run or fails gives one row saying why (this
        function does not raise for it).
    """
    why = _unavailable_without_running(backend)
    if why is not None:
        return BenchOutcome(backend, "unavailable", [note_row(backend, why)], 0.0)
    with tempfile.TemporaryDirectory(prefix="connector-bench-") as tmp:
        out = Path(tmp) / "result.json"
        command = [
            sys.executable,
            "-m",
            "connector_core.cli.bench_child",
            backend,
            "1" if quick else "0",
            str(out),
        ]
        env = None
        if scenarios:
            env = {**os.environ, SCENARIOS_ENV: ",".join(scenarios)}
        try:
            proc = _run_child(command, timeout, env)
        except subprocess.TimeoutExpired:
            note = f"timed out after {timeout:g}s"
            return BenchOutcome(backend, "failed", [note_row(backend, note)], timeout)
        if not out.exists():
            tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
            note = f"benchmark process exited with status {proc.returncode}: {tail}"
            return BenchOutcome(backend, "failed", [note_row(backend, note)], 0.0)
        result = json.loads(out.read_text())
    status, seconds = str(result["status"]), float(result.get("seconds", 0.0))
    if status != "ok":
        return BenchOutcome(backend, status, [note_row(backend, str(result["reason"]))], seconds)
    rows: list[Row] = result["rows"]
    problems = [
        f"row {i} lacks {sorted(set(REQUIRED_KEYS) - set(row))}"
        for i, row in enumerate(rows)
        if not set(REQUIRED_KEYS) <= set(row)
    ]
    if not rows and scenarios:
        note = f"no scenario named {', '.join(scenarios)}"
        return BenchOutcome(backend, "unavailable", [note_row(backend, note)], seconds)
    if not rows or problems:
        note = "bad result: " + ("; ".join(problems) or "run() returned no rows")
        return BenchOutcome(backend, "failed", [note_row(backend, note)], seconds)
    filled = [{**dict.fromkeys(ROW_KEYS), **row} for row in rows]
    return BenchOutcome(backend, "ok", filled, seconds)
