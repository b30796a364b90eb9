"""`RabbitMQSettings`: connector-rabbitmq's own settings, read from the environment.

The broker URL is read from `RABBITMQ_URL`, as in the reference API (`CONNECTOR_RABBITMQ_URL`
works too); the others from `CONNECTOR_RABBITMQ_*` variables. The settings every backend shares
(serializer, signing, job id, the end-of-connection grace `CONNECTOR_END_GRACE`) are
`connector_core.Settings`. Connectors get these through `DI.rabbitmq_settings` (see
`connector_rabbitmq.di`); the class is declared under the `connector.settings` entry points,
so `connector doctor` and the configuration page list it.
"""

from __future__ import annotations

from typing import Final

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import SettingsConfigDict

from connector_core.settings import ENV_PREFIX, SettingsBase

__all__ = ["DEFAULT_END_GRACE", "DEFAULT_URL", "ENV_PREFIX_RABBITMQ", "RabbitMQSettings"]

ENV_PREFIX_RABBITMQ: Final = f"{ENV_PREFIX}RABBITMQ_"
"""The prefix of these settings' environment variables (except `RABBITMQ_URL`)."""

DEFAULT_URL: Final = "amqp://guest:guest@localhost:5672/"
"""The broker used when `RABBITMQ_URL` is unset: a broker on this machine with its default
account (as aio-pika, kombu and FastStream do; RabbitMQ accepts guest only from localhost)."""

DEFAULT_END_GRACE: Final = 1.0
"""Seconds a connection stays open after its last sender closed, for late senders, when
`CONNECTOR_END_GRACE` is unset."""


class RabbitMQSettings(SettingsBase):
    """connector-rabbitmq's settings, read from the environment."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX_RABBITMQ)

    url: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("RABBITMQ_URL", f"{ENV_PREFIX_RABBITMQ}URL"),
        description="The broker URL with credentials, e.g. amqp://user:password@host:5672/. "
        f"Unset: {DEFAULT_URL}, a broker on this machine with its default account (logged "
        "once; RabbitMQ accepts guest only from localhost).",
    )
    connect_timeout: float = Field(
        default=10.0,
        gt=0,
        description="Seconds to wait for the broker before connecting fails with an error.",
    )
    unreachable_timeout: float = Field(
        default=30.0,
        gt=0,
        le=3600,
        description="Seconds a RabbitMQ channel waits for a lost broker connection to come "
        "back; then send() and close() raise ChannelError saying the broker is unreachable "
        "and how many items were not confirmed.",
    )
    max_message_size: int = Field(
        default=128 * 1024 * 1024,
        gt=64,
        description="The largest message the broker accepts, in bytes: its max_message_size "
        "(128 MiB by default in RabbitMQ 3.x, 16 MiB in 4.x). A send() whose serialized item "
        "does not fit raises ChannelSerializationError; a smaller broker limit is learnt "
        "from the broker's refusal.",
    )
