from __future__ import annotations

import sys
import types
from collections.abc import Iterator

import pytest
from dependency_injector import providers

from connector_core import DI, ChannelSetupError, Settings
from connector_core.di import _lazy_coroutine, _lazy_sync_resource, container, wire


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


async def test_lazy_coroutine_of_a_missing_backend_says_what_to_install() -> None:
    call = _lazy_coroutine("connector_missing_backend.mod:thing", "connector-missing")
    with pytest.raises(ChannelSetupError, match="pip install connector-missing"):
        await call()


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


async def test_lazy_coroutine_imports_the_backend_and_awaits_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def fake(**kwargs: object) -> str:
        return f"made with {sorted(kwargs)}"

    monkeypatch.setitem(sys.modules, "fake_backend", types.SimpleNamespace(fake=fake))
    provider = providers.Coroutine(_lazy_coroutine("fake_backend:fake", "x"), settings=1)
    assert await provider() == "made with ['settings']"


# -- overrides at class level, as plugboard code writes them --------------------------------

USER_MODULE = """
from dependency_injector.wiring import Provide, inject

from connector_core import DI, Settings


@inject
def current_settings(settings: Settings = Provide[DI.settings]) -> Settings:
    return settings
"""


@pytest.fixture
def user_module(monkeypatch: pytest.MonkeyPatch) -> types.ModuleType:
    """A user's module with a `Provide[DI.settings]` default, wired as a backend wires."""
    module = types.ModuleType("connector_di_user_module")
    exec(USER_MODULE, module.__dict__)
    monkeypatch.setitem(sys.modules, module.__name__, module)
    wire(module.__name__)
    return module


def test_class_level_override_reaches_the_container() -> None:
    with DI.settings.override(providers.Object(Settings(job_id="class-level"))):
        assert container.settings().job_id == "class-level"
    assert container.settings().job_id != "class-level"


def test_class_level_override_reaches_provide_defaults(user_module: types.ModuleType) -> None:
    with DI.settings.override(providers.Object(Settings(job_id="class-level"))):
        assert user_module.current_settings().job_id == "class-level"
    assert user_module.current_settings().job_id != "class-level"


def test_class_level_override_accepts_a_plain_object(user_module: types.ModuleType) -> None:
    DI.settings.override(Settings(job_id="plain-object"))
    try:
        assert user_module.current_settings().job_id == "plain-object"
    finally:
        DI.settings.reset_last_overriding()
    assert user_module.current_settings().job_id != "plain-object"


def test_instance_override_is_seen_through_the_class() -> None:
    with container.settings.override(providers.Object(Settings(job_id="instance-level"))):
        assert DI.settings().job_id == "instance-level"


def test_class_and_container_share_every_provider() -> None:
    shared = [n for n, p in DI.providers.items() if not isinstance(p, providers.Self)]
    assert {"settings", "job_id", "zmq_context", "rabbitmq_conn"} <= set(shared)
    for name in shared:
        assert getattr(container, name) is getattr(DI, name), name
