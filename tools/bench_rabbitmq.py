"""Benchmark the RabbitMQ backend: a thin wrapper around `connector_rabbitmq.bench`.

The benchmark lives in connector-rabbitmq (registered as `rabbitmq` in the `connector.benchmarks`
entry points, which `connector bench` runs). This file keeps
``uv run python tools/bench_rabbitmq.py [--quick]`` and ``tools/bench.py`` working; every name
of `connector_rabbitmq.bench` is reachable through it.
"""

from __future__ import annotations

import sys
from typing import Any

from connector_rabbitmq import bench as _impl
from connector_rabbitmq.bench import main, run

__all__ = ["main", "run"]


def __getattr__(name: str) -> Any:
    return getattr(_impl, name)


if __name__ == "__main__":
    sys.exit(main())
