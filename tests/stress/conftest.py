"""Fixtures for the stress tests: every installed backend, and fresh connectors of it.

Backends whose service is down skip on a developer machine and fail under CI=true. All stress
tests run in one session-wide event loop, so per-process transport resources (the broker
connection) are shared by the whole run.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Iterator

import pytest
from dependency_injector import providers

from connector_core import Connector, ConnectorMode, ConnectorSpec, Settings
from connector_core.di import container
from connector_core.testing import skip_or_fail
from connector_core.testing.backends import BackendProfile, installed_profiles, unavailable_reason

MakeConnector = Callable[..., Connector]


@pytest.fixture(params=sorted(installed_profiles()))
def profile(request: pytest.FixtureRequest) -> BackendProfile:
    """Each installed backend in turn; skipped (or failed in CI) when it cannot run here."""
    found = installed_profiles()[request.param]
    reason = unavailable_reason(found)
    if reason is not None:
        skip_or_fail(reason)
    return found


@pytest.fixture
def serialized_profile(profile: BackendProfile) -> BackendProfile:
    """Each installed backend whose channels carry signed frames."""
    if not profile.serialized:
        pytest.skip(f"{profile.name} channels pass objects by reference, not frames")
    return profile


@pytest.fixture
def cross_process_profile(profile: BackendProfile) -> BackendProfile:
    """Each installed backend that connects processes."""
    if not profile.cross_process:
        pytest.skip(f"{profile.name} is in-process only")
    return profile


@pytest.fixture
def make(profile: BackendProfile) -> Iterator[MakeConnector]:
    """Yields `make(mode, maxsize=1000)`: a fresh connector of the backend, unique spec.

    Afterwards, whatever a scenario left on a broker or cluster (a killed receiver never
    closes) is purged by job id, as a user would after a crashed run.
    """
    made: list[Connector] = []

    def make_connector(mode: ConnectorMode, maxsize: int = 1000) -> Connector:
        tag = uuid.uuid4().hex[:10]
        spec = ConnectorSpec(f"stress-{tag}.out", f"sink-{tag}.in", mode)
        connector = profile.connector_class()(spec, maxsize=maxsize)
        made.append(connector)
        return connector

    yield make_connector
    _purge(profile.name, made)


def _purge(backend: str, connectors: list[Connector]) -> None:
    jobs = {getattr(c, "job_id", None) for c in connectors} - {None}
    if backend == "rabbitmq" and connectors:
        import connector_rabbitmq

        for job in jobs:
            mine = [c for c in connectors if getattr(c, "job_id", None) == job]
            asyncio.run(connector_rabbitmq.purge(str(job), mine))
    elif backend == "ray":
        import connector_ray

        for job in jobs:
            connector_ray.purge(str(job))
    elif backend == "redis" and connectors:
        import connector_redis

        for job in jobs:
            mine = [c for c in connectors if getattr(c, "job_id", None) == job]
            asyncio.run(connector_redis.purge(str(job), specs=mine))


@pytest.fixture
def settings_override() -> Iterator[Callable[[Settings], None]]:
    """Lets a test run with other settings (e.g. the JSON serializer) for its connectors."""
    active: list[object] = []

    def apply(settings: Settings) -> None:
        active.append(container.settings.override(providers.Object(settings)))

    yield apply
    if active:
        container.settings.reset_override()
