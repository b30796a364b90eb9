"""One Ray session for the whole test run of connector-ray (Ray takes seconds to start)."""

from __future__ import annotations

import os
from collections.abc import Iterator

# Under `uv run`, Ray would start every worker through `uv run` too (seconds per actor);
# the workspace venv is already what workers need. Spawned test processes inherit this.
os.environ.setdefault("RAY_ENABLE_UV_RUN_RUNTIME_ENV", "0")

import pytest
import ray


@pytest.fixture(scope="session", autouse=True)
def ray_session() -> Iterator[str]:
    """Starts a local 2-CPU Ray for the run, yields its GCS address, shuts it down after."""
    if ray.is_initialized():
        yield ray.get_runtime_context().gcs_address
        return
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        yield ray.get_runtime_context().gcs_address
    finally:
        ray.shutdown()
