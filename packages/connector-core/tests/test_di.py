from __future__ import annotations

import sys
import types
from collections.abc import AsyncIterator, Iterator

import pytest
from dependency_injector import providers

from connector_core import ChannelSetupError, Settings
from connector_core.di import _lazy_async_resource, _lazy_sync_resource, container


def test_container_provides_settings_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CONNECTOR_JOB_ID", "from-env")
    container.settings.reset()
    try:
        assert container.settings().job_id == "from-env"
    finally:
        container.settings.reset()


def test_settings_provider_can_be_overridden_in_tests() -> None:
    with container.settings.override(providers.Object(Settings(job_id="override"))):
        assert container.settings().job_id == "override"


def test_job_id_comes_from_settings_when_set() -> None:
    with container.settings.override(providers.Object(Settings(job_id="fixed"))):
        container.job_id.reset()
        try:
            assert container.job_id() == "fixed"
        finally:
            container.job_id.reset()


def test_lazy_resource_of_a_missing_backend_says_what_to_install() -> None:
    resource = _lazy_sync_resource("connector_missing_backend.mod:thing", "connector-missing")
    with pytest.raises(ChannelSetupError, match="pip install connector-missing"):
        resource().init()


async def test_lazy_async_resource_of_a_missing_backend_says_what_to_install() -> None:
    resource = _lazy_async_resource("connector_missing_backend.mod:thing", "connector-missing")
    with pytest.raises(ChannelSetupError, match="pip install connector-missing"):
        await resource().init()


def test_lazy_resource_enters_and_exits_the_backends_generator(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    events: list[str] = []

    def fake(**kwargs: object) -> Iterator[str]:
        events.append("open")
        yield "resource"
        events.append("close")

    monkeypatch.setitem(sys.modules, "fake_backend", types.SimpleNamespace(fake=fake))
    provider = providers.Resource(_lazy_sync_resource("fake_backend:fake", "x"))
    assert provider() == "resource"
    provider.shutdown()
    assert events == ["open", "close"]


async def test_lazy_async_resource_enters_and_exits_the_backends_generator(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    events: list[str] = []

    async def fake(**kwargs: object) -> AsyncIterator[str]:
        events.append("open")
        yield "resource"
        events.append("close")

    monkeypatch.setitem(sys.modules, "fake_backend", types.SimpleNamespace(fake=fake))
    provider = providers.Resource(_lazy_async_resource("fake_backend:fake", "x"))
    assert await provider() == "resource"
    await provider.shutdown()  # type: ignore[misc]
    assert events == ["open", "close"]
