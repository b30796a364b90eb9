"""Benchmark the Ray backend: a thin wrapper around `connector_ray.bench`.

The benchmark lives in connector-ray (registered as `ray` in the `connector.benchmarks`
entry points, which `connector bench` runs). This file keeps
``uv run python tools/bench_ray.py [--quick]`` and ``tools/bench.py`` working; every name
of `connector_ray.bench` is reachable through it.
"""

from __future__ import annotations

from typing import Any

from connector_ray import bench as _impl
from connector_ray.bench import main, run

__all__ = ["main", "run"]


def __getattr__(name: str) -> Any:
    return getattr(_impl, name)


if __name__ == "__main__":
    main()
