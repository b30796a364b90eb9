"""`connector demo`: one producer, N competing workers and a collector, in separate processes.

The producer sends jobs on a pipeline connector; the workers compete for them and send each
answer on a pubsub connector to the collector (this process), which shows a live progress
bar and at the end checks that every job id arrived exactly once, with throughput and
end-to-end latency. See `connector_core.cli.demo_run` for how the run goes.

Default backend: the installed backend of lowest declared rank (`BackendTraits`, entry points
`connector.traits`) that crosses processes and needs no service; when none can be used, one
that needs no service and runs in this process (core's `asyncio`), with a note. A backend
whose connectors cannot cross processes runs the same topology with tasks in this process,
and says so. A missing broker or a failing member is a
message saying what to do, never a traceback.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from typing import Annotated

import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

from connector_core.cli.console import make_console
from connector_core.cli.demo_crew import DemoError
from connector_core.cli.demo_run import DemoConfig, run_demo
from connector_core.cli.demo_stats import Tally, Verdict
from connector_core.cli.probes import blocking_problem
from connector_core.exceptions import BackendNotFoundError
from connector_core.registry import (
    BackendTraits,
    available_backends,
    by_rank,
    declared_traits,
    get_backend,
)

__all__ = ["default_candidates", "demo"]

_REDRAW_S = 0.05  # the bar is updated at most this often: the collector stays fast

console = make_console()


class _ProgressObserver:
    """Draws the run: what is starting, then the progress bar of delivered jobs."""

    def __init__(self, bar: Progress, task: TaskID, config: DemoConfig) -> None:
        self._bar = bar
        self._task = task
        self._config = config
        self._next_update = 0.0
        self.created = time.monotonic()
        self.ready_after: float | None = None
        """Seconds from the start until every worker was ready (the producer started)."""

    def started(self, in_process: bool) -> None:
        where = "tasks" if in_process else "processes"
        self._bar.update(self._task, description=f"starting {self._config.workers} {where}")

    def producing(self) -> None:
        self.ready_after = time.monotonic() - self.created
        self._bar.update(self._task, description="jobs answered")

    def progress(self, tally: Tally) -> None:
        now = time.monotonic()
        if now >= self._next_update or tally.delivered == self._config.messages:
            self._next_update = now + _REDRAW_S
            self._bar.update(self._task, completed=tally.delivered)


def _loadable(name: str) -> str | None:
    """Returns why backend `name` cannot be used here, or None if it loads."""
    try:
        get_backend(name)
    except BackendNotFoundError as exc:
        return str(exc)
    except ImportError as exc:
        return (
            f"the {name} backend is registered but does not import ({exc}); "
            f"reinstall it: pip install --force-reinstall connector-{name}"
        )
    return None


def default_candidates(traits: Mapping[str, BackendTraits]) -> list[str]:
    """Returns the backends the demo may run when none is asked for, best first.

    Those that need no service: first the ones that cross processes, then the others, each
    by declared rank (then by name).

    Args:
        traits: The installed backends' declared traits, by name.
    """
    free = {name: declared for name, declared in traits.items() if declared.service is None}
    crossing = by_rank([name for name, declared in free.items() if declared.cross_process], free)
    return crossing + by_rank(set(free) - set(crossing), free)


def _needing_a_service(traits: Mapping[str, BackendTraits]) -> str:
    """The backends that need a service, with it, by rank: `x (needs a X broker), ...`."""
    return ", ".join(
        f"{name} (needs a {traits[name].service})"
        for name in by_rank(traits, traits)
        if traits[name].service is not None
    )


def _choose_backend(requested: str | None) -> str:
    """Returns the backend to run: the one asked for, or the best default installed.

    Raises:
        typer.Exit: With status 2 when the requested backend cannot be loaded, or no
            installed backend can run the demo without a service.
    """
    if requested is not None:
        why = _loadable(requested)
        if why is not None:
            console.print(f"[red]{why}[/red]")
            raise typer.Exit(2)
        return requested
    installed = available_backends()
    traits = {name: t for name, t in declared_traits().items() if name in installed}
    for name in default_candidates(traits):
        why = _loadable(name)
        if why is not None:
            console.print(f"[yellow]the {name} backend cannot be used ({why})[/yellow]")
            continue
        if not traits[name].cross_process:
            others = _needing_a_service(traits)
            hint = f", or pass --backend with one of {others}" if others else ""
            console.print(
                f"[yellow]no installed backend crosses processes without a service: running on "
                f"{name}, in one process; install one for the multi-process demo{hint}[/yellow]"
            )
        return name
    console.print(
        "[red]no installed backend can run the demo without a service: pass --backend "
        f"with one of {_needing_a_service(traits) or 'the installed backends'}[/red]"
    )
    raise typer.Exit(2)


def _check_service(backend: str) -> None:
    """Fails fast, saying what to do, when the backend cannot connect here.

    Raises:
        DemoError: If one of the checks the backend declares as required failed (a service
            that does not answer, invalid settings), with that check's advice.
    """
    problem = blocking_problem(backend)
    if problem is not None:
        raise DemoError(f"the {backend} backend cannot connect: {problem}")


def _describe(config: DemoConfig) -> str:
    return (
        f"connector demo: backend [bold]{config.backend}[/bold], 1 producer -> "
        f"{config.workers} competing workers (pipeline) -> collector (pubsub), "
        f"{config.messages:,} jobs"
    )


def _report(verdict: Verdict, in_process: bool, backend: str, ready_after: float | None) -> None:
    if in_process:
        console.print(
            f"note: the {backend} backend cannot cross processes, so the producer and the "
            "workers ran as asyncio tasks in this process"
        )
    else:
        console.print("the producer and each worker ran in a process of its own (spawn)")
    console.print(f"delivered {verdict.delivered:,} of {verdict.expected:,}")
    if verdict.exactly_once:
        console.print(
            f"[green]exactly-once verified[/green]: every job id 0..{verdict.expected - 1} "
            "answered once, with the right value (0 missing, 0 duplicates, 0 wrong)"
        )
    else:
        missing = ", ".join(map(str, verdict.missing))
        more = ", ..." if verdict.missing_count > len(verdict.missing) else ""
        console.print(
            f"[red]exactly-once FAILED[/red]: {verdict.missing_count} missing"
            f"{f' ({missing}{more})' if missing else ''}, {verdict.duplicates} duplicates, "
            f"{verdict.wrong} wrong"
        )
    if verdict.msgs_per_s is not None:
        took = verdict.delivered / verdict.msgs_per_s
        started = (
            "" if ready_after is None else f", once the workers were up after {ready_after:.1f}s"
        )
        console.print(
            f"throughput: {verdict.msgs_per_s:,.0f} jobs/s end to end "
            f"({verdict.delivered:,} jobs in {took:.2f}s{started})"
        )
    if verdict.p50_us is not None and verdict.p99_us is not None:
        console.print(
            "latency, producer send -> worker -> collector (includes time queued behind "
            "earlier jobs): "
            f"p50 {_ms(verdict.p50_us)}, p99 {_ms(verdict.p99_us)}"
        )
    split = ", ".join(f"worker {w}: {n:,}" for w, n in verdict.per_worker.items())
    console.print(f"work split: {split}")


def _ms(us: float) -> str:
    return f"{us / 1000:.2f} ms" if us >= 1000 else f"{us:.0f} us"


def demo(
    backend: Annotated[
        str | None,
        typer.Option(
            "--backend",
            "-b",
            help="Backend name (default: the installed backend of lowest declared rank that "
            "crosses processes and needs no service; else one that runs in this process).",
            show_default=False,
        ),
    ] = None,
    workers: Annotated[int, typer.Option("--workers", "-w", min=1, help="Worker processes.")] = 3,
    messages: Annotated[
        int, typer.Option("--messages", "-n", min=1, help="Jobs the producer sends.")
    ] = 50_000,
    timeout: Annotated[
        float, typer.Option(min=1, help="Seconds before the run is given up.")
    ] = 120.0,
) -> None:
    """Run a multi-process job and verify every message arrived exactly once."""
    config = DemoConfig(_choose_backend(backend), workers, messages, timeout)
    console.print(_describe(config))
    try:
        _check_service(config.backend)
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=False,
        ) as bar:
            task = bar.add_task("connecting", total=messages)
            observer = _ProgressObserver(bar, task, config)
            verdict, in_process = asyncio.run(run_demo(config, observer))
    except DemoError as exc:
        console.print(f"[red]demo failed:[/red] {exc}")
        raise typer.Exit(1) from None
    except KeyboardInterrupt:
        console.print("[yellow]interrupted: every process the demo started was stopped[/yellow]")
        raise typer.Exit(130) from None
    _report(verdict, in_process, config.backend, observer.ready_after)
    if not verdict.exactly_once:
        raise typer.Exit(1)
