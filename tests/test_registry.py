"""Cross-package tests of the backend registry (entry-point group `connector.backends`).

Every installed backend's entry point must load a `Connector` subclass that its distribution
also exports at top level, and every workspace member must have registered, in the installed
metadata, the names its pyproject.toml declares (a stale environment fails here: run
`uv sync --all-packages`).
"""

from __future__ import annotations

import importlib
import tomllib
from importlib.metadata import entry_points
from pathlib import Path

import pytest

from connector_core import BackendNotFoundError, Connector, get_backend
from connector_core.cli.probes import PROBE_GROUP
from connector_core.di import PROVIDER_GROUP
from connector_core.registry import (
    ENTRY_POINT_GROUP,
    TRAITS_GROUP,
    BackendTraits,
    available_backends,
    declared_traits,
)
from connector_core.testing.backends import PROFILE_GROUP, BackendProfile, installed_profiles

ROOT = Path(__file__).resolve().parent.parent


GROUPS = (ENTRY_POINT_GROUP, PROVIDER_GROUP, PROFILE_GROUP, PROBE_GROUP, TRAITS_GROUP)
"""The entry-point groups through which core finds what backends bring."""


def _declared(group: str = ENTRY_POINT_GROUP) -> dict[str, str]:
    """Entry points declared by the workspace members that have source: name -> target."""
    declared: dict[str, str] = {}
    for pyproject in sorted((ROOT / "packages").glob("*/pyproject.toml")):
        project = tomllib.loads(pyproject.read_text())["project"]
        package = pyproject.parent / "src" / project["name"].replace("-", "_")
        if (package / "__init__.py").is_file():
            declared.update(project.get("entry-points", {}).get(group, {}))
    return declared


INSTALLED = sorted(ep.name for ep in entry_points(group=ENTRY_POINT_GROUP))
DECLARED = _declared()
DECLARED_IN_GROUPS = sorted(
    (group, name, target) for group in GROUPS for name, target in _declared(group).items()
)


@pytest.mark.parametrize("name", INSTALLED)
def test_entry_point_loads_a_connector_subclass(name: str) -> None:
    (ep,) = entry_points(group=ENTRY_POINT_GROUP, name=name)
    target = ep.load()
    assert isinstance(target, type)
    assert issubclass(target, Connector)


@pytest.mark.parametrize("name", INSTALLED)
def test_get_backend_returns_the_entry_point_class(name: str) -> None:
    (ep,) = entry_points(group=ENTRY_POINT_GROUP, name=name)
    assert get_backend(name) is ep.load()


@pytest.mark.parametrize("name", INSTALLED)
def test_backend_class_is_exported_at_its_package_top_level(name: str) -> None:
    cls = get_backend(name)
    top_level = importlib.import_module(cls.__module__.partition(".")[0])
    assert getattr(top_level, cls.__name__) is cls
    assert cls.__name__ in getattr(top_level, "__all__", ())


@pytest.mark.parametrize(("name", "target"), sorted(DECLARED.items()))
def test_declared_entry_point_is_installed(name: str, target: str) -> None:
    installed = available_backends()
    assert name in installed, f"{name!r} is declared but not installed: run uv sync --all-packages"
    assert installed[name].value == target


def test_core_registers_the_asyncio_backend() -> None:
    assert get_backend("asyncio").__name__ == "AsyncioConnector"


def test_unknown_backend_error_lists_every_installed_backend() -> None:
    with pytest.raises(BackendNotFoundError) as exc_info:
        get_backend("carrier-pigeon")
    message = str(exc_info.value)
    assert "'carrier-pigeon'" in message
    for name in INSTALLED:
        assert name in message


@pytest.mark.parametrize(("group", "name", "target"), DECLARED_IN_GROUPS)
def test_every_declared_entry_point_is_installed(group: str, name: str, target: str) -> None:
    installed = {ep.name: ep.value for ep in entry_points(group=group)}
    assert installed.get(name) == target, f"{group}: {name!r}: run uv sync --all-packages"


@pytest.mark.parametrize("name", sorted(ep.name for ep in entry_points(group=PROFILE_GROUP)))
def test_every_declared_profile_loads_and_is_the_installed_profile(name: str) -> None:
    (ep,) = entry_points(group=PROFILE_GROUP, name=name)
    profile = installed_profiles()[name]
    assert profile is ep.load()
    assert isinstance(profile, BackendProfile)
    assert profile.name == name
    assert profile.load_error is None


@pytest.mark.parametrize("name", INSTALLED)
def test_every_backend_declares_traits_that_load(name: str) -> None:
    (ep,) = entry_points(group=TRAITS_GROUP, name=name)
    traits = ep.load()
    assert isinstance(traits, BackendTraits)
    assert declared_traits()[name] is traits


def test_the_demo_default_is_the_brokerless_backend_ranked_first_when_all_are_installed() -> None:
    pytest.importorskip("typer", reason="typer is absent: connector-core without its cli extra")
    from connector_core.cli.demo import default_candidates

    candidates = default_candidates(declared_traits())
    if not {"zmq", "ray"} <= set(candidates):
        pytest.skip("connector-zmq or connector-ray is not installed here")
    assert candidates == ["zmq", "ray", "asyncio"]
