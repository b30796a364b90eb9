from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from connector_core import AsyncioConnector, BackendNotFoundError, available_backends, get_backend
from connector_core.registry import (
    ASYNCIO_TRAITS,
    TRAITS_GROUP,
    BackendTraits,
    by_rank,
    declared_traits,
)
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
def fake_backends(fake_distribution: Callable[..., Path]) -> None:
    """An installed distribution `fakeprofiles` with three backends and two profiles."""
    connector = "connector_core.asyncio_connector:AsyncioConnector"
    fake_distribution(
        "fakeprofiles",
        {
            "connector.backends": {
                "fake_profiled": connector,
                "fake_plain": connector,
                "fake_broken": connector,
            },
            "connector.profiles": {
                "fake_profiled": "fakeprofiles_mod:PROFILE",
                "fake_broken": "fakeprofiles_missing_mod:PROFILE",
            },
        },
        {
            "fakeprofiles_mod": (
                "from connector_core.testing.backends import BackendProfile\n"
                "PROFILE = BackendProfile('fake_profiled', backlog_factor=5, loss_on_kill=7)\n"
            )
        },
    )


def test_a_backends_profile_is_found_through_its_entry_point(fake_backends: None) -> None:
    profiles = installed_profiles()
    assert profiles["fake_profiled"] is sys.modules["fakeprofiles_mod"].PROFILE
    assert profiles["fake_profiled"].backlog_bound(10) == 50
    assert profiles["asyncio"] is ASYNCIO_PROFILE


def test_a_backend_without_a_profile_gets_the_default_one(fake_backends: None) -> None:
    assert installed_profiles()["fake_plain"] == BackendProfile("fake_plain")
    assert unavailable_reason(installed_profiles()["fake_plain"]) is None


def test_a_profile_that_does_not_load_makes_the_backend_unavailable(fake_backends: None) -> None:
    profile = installed_profiles()["fake_broken"]
    reason = unavailable_reason(profile)
    assert reason is not None
    assert "fakeprofiles_missing_mod:PROFILE does not load" in reason


# -- traits: what each backend declares to the tools that choose among backends --------------


def test_by_rank_orders_by_rank_then_name_and_puts_undeclared_names_last() -> None:
    traits = {"b": BackendTraits(rank=5), "a": BackendTraits(rank=5), "z": BackendTraits(rank=1)}
    assert by_rank(["y", "a", "b", "x", "z", "a"], traits) == ["z", "a", "b", "x", "y"]


def test_core_declares_the_asyncio_traits() -> None:
    assert declared_traits()["asyncio"] is ASYNCIO_TRAITS
    assert (ASYNCIO_TRAITS.cross_process, ASYNCIO_TRAITS.service) == (False, None)


def test_traits_that_do_not_load_or_are_not_traits_count_as_none_declared(
    fake_distribution: Callable[..., Path],
) -> None:
    fake_distribution(
        "faketraits",
        {
            TRAITS_GROUP: {
                "fake_good": "faketraits_mod:GOOD",
                "fake_odd": "faketraits_mod:ODD",
                "fake_broken": "faketraits_missing_mod:TRAITS",
            }
        },
        {
            "faketraits_mod": (
                "from connector_core.registry import BackendTraits\n"
                "GOOD = BackendTraits(rank=7, service='Fake broker')\n"
                "ODD = {'rank': 1}\n"
            )
        },
    )
    traits = declared_traits()
    assert traits["fake_good"] == BackendTraits(rank=7, service="Fake broker")
    assert "fake_odd" not in traits
    assert "fake_broken" not in traits
