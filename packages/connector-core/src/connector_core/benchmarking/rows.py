"""The row schema: one row per scenario, the backend beside its bare transport.

Every benchmark returns rows with the keys in `ROW_KEYS` (None where not measured), as JSON
can hold them; `connector bench --json` writes them as they are.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Sequence

from connector_core.benchmarking.measure import (
    RATIO_OF_P50,
    Comparison,
    Scenario,
    percentile_us,
)

__all__ = [
    "REQUIRED_KEYS",
    "ROW_KEYS",
    "SCENARIOS_ENV",
    "Row",
    "comparison_row",
    "note_row",
    "run_scenarios",
    "selected",
]

Row = dict[str, object]
"""One benchmark row (the keys of `ROW_KEYS`, and `note` on a row without numbers)."""

ROW_KEYS = (
    "backend",
    "scenario",
    "baseline",
    "messages",
    "baseline_messages",
    "msgs_per_s",
    "baseline_msgs_per_s",
    "ratio",
    "p50_us",
    "p99_us",
    "baseline_p50_us",
    "baseline_p99_us",
    "target",
    "ratio_of",
    "item_bytes",
)
"""The keys every benchmark row has (None where not measured; `ratio_of` None means
``msgs/s``, ours / bare throughput, and ``p50`` means bare p50 / our p50 latency)."""

REQUIRED_KEYS = (
    "backend",
    "scenario",
    "baseline",
    "messages",
    "msgs_per_s",
    "baseline_msgs_per_s",
    "ratio",
    "p50_us",
    "p99_us",
)
"""The keys a registered benchmark's rows must have; `connector bench` fills in the others."""


def comparison_row(backend: str, comparison: Comparison) -> Row:
    """Returns the row of one scenario of `backend`."""
    ours, bare = comparison.ours, comparison.bare
    p50, bare_p50 = percentile_us(ours.latencies_ns, 50), percentile_us(bare.latencies_ns, 50)
    if comparison.ratio_of == RATIO_OF_P50:
        if not p50 or not bare_p50:
            raise ValueError(f"{comparison.scenario}: a p50 ratio needs latency samples")
        ratio = round(bare_p50 / p50, 3)
    else:
        ratio = round(ours.rate / bare.rate, 3)
    return {
        "backend": backend,
        "scenario": comparison.scenario,
        "baseline": comparison.baseline,
        "messages": ours.messages,
        "baseline_messages": bare.messages,
        "msgs_per_s": round(ours.rate, 1),
        "baseline_msgs_per_s": round(bare.rate, 1),
        "ratio": ratio,
        "p50_us": p50,
        "p99_us": percentile_us(ours.latencies_ns, 99),
        "baseline_p50_us": bare_p50,
        "baseline_p99_us": percentile_us(bare.latencies_ns, 99),
        "target": comparison.target,
        "ratio_of": comparison.ratio_of,
        "item_bytes": comparison.item_bytes,
    }


def note_row(backend: str, note: str) -> Row:
    """Returns a row without numbers for `backend`, saying why in its `note`."""
    row: Row = dict.fromkeys(ROW_KEYS)
    row["backend"] = backend
    row["note"] = note
    return row


SCENARIOS_ENV = "CONNECTOR_BENCH_SCENARIOS"
"""Comma-separated scenario names (function names, such as ``latency``) to run; all if unset.
`connector bench --scenarios` sets it for the benchmark's child process."""


def selected(scenarios: Sequence[Scenario]) -> list[Scenario]:
    """Returns the `scenarios` whose function names `SCENARIOS_ENV` names (all if unset)."""
    wanted = {n.strip() for n in os.environ.get(SCENARIOS_ENV, "").split(",") if n.strip()}
    if not wanted:
        return list(scenarios)
    return [s for s in scenarios if getattr(s, "__name__", "") in wanted]


def run_scenarios(backend: str, scenarios: Sequence[Scenario], quick: bool) -> list[Row]:
    """Runs `scenarios` one after the other in one event loop; returns their rows.

    Only those `SCENARIOS_ENV` names run, when it is set (none of them: no rows).

    Args:
        backend: The backend's name, for the rows.
        scenarios: Functions ``scenario(quick) -> Comparison``, plain or async.
        quick: Passed to each scenario: a short run (seconds) instead of the full one.

    Returns:
        One row per scenario, in order.

    Raises:
        Exception: Whatever a scenario raises (`connector bench` reports it as failed).
    """

    async def run_all() -> list[Row]:
        rows = []
        for scenario in selected(scenarios):
            outcome = scenario(quick)
            comparison = outcome if isinstance(outcome, Comparison) else await outcome
            rows.append(comparison_row(backend, comparison))
        return rows

    return asyncio.run(run_all())
