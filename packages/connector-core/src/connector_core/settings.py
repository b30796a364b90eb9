"""`Settings`: configuration read from the environment (pydantic-settings).

`Settings` holds what every backend shares: the job id, how items are serialized and signed,
and how long a connection waits for late senders. Each has an environment variable named
`CONNECTOR_<FIELD>` (for example `CONNECTOR_JOB_ID`). A `.env` file in the working directory is
read too.

Each backend reads what is its own (where its transport lives, its timeouts) from a settings
class in its own package, derived from `SettingsBase`, with one environment prefix
(`CONNECTOR_<BACKEND>_`). It declares that class under the entry-point group
`connector.settings` (backend name -> class), so that `connector doctor` and the
configuration page list every installed backend's settings, and provides an instance as
`DI.<backend>_settings`.
"""

from __future__ import annotations

import warnings
from importlib.metadata import EntryPoint, entry_points
from typing import Any, ClassVar, Literal, Self

from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, SettingsConfigDict

from connector_core.serde import Codec, Serializer, get_serializer
from connector_core.spec import JOB_ID_PATTERN, check_job_id

__all__ = [
    "ENV_PREFIX",
    "SETTINGS_GROUP",
    "OwnGraceSettings",
    "Settings",
    "SettingsBase",
    "available_settings",
    "env_names",
    "settings_classes",
]

ENV_PREFIX = "CONNECTOR_"
"""The prefix of every common setting's environment variable."""

SETTINGS_GROUP = "connector.settings"
"""The entry-point group under which backends declare their settings classes (name -> class)."""


def env_names(cls: type[BaseSettings], name: str) -> list[str]:
    """Returns the environment variables that set field `name` of `cls`, in the order read.

    Args:
        cls: A settings class.
        name: One of its fields.
    """
    info: FieldInfo = cls.model_fields[name]
    alias = info.validation_alias
    if isinstance(alias, AliasChoices):
        return [str(choice) for choice in alias.choices]
    if isinstance(alias, str):
        return [alias]
    prefix = str(cls.model_config.get("env_prefix", ""))
    return [f"{prefix}{name}".upper()]


def _keywords(cls: type[BaseSettings]) -> set[str]:
    """The keywords `cls(...)` accepts: field names and their aliases."""
    accepted = set(cls.model_fields)
    for info in cls.model_fields.values():
        alias = info.validation_alias
        if isinstance(alias, AliasChoices):
            accepted.update(str(choice) for choice in alias.choices)
        elif isinstance(alias, str):
            accepted.add(alias)
    return accepted


def available_settings() -> dict[str, EntryPoint]:
    """Returns the installed backends' settings-class entry points by name, sorted by name."""
    found = {ep.name: ep for ep in entry_points(group=SETTINGS_GROUP)}
    return dict(sorted(found.items()))


def settings_classes() -> dict[str, type[SettingsBase]]:
    """Returns the installed backends' settings classes by backend name (those that load)."""
    classes: dict[str, type[SettingsBase]] = {}
    for name, ep in available_settings().items():
        try:
            cls = ep.load()
        except Exception:  # a backend that does not import: `connector doctor` says so
            continue
        if isinstance(cls, type) and issubclass(cls, SettingsBase):
            classes[name] = cls
    return classes


def _where_it_is(cls: type[BaseSettings], key: str) -> str:
    """Where the keyword `key`, unknown to `cls`, is a setting: advice for the error."""
    candidates = [(name, other) for name, other in settings_classes().items() if other is not cls]
    for backend, _ in candidates:
        rest = key.removeprefix(f"{backend}_")
        if rest != key and rest in cls.model_fields:
            return f"; did you mean {rest!r}?"
    for backend, other in candidates:
        rest = key.removeprefix(f"{backend}_")
        if rest in other.model_fields:
            return (
                f"; it is a setting of the {backend} backend: "
                f"{other.__module__}.{other.__qualname__}({rest}=...)"
            )
    return ""


class SettingsBase(BaseSettings):
    """The base of `Settings` and of every backend's settings class.

    Read from the environment (and a `.env` file), frozen once made. A keyword that is not a
    setting of the class raises `TypeError` rather than being ignored, saying which class has
    it when an installed backend's settings do; a field can be given by its name or by its
    environment variable's name.
    """

    model_config = SettingsConfigDict(
        env_file=".env", extra="ignore", frozen=True, populate_by_name=True
    )

    def __init__(self, **values: Any) -> None:
        """Reads the settings from the environment; keywords override it.

        Args:
            **values: Settings by field name (or environment variable name), and
                pydantic-settings' own options (`_env_file=None`, ...).

        Raises:
            TypeError: If a keyword is not a setting of this class.
            pydantic.ValidationError: If a value does not fit its setting.
        """
        cls = type(self)
        accepted = _keywords(cls)
        for key in values:
            if not key.startswith("_") and key not in accepted:
                raise TypeError(f"{cls.__name__}() has no setting {key!r}{_where_it_is(cls, key)}")
        super().__init__(**values)


