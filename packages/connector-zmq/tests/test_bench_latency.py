"""The latency (inproc and TCP), two-process batch and signed large-item scenarios of
`connector bench` run and give well-formed rows (no timing is asserted: a benchmark)."""

from __future__ import annotations

import pytest

from connector_core.benchmarking import SCENARIOS_ENV
from connector_core.benchmarking.machine import LARGE_BYTES
from connector_core.testing import LatencyScenarioContract
from connector_core.testing.bench_rows import assert_measured
from connector_zmq import bench


class TestZMQLatencyScenario(LatencyScenarioContract):
    backend = "zmq"
    bench_module = "connector_zmq.bench"


class TestZMQLatencyOverTCPScenario(LatencyScenarioContract):
    backend = "zmq"
    bench_module = "connector_zmq.bench"
    scenario = "latency_tcp"
    label = "latency 1x1, TCP"


def test_the_two_process_batch_scenario_moves_every_item_and_gives_a_row(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(SCENARIOS_ENV, "batch_processes")
    (row,) = bench.run(quick=True)  # a worker that got another count fails the run
    assert (row["scenario"], row["target"]) == ("batches of 1000, 2 processes", 1.5)
    assert (row["messages"], row["baseline_messages"]) == (300_000, 300_000)
    assert row["ratio"] == round(row["msgs_per_s"] / row["baseline_msgs_per_s"], 3)  # type: ignore[operator]


def test_the_signed_large_items_scenario_moves_them_beside_bare_pyzmq_signing_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(SCENARIOS_ENV, "large_processes_signed")
    (row,) = bench.run(quick=True)  # a worker that got another count (or a bad tag) fails
    assert (row["baseline"], row["item_bytes"]) == (bench.BASELINE_SIGNED, LARGE_BYTES)
    assert (row["messages"], row["baseline_messages"]) == (bench.LARGE_QUICK,) * 2
    assert_measured(row)
