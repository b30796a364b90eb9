"""One Ray session for the whole test run of connector-ray (Ray takes seconds to start)."""

from __future__ import annotations

from collections.abc import Iterator

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
