"""connector-redis's check (entry point `connector.probes`): what `connector doctor` prints."""

from __future__ import annotations

import pytest

from connector_core.cli.probes import ProbeOptions
from connector_redis import probe
from connector_redis.settings import DEFAULT_REDIS_URL


def test_a_server_that_answers_ping_passes(redis_url: str) -> None:
    result = probe.probe_server(redis_url, timeout=2)
    assert result.ok, result.detail
    assert result.detail.startswith("a Redis server answers at ")


@pytest.mark.parametrize(
    ("reply", "detail"),
    [
        (b"+PONG\r\n", "a Redis server answers at h:1"),
        (b"-NOAUTH Authentication required.\r\n", "a Redis server answers at h:1 (it wants a"),
        (b"-WRONGPASS invalid username-password\r\n", "a Redis server answers at h:1 (it wants"),
    ],
)
def test_the_reply_to_ping_tells_a_server_and_one_that_wants_a_password(
    reply: bytes, detail: str
) -> None:
    answer = probe.SERVER.handshake.answer(reply, "h:1")
    assert answer is not None
    assert answer.startswith(detail)


def test_a_reply_in_another_protocol_is_not_a_server() -> None:
    assert probe.SERVER.handshake.answer(b"HTTP/1.1 400 Bad Request\r\n", "h:1") is None


def test_the_default_url_is_checked_with_a_note_that_says_so(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("REDIS_URL", raising=False)
    monkeypatch.delenv("CONNECTOR_REDIS_URL", raising=False)
    [check] = probe.checks(ProbeOptions(timeout=2))
    assert check.required
    assert check.what == f"Redis server at {DEFAULT_REDIS_URL}"
    assert "REDIS_URL is not set" in check.notes[0]


def test_a_url_with_a_password_is_checked_masked_and_without_a_note(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("REDIS_URL", "redis://:hunter2@127.0.0.1:1/0")
    [check] = probe.checks(ProbeOptions(timeout=2))
    assert check.what == "Redis server at redis://:****@127.0.0.1:1/0"
    assert not check.probe.ok
    assert "redis-server --daemonize yes" in check.probe.detail
    assert check.notes == ()
