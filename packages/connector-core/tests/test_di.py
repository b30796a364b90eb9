from __future__ import annotations

import sys
import types
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from dependency_injector import providers

from connector_core import DI, Settings
from connector_core.di import container, register_provider, wire
from connector_core.exceptions import ProviderNotFoundError


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


# -- providers that backends register -----------------------------------------------------

FAKE_MODULE = """
from dependency_injector import providers

from connector_core.di import register_provider

thing = register_provider("fakeprov_thing", providers.Object("made by fakeprov"))
"""


@pytest.fixture
def fake_backend(fake_distribution: Callable[..., Path]) -> Iterator[None]:
    """An installed distribution `fakeprov` that declares DI providers (not imported yet)."""
    fake_distribution(
        "fakeprov",
        {
            "connector.providers": {
                "fakeprov_thing": "fakeprov_mod:thing",
                "fakeprov_plain": "fakeprov_plain_mod:plain",
                "fakeprov_broken": "fakeprov_missing_mod:thing",
            }
        },
        {
            "fakeprov_mod": FAKE_MODULE,
            "fakeprov_plain_mod": (
                "from dependency_injector import providers\nplain = providers.Object(42)\n"
            ),
        },
    )
    yield
    for name in ("fakeprov_thing", "fakeprov_plain"):
        if name in DI.providers:
            delattr(container, name)
            delattr(DI, name)


def test_di_imports_the_backend_that_declares_an_unknown_provider(fake_backend: None) -> None:
    assert "fakeprov_mod" not in sys.modules
    provider = DI.fakeprov_thing
    assert "fakeprov_mod" in sys.modules
    assert provider is sys.modules["fakeprov_mod"].thing
    assert provider() == "made by fakeprov"
    assert container.fakeprov_thing is provider
    assert DI.providers["fakeprov_thing"] is provider


def test_container_looks_up_an_unknown_provider_as_the_class_does(fake_backend: None) -> None:
    provider = container.fakeprov_thing
    assert provider is DI.fakeprov_thing


def test_a_declared_provider_that_its_module_does_not_register_is_registered(
    fake_backend: None,
) -> None:
    assert DI.fakeprov_plain() == 42
    assert container.fakeprov_plain is DI.fakeprov_plain


def test_a_declared_provider_whose_module_does_not_import_names_the_distribution(
    fake_backend: None,
) -> None:
    with pytest.raises(ProviderNotFoundError, match="pip install --force-reinstall fakeprov"):
        DI.fakeprov_broken  # noqa: B018


def test_a_provider_no_installed_package_declares_says_what_to_install() -> None:
    with pytest.raises(ProviderNotFoundError, match="pip install connector-nosuchbackend"):
        DI.nosuchbackend_conn  # noqa: B018
    assert not hasattr(DI, "nosuchbackend_conn")  # an AttributeError, as for any missing name
    assert not hasattr(container, "nosuchbackend_conn")


def test_a_registered_provider_resolves_provide_defaults_and_class_level_overrides(
    fake_backend: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    module = types.ModuleType("connector_di_fake_user")
    exec(
        "from dependency_injector.wiring import Provide, inject\n"
        "from connector_core import DI\n"
        "@inject\n"
        "def thing(value: str = Provide[DI.fakeprov_thing]) -> str:\n"
        "    return value\n",
        module.__dict__,
    )
    monkeypatch.setitem(sys.modules, module.__name__, module)
    wire(module.__name__)
    assert module.thing() == "made by fakeprov"
    with DI.fakeprov_thing.override(providers.Object("overridden")):
        assert module.thing() == "overridden"
    assert module.thing() == "made by fakeprov"


def test_register_provider_refuses_a_taken_name() -> None:
    with pytest.raises(ValueError, match=r"DI\.settings already exists"):
        register_provider("settings", providers.Object(None))
    with pytest.raises(ValueError, match=r"DI\.override already exists"):
        register_provider("override", providers.Object(None))
    with pytest.raises(ValueError, match="public identifier"):
        register_provider("_hidden", providers.Object(None))


def test_register_provider_twice_with_the_same_provider_is_harmless(fake_backend: None) -> None:
    provider = DI.fakeprov_thing
    assert register_provider("fakeprov_thing", provider) is provider


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
    assert {"settings", "job_id"} <= set(shared)
    for name in shared:
        assert getattr(container, name) is getattr(DI, name), name