class Settings(SettingsBase):
    """The settings every connector backend shares, read from the environment."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX)

    job_id: str | None = Field(
        default=None,
        description="Names this run's queues, exchanges and actors so that runs never mix; "
        "generated per connector when unset.",
        pattern=rf"^{JOB_ID_PATTERN}$",
    )
    serializer: Literal["pickle", "json"] = Field(
        default="pickle",
        description="How cross-process channels serialize items: 'pickle' (any object, "
        "signed) or 'json' (safe: runs no code on load).",
    )
    sign_messages: bool = Field(
        default=True,
        description="Sign every cross-process message with HMAC-SHA256 and drop those that "
        "do not verify. Switch off only on a fully trusted network.",
    )
    shared_secret: SecretStr | None = Field(
        default=None,
        description="The signing key shared by every process of a run (at least 16 "
        "characters). Unset: each connector generates a random key and carries it when "
        "pickled.",
    )
    end_grace: float | None = Field(
        default=None,
        ge=0,
        description="Seconds a connection waits, once every sender has closed, for senders "
        "still starting in other processes before its receivers end; 0 ends it at once. "
        "Unset: the backend's own default (see its documentation).",
    )

    @field_validator("job_id", mode="before")
    @classmethod
    def _check_job_id(cls, value: object) -> object:
        return value if value is None else check_job_id(value)

    @field_validator("shared_secret")
    @classmethod
    def _check_secret(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None:
            return value
        secret = value.get_secret_value()
        advice = "generate one with python -c 'import secrets; print(secrets.token_hex(32))'"
        if len(secret) < 16:
            raise ValueError(f"CONNECTOR_SHARED_SECRET must be at least 16 characters; {advice}")
        if len(set(secret)) == 1:
            raise ValueError(
                f"CONNECTOR_SHARED_SECRET is one character repeated, which anyone can guess; "
                f"{advice}"
            )
        return value

    def grace(self, default: float) -> float:
        """Returns `end_grace`, or the backend's `default` when it is unset.

        Args:
            default: The backend's own grace, in seconds.
        """
        return default if self.end_grace is None else self.end_grace

    def make_codec(self, serializer: Serializer | str | None = None) -> Codec:
        """Returns the codec a new connector should use under these settings.

        Args:
            serializer: Optional; overrides the `serializer` setting (a name or an object).

        Returns:
            A codec keyed with the shared secret, a fresh random key, or unsigned when
            `sign_messages` is off.
        """
        if serializer is None or isinstance(serializer, str):
            serializer = get_serializer(serializer or self.serializer)
        if not self.sign_messages:
            return Codec(serializer, None)
        if self.shared_secret is not None:
            return Codec(serializer, self.shared_secret.get_secret_value().encode())
        return Codec.generate(serializer)


class OwnGraceSettings(SettingsBase):
    """The base of a backend's settings that still read its own, deprecated, end grace.

    `end_grace` (`<PREFIX>END_GRACE`, the class's own env prefix) warns when set; the common
    `CONNECTOR_END_GRACE` wins over it, and `default_end_grace` applies when neither is set.
    """

    default_end_grace: ClassVar[float] = 2.0
    """Seconds of grace when neither `CONNECTOR_END_GRACE` nor the old variable is set."""

    end_grace: float | None = Field(
        default=None,
        ge=0,
        description="Deprecated: set CONNECTOR_END_GRACE, which every backend reads. Used "
        "only when that is unset.",
    )

    @model_validator(mode="after")
    def _warn_deprecated_grace(self) -> Self:
        if self.end_grace is not None:
            prefix = self.model_config.get("env_prefix", "")
            name = type(self).__name__
            warnings.warn(
                f"{prefix}END_GRACE ({name}.end_grace) is deprecated: set "
                f"{ENV_PREFIX}END_GRACE (Settings.end_grace), which every backend reads",
                DeprecationWarning,
                stacklevel=2,
            )
        return self

    def end_grace_for(self, settings: Settings) -> float:
        """Returns the seconds a shared connection waits for late senders once all closed.

        Connectors used in one process end at once whatever this says; it applies once a
        connector has been pickled to other processes.

        Args:
            settings: The common settings: their `end_grace` wins when set.
        """
        fallback = self.default_end_grace if self.end_grace is None else self.end_grace
        return settings.grace(fallback)
