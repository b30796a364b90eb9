"""`RedisSettings`: connector-redis's settings, read from the environment.

The server URL is `REDIS_URL` (the convention of redis-py and its users; `CONNECTOR_REDIS_URL`
works too), default `redis://localhost:6379/0`. Every other setting is
`CONNECTOR_REDIS_<FIELD>`. The shared settings (serializer, signing, job id) stay in
`connector_core.settings.Settings`.
"""

from __future__ import annotations

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["DEFAULT_REDIS_URL", "RedisSettings"]

DEFAULT_REDIS_URL = "redis://localhost:6379/0"
"""The server the backend uses when `REDIS_URL` is unset: Redis on this machine."""


class RedisSettings(BaseSettings):
    """Settings of the Redis backend (`CONNECTOR_REDIS_*`, and `REDIS_URL`)."""

    model_config = SettingsConfigDict(
        env_prefix="CONNECTOR_REDIS_", env_file=".env", extra="ignore", frozen=True
    )

    url: SecretStr = Field(
        default=SecretStr(DEFAULT_REDIS_URL),
        validation_alias=AliasChoices("REDIS_URL", "CONNECTOR_REDIS_URL"),
        description="The Redis server, e.g. redis://:password@host:6379/0 (rediss:// for "
        "TLS). Read in every process from its own environment; never pickled.",
    )
    connect_timeout: float = Field(
        default=10.0,
        gt=0,
        description="Seconds to wait for the server before connecting fails with "
        "ChannelSetupError.",
    )
    claim_idle: float = Field(
        default=30.0,
        ge=0.5,
        description="Seconds an entry may stay unacknowledged with a receiver that shows no "
        "sign of life before a surviving receiver claims it (XAUTOCLAIM); also how long a "
        "dead subscriber's heartbeat lasts before a waiting sender drops its group. Live "
        "receivers refresh what they hold every third of it.",
    )
    end_grace: float = Field(
        default=2.0,
        ge=0,
        description="Seconds a connection whose connector was pickled to other processes "
        "stays open once every sender has closed, for senders still starting elsewhere. "
        "Connectors used in one process end at once.",
    )
    block: float = Field(
        default=0.5,
        gt=0,
        le=10,
        description="Seconds one blocking read (XREADGROUP/XREAD BLOCK) waits before the "
        "reader looks around (the end of the stream, claims, heartbeats) and reads again: "
        "how late a pipeline receiver may notice the end at most.",
    )
