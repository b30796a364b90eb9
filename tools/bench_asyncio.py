"""Benchmark the in-process backend: a thin wrapper around `connector_core.bench`.

The measurement lives in connector-core (registered as `asyncio` in the
`connector.benchmarks` entry points, which `connector bench` runs). This file keeps
``uv run python tools/bench_asyncio.py [--quick] [--check]`` and ``tools/bench.py``
working; every name of `connector_core.bench` is reachable through it.
"""

from __future__ import annotations

import sys
from typing import Any

from connector_core import bench as _impl
from connector_core.bench import TARGETS, format_rows, main, run

__all__ = ["TARGETS", "format_rows", "main", "run"]


def __getattr__(name: str) -> Any:
    return getattr(_impl, name)


if __name__ == "__main__":
    sys.exit(main())
