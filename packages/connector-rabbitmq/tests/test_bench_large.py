"""The ``large_vs_broker`` scenario of `connector bench` runs and gives a well-formed row
beside the bare aio-pika loop (no timing is asserted: this is a benchmark)."""

from __future__ import annotations

import pytest

from connector_core.benchmarking import SCENARIOS_ENV
from connector_core.benchmarking.machine import LARGE_BYTES
from connector_core.testing.bench_rows import assert_measured
from connector_rabbitmq import bench

pytestmark = pytest.mark.rabbitmq


def test_the_large_items_scenario_moves_them_beside_the_bare_broker_loop(
    broker: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(SCENARIOS_ENV, "large_vs_broker")
    (row,) = bench.run(quick=True)  # a receiver that got another count fails the run
    assert (row["scenario"], row["item_bytes"]) == ("16 MiB items vs broker", LARGE_BYTES)
    assert (row["messages"], row["baseline_messages"]) == (5, 5)
    assert_measured(row)
