from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from pydantic import ValidationError

from connector_core import JsonSerializer, PickleSerializer, Settings
from connector_core.settings import SETTINGS_GROUP, env_names, settings_classes


def test_settings_read_the_connector_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONNECTOR_JOB_ID", "run-7")
    monkeypatch.setenv("CONNECTOR_END_GRACE", "0.5")
    settings = Settings()
    assert settings.job_id == "run-7"
    assert settings.end_grace == 0.5


def test_defaults_sign_and_leave_the_grace_to_each_backend() -> None:
    settings = Settings(_env_file=None)
    assert settings.sign_messages is True
    assert settings.serializer == "pickle"
    assert settings.end_grace is None
    assert settings.grace(default=1.5) == 1.5


def test_the_end_grace_setting_wins_over_a_backends_default() -> None:
    assert Settings(end_grace=0).grace(default=1.5) == 0
    with pytest.raises(ValidationError, match="end_grace"):
        Settings(end_grace=-1)


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


# -- keywords: what is not a setting is an error, with the class that has it -----------------

BACKEND_SETTINGS = """
from pydantic import AliasChoices, Field
from pydantic_settings import SettingsConfigDict

from connector_core.settings import SettingsBase


class FakeSettings(SettingsBase):
    model_config = SettingsConfigDict(env_prefix="CONNECTOR_FAKEB_")

    url: str | None = Field(
        default=None, validation_alias=AliasChoices("FAKEB_URL", "CONNECTOR_FAKEB_URL")
    )
    port: int = 1
"""


@pytest.fixture
def fake_backend_settings(fake_distribution: Callable[..., Path]) -> None:
    fake_distribution(
        "fakeb",
        {SETTINGS_GROUP: {"fakeb": "fakeb_settings:FakeSettings"}},
        {"fakeb_settings": BACKEND_SETTINGS},
    )


def test_a_keyword_that_is_no_setting_raises_type_error() -> None:
    with pytest.raises(TypeError, match="Settings\\(\\) has no setting 'job'"):
        Settings(job="x")


@pytest.mark.usefixtures("fake_backend_settings")
def test_a_backends_setting_given_to_settings_names_the_class_that_has_it() -> None:
    with pytest.raises(
        TypeError,
        match=r"setting of the fakeb backend: fakeb_settings\.FakeSettings\(port=\.\.\.\)",
    ):
        Settings(fakeb_port=2)
    with pytest.raises(TypeError, match=r"fakeb_settings\.FakeSettings\(port=\.\.\.\)"):
        Settings(port=2)


@pytest.mark.usefixtures("fake_backend_settings")
def test_a_common_setting_under_a_backends_prefix_says_which_one_is_meant() -> None:
    with pytest.raises(TypeError, match="did you mean 'end_grace'"):
        Settings(fakeb_end_grace=2)


@pytest.mark.usefixtures("fake_backend_settings")
def test_backend_settings_are_found_through_their_entry_point(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    cls = settings_classes()["fakeb"]
    assert cls.__module__ == "fakeb_settings"
    monkeypatch.setenv("CONNECTOR_FAKEB_PORT", "8")
    monkeypatch.setenv("FAKEB_URL", "fake://host")
    made = cls()
    assert (made.port, made.url) == (8, "fake://host")  # type: ignore[attr-defined]
    assert env_names(cls, "port") == ["CONNECTOR_FAKEB_PORT"]
    assert env_names(cls, "url") == ["FAKEB_URL", "CONNECTOR_FAKEB_URL"]
    # a field is given by its name or by its environment variable's name
    assert cls(url="a://b").url == "a://b"  # type: ignore[attr-defined]
    assert cls(FAKEB_URL="c://d").url == "c://d"  # type: ignore[attr-defined]
