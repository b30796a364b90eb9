"""Benchmark the ZeroMQ backend: a thin wrapper around `connector_zmq.bench`.

The benchmark lives in connector-zmq (registered as `zmq` in the `connector.benchmarks`
entry points, which `connector bench` runs). This file keeps
``uv run python tools/bench_zmq.py [--quick]`` and ``tools/bench.py`` working; every name
of `connector_zmq.bench` is reachable through it.
"""

from __future__ import annotations

import sys
from typing import Any

from connector_zmq import bench as _impl
from connector_zmq.bench import main, run

__all__ = ["main", "run"]


def __getattr__(name: str) -> Any:
    return getattr(_impl, name)


if __name__ == "__main__":
    sys.exit(main())
