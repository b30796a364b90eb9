"""The latency scenario of `connector bench` runs and gives a well-formed row (no timing is
asserted: this is a benchmark)."""

from __future__ import annotations

import pytest

from connector_core.benchmarking import ROW_KEYS, SCENARIOS_ENV
from connector_redis import bench

pytestmark = pytest.mark.redis


def test_the_latency_scenario_gives_one_p50_row_beside_the_bare_transport(
    monkeypatch: pytest.MonkeyPatch, redis_url: str
) -> None:
    monkeypatch.setenv(SCENARIOS_ENV, "latency")
    (row,) = bench.run(quick=True)
    assert tuple(row) == ROW_KEYS
    assert (row["backend"], row["scenario"], row["ratio_of"]) == ("redis", "latency 1x1", "p50")
    assert (row["messages"], row["baseline_messages"]) == (200, 200)
    for key in ("p50_us", "p99_us", "baseline_p50_us", "baseline_p99_us", "ratio"):
        assert isinstance(row[key], float), key
        assert row[key] > 0, key  # type: ignore[operator]
