"""The latency scenario of `connector bench` runs and gives a well-formed row (no timing is
asserted: this is a benchmark)."""

from __future__ import annotations

import pytest

from connector_core.testing import LatencyScenarioContract

pytestmark = pytest.mark.redis


@pytest.mark.usefixtures("redis_url")
class TestRedisLatencyScenario(LatencyScenarioContract):
    backend = "redis"
    bench_module = "connector_redis.bench"
