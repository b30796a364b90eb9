"""The latency and two-process batch scenarios of `connector bench` run and give well-formed
rows (no timing is asserted: this is a benchmark)."""

from __future__ import annotations

import pytest

from connector_core.benchmarking import ROW_KEYS, SCENARIOS_ENV
from connector_zmq import bench


def test_the_latency_scenario_gives_one_p50_row_beside_the_bare_transport(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(SCENARIOS_ENV, "latency")
    (row,) = bench.run(quick=True)
    assert tuple(row) == ROW_KEYS
    assert (row["backend"], row["scenario"], row["ratio_of"]) == ("zmq", "latency 1x1", "p50")
    assert (row["messages"], row["baseline_messages"]) == (200, 200)
    for key in ("p50_us", "p99_us", "baseline_p50_us", "baseline_p99_us", "ratio"):
        assert isinstance(row[key], float), key
        assert row[key] > 0, key  # type: ignore[operator]


def test_the_two_process_batch_scenario_moves_every_item_and_gives_a_row(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(SCENARIOS_ENV, "batch_processes")
    (row,) = bench.run(quick=True)  # a worker that got another count fails the run
    assert (row["scenario"], row["target"]) == ("batches of 1000, 2 processes", 1.5)
    assert (row["messages"], row["baseline_messages"]) == (100_000, 100_000)
    assert row["ratio"] == round(row["msgs_per_s"] / row["baseline_msgs_per_s"], 3)  # type: ignore[operator]
