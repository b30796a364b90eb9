"""The ``large_signed`` scenario of `connector bench` runs and gives a well-formed row beside
bare Ray moving the same items signed (no timing is asserted: this is a benchmark)."""

from __future__ import annotations

import pytest

from connector_core.benchmarking import SCENARIOS_ENV
from connector_core.benchmarking.machine import LARGE_BYTES
from connector_core.testing.bench_rows import assert_measured
from connector_ray import bench


def test_the_signed_large_items_scenario_moves_them_beside_bare_ray_signing_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(SCENARIOS_ENV, "large_signed")
    (row,) = bench.run(quick=True)  # a count or a tag that is off fails the run
    assert (row["baseline"], row["item_bytes"]) == (bench.LARGE_SIGNED_BASELINE, LARGE_BYTES)
    assert (row["messages"], row["baseline_messages"]) == (10, 10)
    assert_measured(row)
