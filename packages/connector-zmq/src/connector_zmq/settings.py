"""`ZMQSettings`: connector-zmq's own settings, read from `CONNECTOR_ZMQ_*` variables.

The settings every backend shares (serializer, signing, the end-of-connection grace
`CONNECTOR_END_GRACE`) are `connector_core.Settings`. Connectors get these through
`DI.zmq_settings` (see `connector_zmq.di`); the class is declared under the `connector.settings`
entry points, so `connector doctor` and the configuration page list it.
"""

from __future__ import annotations

import warnings

from pydantic import AliasChoices, Field, model_validator
from pydantic_settings import SettingsConfigDict

from connector_core.settings import ENV_PREFIX, Settings, SettingsBase

__all__ = ["DEFAULT_END_GRACE", "ENV_PREFIX_ZMQ", "ZMQSettings"]

ENV_PREFIX_ZMQ = f"{ENV_PREFIX}ZMQ_"
"""The prefix of these settings' environment variables."""

DEFAULT_END_GRACE = 2.0
"""Seconds of grace when `CONNECTOR_END_GRACE` is unset (see `ZMQSettings.end_grace_for`)."""


class ZMQSettings(SettingsBase):
    """connector-zmq's settings, read from the environment."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX_ZMQ)

    bind_host: str = Field(
        default="127.0.0.1",
        validation_alias=AliasChoices(f"{ENV_PREFIX_ZMQ}BIND_HOST", f"{ENV_PREFIX}BIND_HOST"),
        description="The interface that listening sockets bind to. Loopback by default; set "
        "an address (or '*' for all interfaces) to accept other hosts.",
    )
    join_timeout: float = Field(
        default=60.0,
        ge=0,
        description="Seconds the rendezvous of a ZMQ connector that was pickled and then "
        "dropped by its creator waits for a first participant (a spawned process may take "
        "seconds to start) before it stops with nobody connected.",
    )
    end_grace: float | None = Field(
        default=None,
        ge=0,
        description="Deprecated: set CONNECTOR_END_GRACE, which every backend reads. Used "
        "only when that is unset.",
    )

    @model_validator(mode="after")
    def _warn_deprecated(self) -> ZMQSettings:
        if self.end_grace is not None:
            warnings.warn(
                f"{ENV_PREFIX_ZMQ}END_GRACE (ZMQSettings.end_grace) is deprecated: set "
                f"{ENV_PREFIX}END_GRACE (Settings.end_grace), which every backend reads",
                DeprecationWarning,
                stacklevel=2,
            )
        return self

    def end_grace_for(self, settings: Settings) -> float:
        """Returns the grace a ZMQ connection waits for late senders, in seconds.

        Connectors used in one process end at once whatever this says; it applies once a
        connector has been pickled to other processes.

        Args:
            settings: The common settings: their `end_grace` wins when set.
        """
        fallback = DEFAULT_END_GRACE if self.end_grace is None else self.end_grace
        return settings.grace(fallback)
