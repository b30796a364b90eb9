"""connector-rabbitmq's checks for `connector doctor` (entry point `connector.probes`).

One required check: does a broker answer where the backend would connect (`RABBITMQ_URL`, or
the local default when it is unset)? It speaks just enough AMQP over a plain socket, with no
credentials and without aio-pika: it sends the AMQP 0-9-1 protocol header and expects the
broker's first frame (a method frame, `Connection.Start`). That tells "nothing listens" from
"something that is not a broker listens" from "a broker answers", in a few seconds at most.

`TRAITS` (entry point `connector.traits`) tells the `connector` tools where the backend ranks
and that it needs a broker.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from connector_core.cli.probes import Check, Probe, ProbeOptions, ask_tcp, mask_url, probe_tcp
from connector_core.registry import BackendTraits
from connector_rabbitmq.settings import DEFAULT_URL, RabbitMQSettings

__all__ = ["BROKER_HINT", "TRAITS", "checks", "probe_broker"]

TRAITS = BackendTraits(rank=20, service="RabbitMQ broker")
"""Crosses processes through a broker, which must be running."""

BROKER_HINT = (
    "start a local broker with `rabbitmq-server -detached` (Debian/Ubuntu: "
    "apt-get install rabbitmq-server), or point RABBITMQ_URL at a running one, e.g. "
    "RABBITMQ_URL=amqp://user:password@host:5672/"
)
"""How to get a broker, for every message that says there is none."""

_AMQP_HEADER = b"AMQP\x00\x00\x09\x01"
_AMQP_METHOD_FRAME = 1


def probe_broker(url: str, timeout: float = 3.0) -> Probe:
    """Checks whether an AMQP broker answers at `url`, within about `timeout` seconds.

    Args:
        url: The broker URL (`amqp://` or `amqps://`); only host and port are used.
        timeout: Seconds for the connection and for the broker's first frame.

    Returns:
        `ok=True` when a broker sent `Connection.Start`; otherwise why not and what to do.
    """
    parts = urlsplit(url)
    if parts.scheme not in {"amqp", "amqps"}:
        return Probe(
            False, f"RABBITMQ_URL must start with amqp:// or amqps://, got {mask_url(url)}"
        )
    host = parts.hostname or "127.0.0.1"
    try:
        port = parts.port or (5671 if parts.scheme == "amqps" else 5672)
    except ValueError:
        return Probe(False, f"RABBITMQ_URL has an invalid port: {mask_url(url)}")
    where = f"{host}:{port}"
    if parts.scheme == "amqps":
        probe = probe_tcp(host, port, timeout, BROKER_HINT)
        if not probe.ok:
            return probe
        return Probe(True, f"{where} accepts TLS connections (AMQP not checked through TLS)")
    first = ask_tcp(host, port, _AMQP_HEADER, timeout, BROKER_HINT, size=8)
    if isinstance(first, Probe):
        return first
    if first[:1] == bytes([_AMQP_METHOD_FRAME]):
        return Probe(True, f"an AMQP 0-9-1 broker answers at {where}")
    return Probe(False, f"{where} accepts connections but does not speak AMQP 0-9-1; {BROKER_HINT}")


def checks(options: ProbeOptions) -> list[Check]:
    """Checks that a broker answers at the URL the backend would use.

    Args:
        options: The timeout for the broker's answer.

    Returns:
        One required check: the broker at `RABBITMQ_URL` (unset: the local default).

    Raises:
        pydantic.ValidationError: If the settings in the environment are invalid.
    """
    configured = RabbitMQSettings().url
    url = configured.get_secret_value() if configured is not None else DEFAULT_URL
    notes: tuple[str, ...] = ()
    if configured is None:
        notes = (
            "RABBITMQ_URL is not set: the rabbitmq backend uses this local broker with its "
            "default account; set RABBITMQ_URL=amqp://user:password@host:5672/ for another",
        )
    probe = probe_broker(url, options.timeout)
    return [Check(f"RabbitMQ broker at {mask_url(url)}", probe, required=True, notes=notes)]
