"""What a connector does with arguments it does not know, and with a `maxsize` too large."""

from __future__ import annotations

from typing import Any, ClassVar

import pytest

from connector_core import AsyncioConnector, Channel, Connector, ConnectorSpec

SPEC = ConnectorSpec("a.out", "b.in")


class _Limited(Connector):
    maxsize_limit: ClassVar[int | None] = 100

    def __init__(self, *args: Any, flavour: str = "plain", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.flavour = flavour

    async def connect_send(self) -> Channel:
        raise NotImplementedError

    async def connect_recv(self) -> Channel:
        raise NotImplementedError


def test_unknown_keyword_raises_type_error_naming_it() -> None:
    with pytest.raises(TypeError, match="unexpected keyword argument.*zmq_address"):
        AsyncioConnector(SPEC, zmq_address="tcp://127.0.0.1")


def test_unknown_keyword_error_lists_the_accepted_ones() -> None:
    with pytest.raises(TypeError) as caught:
        _Limited(SPEC, flavor="typo")
    assert "flavor" in str(caught.value)
    assert "It accepts: flavour=, maxsize=, spec=" in str(caught.value)


def test_subclass_keywords_are_accepted() -> None:
    assert _Limited(SPEC, flavour="spicy", maxsize=5).flavour == "spicy"


def test_extra_positional_argument_raises_type_error() -> None:
    with pytest.raises(TypeError, match="only positional argument"):
        AsyncioConnector(SPEC, 10)


def test_builder_passes_unknown_keywords_to_the_error() -> None:
    builder = AsyncioConnector.builder(colour="red")
    with pytest.raises(TypeError, match="colour"):
        builder.build(SPEC)


def test_maxsize_above_the_backend_limit_raises_value_error_naming_it() -> None:
    with pytest.raises(ValueError, match=r"maxsize=101 .* at most 100 items"):
        _Limited(SPEC, maxsize=101)


def test_maxsize_at_the_backend_limit_is_accepted() -> None:
    assert _Limited(SPEC, maxsize=100).maxsize == 100


def test_unbounded_maxsize_is_not_checked_against_the_limit() -> None:
    assert _Limited(SPEC, maxsize=0).maxsize == 0
