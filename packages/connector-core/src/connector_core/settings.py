"""`Settings`: configuration read from the environment (pydantic-settings).

Every setting has an environment variable named `CONNECTOR_<FIELD>` (for example
`CONNECTOR_JOB_ID`), except the broker URL, which is read from `RABBITMQ_URL` as in the
reference API. A `.env` file in the working directory is read too.
"""

from __future__ import annotations

from typing import Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from connector_core.serde import Codec, Serializer, get_serializer
from connector_core.spec import JOB_ID_PATTERN, check_job_id

__all__ = ["DEFAULT_RABBITMQ_URL", "ENV_PREFIX", "Settings"]

ENV_PREFIX = "CONNECTOR_"
"""The prefix of every setting's environment variable (except `RABBITMQ_URL`)."""

DEFAULT_RABBITMQ_URL = "amqp://guest:guest@localhost:5672/"
"""The broker URL the RabbitMQ backend uses when `RABBITMQ_URL` is unset: a broker on this
machine with its default account (as aio-pika, kombu and FastStream do)."""


class Settings(BaseSettings):
    """Settings for every connector backend, read from the environment."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, env_file=".env", extra="ignore", frozen=True
    )

    # -- shared ---------------------------------------------------------------------------
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

    # -- zmq ------------------------------------------------------------------------------
    bind_host: str = Field(
        default="127.0.0.1",
        description="The interface that listening sockets bind to. Loopback by default; set "
        "an address (or '*' for all interfaces) to accept other hosts.",
    )
    zmq_end_grace: float = Field(
        default=2.0,
        ge=0,
        description="Seconds a ZMQ connection whose connector was pickled to other processes "
        "waits, once every sender has closed, for senders still starting elsewhere before it "
        "ends. 0 ends it at once. Connectors used in one process always end at once.",
    )
    zmq_join_timeout: float = Field(
        default=60.0,
        ge=0,
        description="Seconds the rendezvous of a ZMQ connector that was pickled and then "
        "dropped by its creator waits for a first participant (a spawned process may take "
        "seconds to start) before it stops with nobody connected.",
    )

    # -- rabbitmq -------------------------------------------------------------------------
    rabbitmq_url: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("RABBITMQ_URL", "CONNECTOR_RABBITMQ_URL"),
        description="The broker URL with credentials, e.g. amqp://user:password@host:5672/. "
        "Unset: amqp://guest:guest@localhost:5672/, a broker on this machine with its "
        "default account (logged once; RabbitMQ accepts guest only from localhost).",
    )
    rabbitmq_connect_timeout: float = Field(
        default=10.0,
        gt=0,
        description="Seconds to wait for the broker before connecting fails with an error.",
    )
    rabbitmq_unreachable_timeout: float = Field(
        default=30.0,
        gt=0,
        le=3600,
        description="Seconds a RabbitMQ channel waits for a lost broker connection to come "
        "back; then send() and close() raise ChannelError saying the broker is unreachable "
        "and how many items were not confirmed.",
    )
    rabbitmq_max_message_size: int = Field(
        default=128 * 1024 * 1024,
        gt=64,
        description="The largest message the broker accepts, in bytes: its max_message_size "
        "(128 MiB by default in RabbitMQ 3.x, 16 MiB in 4.x). A send() whose serialized item "
        "does not fit raises ChannelSerializationError; a smaller broker limit is learnt "
        "from the broker's refusal.",
    )

    # -- ray ------------------------------------------------------------------------------
    ray_address: str | None = Field(
        default=None,
        description="The Ray cluster to join (as for ray.init(address=...)); unset: the "
        "running session, or a new local one.",
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
