from __future__ import annotations

import pytest

from connector_core import AsyncioConnector
from connector_core.testing import ConnectorConformance, standard_tests


def test_replacing_a_standard_test_without_xfail_is_refused() -> None:
    with pytest.raises(TypeError, match="replaces a standard conformance test"):

        class _Rewrites(ConnectorConformance):
            connector_class = AsyncioConnector

            async def test_send_after_close_raises(self) -> None:  # type: ignore[override]
                pass


def test_removing_a_standard_test_is_refused() -> None:
    with pytest.raises(TypeError, match="test_close_twice_is_harmless"):

        class _Drops(ConnectorConformance):
            connector_class = AsyncioConnector
            test_close_twice_is_harmless = None  # type: ignore[assignment]


def test_replacement_marked_xfail_with_a_reason_is_allowed() -> None:
    class _Documented(ConnectorConformance):
        connector_class = AsyncioConnector

        @pytest.mark.xfail(reason="this transport cannot do it, because ...")
        async def test_send_after_close_raises(self) -> None:  # type: ignore[override]
            raise AssertionError

    assert "test_send_after_close_raises" in vars(_Documented)


def test_xfail_without_a_reason_is_refused() -> None:
    with pytest.raises(TypeError):

        class _Silent(ConnectorConformance):
            connector_class = AsyncioConnector

            @pytest.mark.xfail
            async def test_send_after_close_raises(self) -> None:  # type: ignore[override]
                raise AssertionError


def test_the_suite_covers_the_contract() -> None:
    names = standard_tests()
    for behaviour in (
        "in_order",
        "exactly_once",
        "every_subscriber",
        "right_after_connect_recv",
        "many_senders",
        "send_after_close",
        "close_twice",
        "async_for",
        "async_with",
        "stalled",
        "builder",
        "export",
        "unserializable",
        "undecodable",
        "forged",
        "statistics",
        "cancelled_recv",
        "cancelled_send",
        "spawned_processes",
    ):
        assert any(behaviour in name for name in names), behaviour
