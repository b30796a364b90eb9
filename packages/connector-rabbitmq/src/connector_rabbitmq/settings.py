"""`RabbitMQSettings`: connector-rabbitmq's own settings, read from the environment.

The broker URL is read from `RABBITMQ_URL`, as in the reference API (`CONNECTOR_RABBITMQ_URL`
works too); the others from `CONNECTOR_RABBITMQ_*` variables. The settings every backend shares
(serializer, signing, job id, the end-of-connection grace `CONNECTOR_END_GRACE`) are
`connector_core.Settings`. Connectors get these through `DI.rabbitmq_settings` (see
`connector_rabbitmq.di`); the class is declared under the `connector.settings` entry points,
so `connector doctor` and the configuration page list it.

Items larger than `part_size` cross the broker in parts (`connector_rabbitmq.parts`):
`part_size` must leave room below `max_message_size` for a message's framing
(`OVERHEAD`); unset, it is `DEFAULT_PART_SIZE` or less, to fit.
`max_item_size` bounds what `send()` accepts and what a receiver reassembles.
"""

from __future__ import annotations

from typing import Final, Self

from pydantic import AliasChoices, Field, SecretStr, model_validator
from pydantic_settings import SettingsConfigDict

from connector_core.framing import FRAME_OVERHEAD, HEADER_SIZE
from connector_core.settings import ENV_PREFIX, SettingsBase

__all__ = [
    "DEFAULT_END_GRACE",
    "DEFAULT_MAX_ITEM_SIZE",
    "DEFAULT_PART_EXPIRES",
    "DEFAULT_PART_SIZE",
    "DEFAULT_URL",
    "ENV_PREFIX_RABBITMQ",
    "MIN_PART_SIZE",
    "OVERHEAD",
    "RabbitMQSettings",
]

ENV_PREFIX_RABBITMQ: Final = f"{ENV_PREFIX}RABBITMQ_"
"""The prefix of these settings' environment variables (except `RABBITMQ_URL`)."""

DEFAULT_URL: Final = "amqp://guest:guest@localhost:5672/"
"""The broker used when `RABBITMQ_URL` is unset: a broker on this machine with its default
account (as aio-pika, kombu and FastStream do; RabbitMQ accepts guest only from localhost)."""

DEFAULT_END_GRACE: Final = 1.0
"""Seconds a connection stays open after its last sender closed, for late senders, when
`CONNECTOR_END_GRACE` is unset."""

OVERHEAD: Final = HEADER_SIZE + FRAME_OVERHEAD
"""Bytes a message's framing adds to a lone frame (`connector_rabbitmq.messages.OVERHEAD`)."""

DEFAULT_PART_SIZE: Final = 4 * 1024 * 1024
"""Bytes per part of a large item when `part_size` is unset (less if the broker's
`max_message_size` is smaller)."""

MIN_PART_SIZE: Final = 1024
"""The smallest `part_size` one may set."""

DEFAULT_MAX_ITEM_SIZE: Final = 256 * 1024 * 1024
"""The largest item (serialized and signed) `send()` accepts when `max_item_size` is unset."""

DEFAULT_PART_EXPIRES: Final = 3600.0
"""Seconds an unread queue of parts lives when `part_expires` is unset."""


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
        "(128 MiB by default in RabbitMQ 3.x, 16 MiB in 4.x). No message is larger: bigger "
        "items go in parts (part_size); a smaller broker limit is learnt from the broker's "
        "refusal.",
    )
    part_size: int | None = Field(
        default=None,
        ge=MIN_PART_SIZE,
        description="Bytes per part of an item larger than this (serialized and signed): "
        "such an item crosses the broker as parts in a queue of its own, named by one small "
        "message in the channel's queue. At most max_message_size - 8. Unset: 4 MiB, or "
        "max_message_size - 8 if that is smaller.",
    )
    max_item_size: int = Field(
        default=DEFAULT_MAX_ITEM_SIZE,
        gt=0,
        description="The largest item, in bytes serialized and signed, that send() and "
        "send_many() accept (a larger one raises ChannelSerializationError and nothing is "
        "sent) and that a receiver reassembles from parts (a claim of more is dropped). "
        "Every process of a connection should use the same value.",
    )
    part_expires: float = Field(
        default=DEFAULT_PART_EXPIRES,
        gt=0,
        le=365 * 24 * 3600,
        description="Seconds a queue of parts may stay unread before the broker deletes it "
        "(x-expires): what a sender that crashed before naming them leaves behind. An item "
        "whose message waits in a queue longer than this is lost (its receiver logs it).",
    )

    @model_validator(mode="after")
    def _check_part_size(self) -> Self:
        largest = self.max_message_size - OVERHEAD
        if self.part_size is not None and self.part_size > largest:
            raise ValueError(
                f"part_size ({self.part_size} bytes) must leave {OVERHEAD} bytes of framing "
                f"below max_message_size ({self.max_message_size} bytes): set "
                f"CONNECTOR_RABBITMQ_PART_SIZE to at most {largest}, or leave it unset"
            )
        return self

    @property
    def effective_part_size(self) -> int:
        """The part size in use: `part_size`, or its default fitted to `max_message_size`."""
        if self.part_size is not None:
            return self.part_size
        return min(DEFAULT_PART_SIZE, self.max_message_size - OVERHEAD)
