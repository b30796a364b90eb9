"""connector-rabbitmq's checks for `connector doctor` (entry point `connector.probes`).

One required check: does a broker answer where the backend would connect (`RABBITMQ_URL`, or
the local default when it is unset)? It speaks just enough AMQP over a plain socket, with no
credentials and without aio-pika: it sends the AMQP 0-9-1 protocol header and expects the
broker's first frame (a method frame, `Connection.Start`). That tells "nothing listens" from
"something that is not a broker listens" from "a broker answers", in a few seconds at most
(core's `ServiceProbe` does the rest: the URL, the socket, the messages).

`TRAITS` (entry point `connector.traits`) tells the `connector` tools where the backend ranks
and that it needs a broker.
"""

from __future__ import annotations

from connector_core.cli.probes import Check, Handshake, ProbeOptions, ServiceProbe, ServiceUrl
from connector_core.registry import BackendTraits
from connector_rabbitmq.settings import DEFAULT_URL, RabbitMQSettings

__all__ = ["BROKER", "BROKER_HINT", "TRAITS", "checks", "probe_broker"]

BROKER_HINT = (
    "start a local broker with `rabbitmq-server -detached` (Debian/Ubuntu: "
    "apt-get install rabbitmq-server), or point RABBITMQ_URL at a running one, e.g. "
    "RABBITMQ_URL=amqp://user:password@host:5672/"
)
"""How to get a broker, for every message that says there is none."""

_AMQP_METHOD_FRAME = 1
_DEFAULT_URL_NOTE = (
    "RABBITMQ_URL is not set: the rabbitmq backend uses this local broker with its default "
    "account; set RABBITMQ_URL=amqp://user:password@host:5672/ for another"
)


def _connection_start(first: bytes, where: str) -> str | None:
    """A broker's first frame is a method frame (`Connection.Start`)."""
    if first[:1] == bytes([_AMQP_METHOD_FRAME]):
        return f"an AMQP 0-9-1 broker answers at {where}"
    return None


BROKER = ServiceProbe(
    "RabbitMQ broker",
    ServiceUrl("RABBITMQ_URL", {"amqp": 5672, "amqps": 5671}, frozenset({"amqps"}), "127.0.0.1"),
    Handshake("AMQP 0-9-1", b"AMQP\x00\x00\x09\x01", _connection_start, size=8),
    BROKER_HINT,
)
"""The broker, as the check finds it: the AMQP 0-9-1 header, answered by `Connection.Start`."""

TRAITS = BackendTraits(rank=20, service=BROKER.service)
"""Crosses processes through a broker, which must be running."""

probe_broker = BROKER.probe
"""`probe_broker(url, timeout=3.0)`: whether an AMQP broker answers at `url` (an `amqp://` or
`amqps://` URL): `ok=True` when it sent `Connection.Start`, else why not and what to do."""


def checks(options: ProbeOptions) -> list[Check]:
    """Checks that a broker answers at the URL the backend would use.

    Args:
        options: The timeout for the broker's answer.

    Returns:
        One required check: the broker at `RABBITMQ_URL` (unset: the local default, with a
        note that says so).

    Raises:
        pydantic.ValidationError: If the settings in the environment are invalid.
    """
    configured = RabbitMQSettings().url
    if configured is None:
        return [BROKER.check(DEFAULT_URL, options.timeout, _DEFAULT_URL_NOTE)]
    return [BROKER.check(configured.get_secret_value(), options.timeout)]
