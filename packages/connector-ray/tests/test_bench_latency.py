"""The latency scenario of `connector bench` runs and gives a well-formed row (no timing is
asserted: this is a benchmark)."""

from __future__ import annotations

from connector_core.testing import LatencyScenarioContract


class TestRayLatencyScenario(LatencyScenarioContract):
    backend = "ray"
    bench_module = "connector_ray.bench"
