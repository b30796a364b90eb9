"""`LatencyScenarioContract`: the latency scenario of a backend's `connector bench`.

A backend whose benchmark (`<backend>.bench.run`) has a `latency` scenario subclasses it in
its `tests/test_bench_latency.py`::

    from connector_core.testing import LatencyScenarioContract

    class TestMyLatencyScenario(LatencyScenarioContract):
        backend = "mine"
        bench_module = "my_backend.bench"

The test runs the quick scenario and checks the row's form, never its timings (this is a
benchmark, not a performance test).
"""

from __future__ import annotations

import importlib
from typing import ClassVar

import pytest

from connector_core.benchmarking import ROUND_TRIPS, ROW_KEYS, SCENARIOS_ENV
from connector_core.benchmarking.scenarios import LATENCY_ROUNDS

__all__ = ["LatencyScenarioContract"]


class LatencyScenarioContract:
    """One well-formed p50 row beside the bare transport: subclass per backend."""

    backend: ClassVar[str]
    """The backend's name, as its rows give it."""
    bench_module: ClassVar[str]
    """The backend's benchmark module (e.g. `"connector_x.bench"`); its `run(quick)` runs it."""
    scenario: ClassVar[str] = "latency"
    """The scenario's name (another one made by `latency_scenario(name=...)`, say)."""
    label: ClassVar[str] = "latency 1x1"
    """What its row gives as the scenario."""

    def test_the_latency_scenario_gives_one_p50_row_beside_the_bare_transport(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """The quick latency run gives one row of positive p50/p99 times for both sides.

        Args:
            monkeypatch: pytest's monkeypatch, to select the scenario.
        """
        monkeypatch.setenv(SCENARIOS_ENV, self.scenario)
        (row,) = importlib.import_module(self.bench_module).run(quick=True)
        assert tuple(row) == ROW_KEYS
        assert (row["backend"], row["scenario"], row["ratio_of"]) == (
            self.backend,
            self.label,
            "p50",
        )
        count = -(-ROUND_TRIPS[0] // LATENCY_ROUNDS) * LATENCY_ROUNDS  # each round's share
        assert (row["messages"], row["baseline_messages"]) == (count, count)
        for key in ("p50_us", "p99_us", "baseline_p50_us", "baseline_p99_us", "ratio"):
            assert isinstance(row[key], float), key
            assert row[key] > 0, key
