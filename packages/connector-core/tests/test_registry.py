from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from connector_core import AsyncioConnector, BackendNotFoundError, available_backends, get_backend
from connector_core.testing.backends import (
    ASYNCIO_PROFILE,
    BackendProfile,
    installed_profiles,
    unavailable_reason,
)


def test_asyncio_backend_is_registered_by_core() -> None:
    assert "asyncio" in available_backends()
    assert get_backend("asyncio") is AsyncioConnector


def test_unknown_backend_error_lists_the_installed_ones() -> None:
    with pytest.raises(BackendNotFoundError, match="'nope'.*installed backends: .*asyncio"):
        get_backend("nope")


def test_unknown_backend_error_is_a_lookup_error() -> None:
    with pytest.raises(LookupError):
        get_backend("nope")


def test_backend_can_be_named_by_class_path() -> None:
    assert get_backend("connector_core.asyncio_connector:AsyncioConnector") is AsyncioConnector
    assert get_backend("connector_core.AsyncioConnector") is AsyncioConnector


def test_class_path_that_does_not_import_raises_backend_not_found() -> None:
    with pytest.raises(BackendNotFoundError, match="cannot import"):
        get_backend("no_such_module.Thing")


def test_class_path_to_a_non_connector_raises_type_error() -> None:
    with pytest.raises(TypeError, match="not a Connector subclass"):
        get_backend("connector_core.ConnectorSpec")


# -- profiles: what the cross-package tests may expect of each backend ------------------------


@pytest.fixture
def fake_backends(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """An installed distribution `fakeprofiles` with three backends and their profiles."""
    info = tmp_path / "fakeprofiles-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: fakeprofiles\nVersion: 1.0\n")
    connector = "connector_core.asyncio_connector:AsyncioConnector"
    (info / "entry_points.txt").write_text(
        "[connector.backends]\n"
        f"fake_profiled = {connector}\n"
        f"fake_plain = {connector}\n"
        f"fake_broken = {connector}\n"
        "[connector.profiles]\n"
        "fake_profiled = fakeprofiles_mod:PROFILE\n"
        "fake_broken = fakeprofiles_missing_mod:PROFILE\n"
    )
    (tmp_path / "fakeprofiles_mod.py").write_text(
        "from connector_core.testing.backends import BackendProfile\n"
        "PROFILE = BackendProfile('fake_profiled', backlog_factor=5, loss_on_kill=7)\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    yield tmp_path
    sys.modules.pop("fakeprofiles_mod", None)


def test_a_backends_profile_is_found_through_its_entry_point(fake_backends: Path) -> None:
    profiles = installed_profiles()
    assert profiles["fake_profiled"] is sys.modules["fakeprofiles_mod"].PROFILE
    assert profiles["fake_profiled"].backlog_bound(10) == 50
    assert profiles["asyncio"] is ASYNCIO_PROFILE


def test_a_backend_without_a_profile_gets_the_default_one(fake_backends: Path) -> None:
    assert installed_profiles()["fake_plain"] == BackendProfile("fake_plain")
    assert unavailable_reason(installed_profiles()["fake_plain"]) is None


def test_a_profile_that_does_not_load_makes_the_backend_unavailable(fake_backends: Path) -> None:
    profile = installed_profiles()["fake_broken"]
    reason = unavailable_reason(profile)
    assert reason is not None
    assert "fakeprofiles_missing_mod:PROFILE does not load" in reason
