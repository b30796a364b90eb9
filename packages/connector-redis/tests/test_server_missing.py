"""Without a Redis server, the tests skip on a developer machine and fail under CI=true."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from connector_core.testing import closed_port


def test_tests_skip_with_the_reason_when_redis_is_down_on_a_dev_machine(
    monkeypatch: pytest.MonkeyPatch, redis_required: Callable[[str], str]
) -> None:
    monkeypatch.delenv("CI", raising=False)
    url = f"redis://127.0.0.1:{closed_port()}/0"
    with pytest.raises(pytest.skip.Exception, match=r"Redis is not reachable.*redis-server"):
        redis_required(url)


def test_tests_fail_when_redis_is_down_under_ci(
    monkeypatch: pytest.MonkeyPatch, redis_required: Callable[[str], str]
) -> None:
    monkeypatch.setenv("CI", "true")
    url = f"redis://127.0.0.1:{closed_port()}/0"
    with pytest.raises(pytest.fail.Exception, match=r"Redis is not reachable.*CI is set"):
        redis_required(url)


def test_tests_run_when_redis_answers(redis_url: str, redis_required: Callable[[str], str]) -> None:
    assert redis_required(redis_url) == redis_url
