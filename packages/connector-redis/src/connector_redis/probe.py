"""connector-redis's checks for `connector doctor` (entry point `connector.probes`).

One required check: does a Redis server answer where the backend would connect (`REDIS_URL`,
or the local default when it is unset)? It sends `PING` over a plain socket, without
redis-py and without credentials, and reads the first reply line: `+PONG` (a server without a
password), `-NOAUTH` (a server that wants the password in the URL: it answers, so the check
passes) or anything else (not Redis). `rediss://` (TLS) is checked at the TCP level only.
Core's `ServiceProbe` does the rest: the URL, the socket, the messages.

`TRAITS` (entry point `connector.traits`) tells the `connector` tools where the backend ranks
and that it needs a Redis server.
"""

from __future__ import annotations

from connector_core.cli.probes import Check, Handshake, ProbeOptions, ServiceProbe, ServiceUrl
from connector_core.registry import BackendTraits
from connector_redis.settings import DEFAULT_REDIS_URL, RedisSettings

__all__ = ["SERVER", "SERVER_HINT", "TRAITS", "checks", "probe_server"]

SERVER_HINT = (
    "start a local server with `redis-server --daemonize yes` (Debian/Ubuntu: apt-get install "
    "redis-server), or point REDIS_URL at a running one, e.g. redis://:password@host:6379/0"
)
"""How to get a server, for every message that says there is none."""

_DEFAULT_URL_NOTE = (
    "REDIS_URL is not set (or is the default): the redis backend uses this local server; set "
    "REDIS_URL=redis://:password@host:6379/0 for another"
)


def _pong(reply: bytes, where: str) -> str | None:
    """`+PONG`, or the error of a server that wants a password (it answers all the same)."""
    if reply.startswith(b"+PONG"):
        return f"a Redis server answers at {where}"
    if reply.startswith((b"-NOAUTH", b"-WRONGPASS", b"-ERR")):
        return f"a Redis server answers at {where} (it wants a password)"
    return None


SERVER = ServiceProbe(
    "Redis server",
    ServiceUrl("REDIS_URL", {"redis": 6379, "rediss": 6379}, frozenset({"rediss"})),
    Handshake("Redis", b"PING\r\n", _pong),
    SERVER_HINT,
)
"""The server, as the check finds it: `PING`, answered by `+PONG` (or a password error)."""

TRAITS = BackendTraits(rank=40, service=SERVER.service)
"""Crosses processes through a Redis server, which must be running."""

probe_server = SERVER.probe
"""`probe_server(url, timeout=3.0)`: whether a Redis server answers at `url` (a `redis://` or
`rediss://` URL): `ok=True` when it replied to `PING`, else why not and what to do."""


def checks(options: ProbeOptions) -> list[Check]:
    """Checks that a Redis server answers at the URL the backend would use.

    Args:
        options: The timeout for the server's answer.

    Returns:
        One required check: the server at `REDIS_URL` (unset: the local default, with a note
        that says so).

    Raises:
        pydantic.ValidationError: If the settings in the environment are invalid.
    """
    url = RedisSettings().url.get_secret_value()
    note = _DEFAULT_URL_NOTE if url == DEFAULT_REDIS_URL else None
    return [SERVER.check(url, options.timeout, note)]
