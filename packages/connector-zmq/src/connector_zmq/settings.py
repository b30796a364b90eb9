"""`ZMQSettings`: connector-zmq's own settings, read from `CONNECTOR_ZMQ_*` variables.

The settings every backend shares (serializer, signing, the end-of-connection grace
`CONNECTOR_END_GRACE`) are `connector_core.Settings`. Connectors get these through
`DI.zmq_settings` (see `connector_zmq.di`); the class is declared under the `connector.settings`
entry points, so `connector doctor` and the configuration page list it.
"""

from __future__ import annotations

from pydantic import AliasChoices, Field
from pydantic_settings import SettingsConfigDict

from connector_core.settings import ENV_PREFIX, OwnGraceSettings

__all__ = ["DEFAULT_END_GRACE", "ENV_PREFIX_ZMQ", "ZMQSettings"]

ENV_PREFIX_ZMQ = f"{ENV_PREFIX}ZMQ_"
"""The prefix of these settings' environment variables."""

DEFAULT_END_GRACE = OwnGraceSettings.default_end_grace
"""Seconds of grace when `CONNECTOR_END_GRACE` is unset (see `ZMQSettings.end_grace_for`): the
default of every backend's settings."""


class ZMQSettings(OwnGraceSettings):
    """connector-zmq's settings, read from the environment."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX_ZMQ)

    bind_host: str = Field(
        default="127.0.0.1",
        validation_alias=AliasChoices(f"{ENV_PREFIX_ZMQ}BIND_HOST", f"{ENV_PREFIX}BIND_HOST"),
        description="The interface that listening sockets bind to. Loopback by default; set "
        "an address (or '*' for all interfaces) to accept other hosts.",
    )
    in_process: bool = Field(
        default=True,
        description="Whether a sender reaches the receivers of its own process through "
        "ZeroMQ's inproc transport (no copy through the kernel; every frame is still signed "
        "and verified). False: over TCP, like senders in other processes.",
    )
    join_timeout: float = Field(
        default=60.0,
        ge=0,
        description="Seconds the rendezvous of a ZMQ connector that was pickled and then "
        "dropped by its creator waits for a first participant (a spawned process may take "
        "seconds to start) before it stops with nobody connected.",
    )
