from __future__ import annotations

import pytest
from pydantic import ValidationError

from connector_core import JsonSerializer, PickleSerializer, Settings


def test_settings_read_the_connector_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONNECTOR_JOB_ID", "run-7")
    monkeypatch.setenv("CONNECTOR_BIND_HOST", "0.0.0.0")
    settings = Settings()
    assert settings.job_id == "run-7"
    assert settings.bind_host == "0.0.0.0"


def test_rabbitmq_url_comes_from_rabbitmq_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RABBITMQ_URL", "amqp://u:hunter2pw@127.0.0.1:5672/")
    settings = Settings()
    assert settings.rabbitmq_url is not None
    assert settings.rabbitmq_url.get_secret_value() == "amqp://u:hunter2pw@127.0.0.1:5672/"
    assert "hunter2pw" not in repr(settings)


def test_defaults_bind_to_loopback_and_sign() -> None:
    settings = Settings(_env_file=None)
    assert settings.bind_host == "127.0.0.1"
    assert settings.sign_messages is True
    assert settings.serializer == "pickle"


def test_short_shared_secret_is_refused_with_advice() -> None:
    with pytest.raises(ValidationError, match="at least 16 characters.*secrets.token_hex"):
        Settings(shared_secret="short")


def test_job_id_must_be_a_plain_name() -> None:
    with pytest.raises(ValidationError, match="job_id"):
        Settings(job_id="has spaces/and slashes")


def test_make_codec_signs_with_a_fresh_key_by_default() -> None:
    first, second = Settings().make_codec(), Settings().make_codec()
    assert first.signed
    assert second.signed
    assert first != second
    assert isinstance(first.serializer, PickleSerializer)


def test_shared_secret_of_one_repeated_character_is_refused() -> None:
    with pytest.raises(ValidationError, match="one character repeated.*secrets.token_hex"):
        Settings(shared_secret="a" * 32)


def test_make_codec_uses_the_shared_secret() -> None:
    settings = Settings(shared_secret="0123456789abcdef0123")
    assert settings.make_codec() == settings.make_codec()


def test_make_codec_honours_serializer_and_signing_settings() -> None:
    codec = Settings(serializer="json", sign_messages=False).make_codec()
    assert isinstance(codec.serializer, JsonSerializer)
    assert not codec.signed


def test_make_codec_refuses_an_unknown_serializer_name() -> None:
    with pytest.raises(ValueError, match="unknown serializer 'yaml'"):
        Settings().make_codec("yaml")
