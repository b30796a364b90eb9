"""The benchmark kit: what every backend's benchmark shares, written once.

A backend's benchmark (its `bench.py`, registered under its name in the
`connector.benchmarks` entry points) supplies scenarios only. A scenario is a function
``scenario(quick) -> Comparison``, plain or async, that measures the backend and the bare
transport underneath it in the same run. `run_scenarios()` runs them and builds the rows
(``connector bench --scenarios latency`` runs only the scenarios so named);
`connector bench` runs each backend's benchmark in a child process, prints the table
(`connector_core.benchmarking.table`) and draws the chart
(`connector_core.benchmarking.chart`, which needs matplotlib from the `cli` extra).

A ``latency`` scenario times one item at a time (`round_trips()`: ``send()`` then awaiting
``recv()``) through the backend and through the bare transport, and compares p50s
(``Comparison(..., ratio_of=RATIO_OF_P50)``: bare p50 / our p50). The kit writes the common
scenarios once (`connector_core.benchmarking.scenarios`: `latency_scenario()`, and
`broker_scenarios()` for a backend against a server; `machine_scenarios()` against the
machine's floor); a backend hands them how to make its connector and its bare transport's
measurements.

Example:
    ```python
    from connector_core.benchmarking import Comparison, Measurement, run_scenarios


    async def pipeline(quick: bool) -> Comparison:
        bare = Measurement(messages=1000, seconds=0.5)  # measure the bare transport here
        ours = Measurement(messages=1000, seconds=0.1)  # and the backend, in the same run
        return Comparison("pipeline", "bare transport", ours, bare, target=2.0)


    def run(quick: bool) -> list[dict[str, object]]:
        return run_scenarios("mybackend", [pipeline], quick)
    ```
"""

from __future__ import annotations

from connector_core.benchmarking.connectors import (
    MakeConnector,
    connector_round_trips,
    connector_throughput,
    new_connector,
)
from connector_core.benchmarking.machine import machine_scenarios
from connector_core.benchmarking.measure import (
    RATIO_OF_MSGS,
    RATIO_OF_P50,
    Comparison,
    Measurement,
    Scenario,
    best_of,
    expect_count,
    percentile_us,
    round_trips,
)
from connector_core.benchmarking.rows import (
    REQUIRED_KEYS,
    ROW_KEYS,
    SCENARIOS_ENV,
    Row,
    comparison_row,
    note_row,
    run_scenarios,
    selected,
)
from connector_core.benchmarking.scenarios import (
    FULL_SIZES,
    QUICK_SIZES,
    ROUND_TRIPS,
    SUBSCRIBERS,
    BareBroker,
    BareRoundTrips,
    BareThroughput,
    OpenedOnce,
    Sizes,
    broker_scenarios,
    large_scenario,
    latency_scenario,
    pair_item,
    stamped_item,
)

__all__ = [
    "FULL_SIZES",
    "QUICK_SIZES",
    "RATIO_OF_MSGS",
    "RATIO_OF_P50",
    "REQUIRED_KEYS",
    "ROUND_TRIPS",
    "ROW_KEYS",
    "SCENARIOS_ENV",
    "SUBSCRIBERS",
    "BareBroker",
    "BareRoundTrips",
    "BareThroughput",
    "Comparison",
    "MakeConnector",
    "Measurement",
    "OpenedOnce",
    "Row",
    "Scenario",
    "Sizes",
    "best_of",
    "broker_scenarios",
    "comparison_row",
    "connector_round_trips",
    "connector_throughput",
    "expect_count",
    "large_scenario",
    "latency_scenario",
    "machine_scenarios",
    "new_connector",
    "note_row",
    "pair_item",
    "percentile_us",
    "round_trips",
    "run_scenarios",
    "selected",
    "stamped_item",
]
