"""`RedisSettings`: connector-redis's settings, read from the environment.

The server URL is `REDIS_URL` (the convention of redis-py and its users; `CONNECTOR_REDIS_URL`
works too), default `redis://localhost:6379/0`. Every other setting is
`CONNECTOR_REDIS_<FIELD>`. The settings every backend shares (serializer, signing, job id,
the end-of-connection grace `CONNECTOR_END_GRACE`) are `connector_core.settings.Settings`.
The class is declared under the `connector.settings` entry points, so `connector doctor` and
the configuration page list it.
"""

from __future__ import annotations

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import SettingsConfigDict

from connector_core.settings import ENV_PREFIX, OwnGraceSettings

__all__ = ["DEFAULT_END_GRACE", "DEFAULT_REDIS_URL", "ENV_PREFIX_REDIS", "RedisSettings"]

ENV_PREFIX_REDIS = f"{ENV_PREFIX}REDIS_"
"""The prefix of these settings' environment variables."""

DEFAULT_REDIS_URL = "redis://localhost:6379/0"
"""The server the backend uses when `REDIS_URL` is unset: Redis on this machine."""

DEFAULT_END_GRACE = OwnGraceSettings.default_end_grace
"""Seconds of grace when `CONNECTOR_END_GRACE` is unset (see `RedisSettings.end_grace_for`): the
default of every backend's settings."""


class RedisSettings(OwnGraceSettings):
    """Settings of the Redis backend (`CONNECTOR_REDIS_*`, and `REDIS_URL`)."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX_REDIS)

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
    block: float = Field(
        default=0.5,
        gt=0,
        le=10,
        description="Seconds one blocking read (XREADGROUP/XREAD BLOCK) waits before the "
        "reader looks around (the end of the stream, claims, heartbeats) and reads again: "
        "how late a pipeline receiver may notice the end at most.",
    )
    max_item_size: int | None = Field(
        default=None,
        gt=0,
        description="The largest item, in bytes serialized and signed, that send() and "
        "send_many() accept; larger ones raise ChannelSerializationError and nothing is "
        "sent. Unset: what the server's proto-max-bulk-len lets one stream entry hold (512 "
        "MiB less the entry's envelope, by default); a larger setting is capped to that.",
    )
