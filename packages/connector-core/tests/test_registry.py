from __future__ import annotations

import pytest

from connector_core import AsyncioConnector, BackendNotFoundError, available_backends, get_backend


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
