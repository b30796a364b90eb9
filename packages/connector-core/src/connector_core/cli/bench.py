"""`connector bench`: every installed backend against the bare transport underneath it.

Runs the benchmarks registered in the `connector.benchmarks` entry points (see
`connector_core.cli.benchmarks`), each in a child process, and prints one rich table
(`connector_core.benchmarking.table`): each scenario beside its bare transport measured in
the same run, with the ratio. `--json` writes every row
for machines; `--plot` a PNG chart (log scale) for people. A backend that cannot run says why
in its row. Exit status: 0, or 1 when a benchmark failed (not merely unavailable).
"""

from __future__ import annotations

import json
import os
import platform
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from connector_core.benchmarking.rows import Row
from connector_core.benchmarking.table import COLUMNS, FOOTNOTE, cells, meets_target
from connector_core.cli import INSTALL_HINT
from connector_core.cli.benchmarks import BenchOutcome, plan, run_benchmark
from connector_core.cli.console import make_console

__all__ = ["bench", "machine_summary"]

console = make_console()


def machine_summary() -> str:
    """Returns where the numbers were measured: CPUs, OS and Python."""
    return (
        f"{os.cpu_count()} CPUs, {platform.system()} {platform.machine()}, "
        f"Python {platform.python_version()}"
    )


def _table(rows: list[Row], title: str) -> Table:
    table = Table(title=title, title_justify="left")
    for header, justify in COLUMNS:
        table.add_column(header, justify=justify)  # type: ignore[arg-type]
    for row in rows:
        text = [escape(cell) for cell in cells(row)]
        if row.get("msgs_per_s") is None and row.get("note") is not None:
            text[1] = f"[yellow]{text[1]}[/yellow]"
        meets = meets_target(row)
        if meets is not None:
            style = "green" if meets else "red"
            text[5] = f"[{style}]{text[5]}[/{style}]"
        table.add_row(*text)
    return table


def _run_all(
    names: list[str], quick: bool, timeout: float, scenarios: list[str]
) -> list[BenchOutcome]:
    outcomes = []
    for name in names:
        with console.status(f"running the {name} benchmark{' (quick)' if quick else ''} ..."):
            outcome = run_benchmark(name, quick=quick, timeout=timeout, scenarios=scenarios)
        mark = {"ok": "[green]done[/green]", "unavailable": "[yellow]skipped[/yellow]"}.get(
            outcome.status, "[red]failed[/red]"
        )
        took = f" in {outcome.seconds:.1f}s" if outcome.seconds else ""
        console.print(f"{name}: {mark}{took}")
        outcomes.append(outcome)
    return outcomes


def bench(
    backends: Annotated[
        list[str] | None,
        typer.Option(
            "--backends",
            "-b",
            help="Backends to run (repeat the option, or separate with commas); "
            "default: every installed one.",
            show_default=False,
        ),
    ] = None,
    quick: Annotated[bool, typer.Option(help="Short runs (seconds per backend).")] = False,
    scenarios: Annotated[
        list[str] | None,
        typer.Option(
            "--scenarios",
            "-s",
            help="Run only these scenarios (such as latency, pipeline, pubsub; repeat the "
            "option, or separate with commas); default: every one.",
            show_default=False,
        ),
    ] = None,
    json_file: Annotated[
        Path | None, typer.Option("--json", help="Also write every row to this JSON file.")
    ] = None,
    plot: Annotated[
        Path | None, typer.Option(help="Also draw the throughput chart (PNG, log scale).")
    ] = None,
    timeout: Annotated[
        float | None,
        typer.Option(
            help="Seconds per backend before it counts as failed (default: 300, "
            "or 1200 without --quick).",
            show_default=False,
            min=1,
        ),
    ] = None,
) -> None:
    """Benchmark every installed backend against the bare transport underneath it."""
    requested = [n.strip() for item in backends or [] for n in item.split(",") if n.strip()]
    names = plan(requested or None)
    only = [n.strip() for item in scenarios or [] for n in item.split(",") if n.strip()]
    started = datetime.now(UTC)
    outcomes = _run_all(names, quick, timeout or (300.0 if quick else 1200.0), only)
    rows = [row for outcome in outcomes for row in outcome.rows]
    when = started.strftime("%Y-%m-%d %H:%M UTC")
    title = f"connector bench{' --quick' if quick else ''}, {when}, {machine_summary()}"
    console.print()
    console.print(_table(rows, title))
    console.print(FOOTNOTE)
    for row in rows:  # in full too: a narrow terminal wraps them in the table
        if row.get("msgs_per_s") is None and row.get("note") is not None:
            console.print(f"{row['backend']} cannot run: {row['note']}", soft_wrap=True)
    if json_file is not None:
        payload = {
            "created": started.isoformat(timespec="seconds"),
            "quick": quick,
            "machine": machine_summary(),
            "python": sys.version.split()[0],
            "backends": {o.backend: {"status": o.status, "seconds": o.seconds} for o in outcomes},
            "rows": rows,
        }
        json_file.parent.mkdir(parents=True, exist_ok=True)
        json_file.write_text(json.dumps(payload, indent=2) + "\n")
        console.print(f"wrote {len(rows)} rows to {json_file}")
    if plot is not None:
        _plot(rows, plot, title)
    failed = [outcome.backend for outcome in outcomes if outcome.status == "failed"]
    if failed:
        console.print(f"[red]failed: {', '.join(failed)}[/red]")
        raise typer.Exit(1)


def _plot(rows: list[Row], path: Path, title: str) -> None:
    try:
        from connector_core.benchmarking.chart import plot_rows

        drawn = plot_rows(rows, path, title)
    except ModuleNotFoundError:
        console.print(f"[red]cannot draw the chart: {INSTALL_HINT}[/red]")
        raise typer.Exit(1) from None
    except ValueError as exc:
        console.print(f"[yellow]no chart: {exc}[/yellow]")
        return
    console.print(f"drew {drawn} rows into {path}")
