"""connector-redis's checks for `connector doctor` (entry point `connector.probes`).

One required check: does a Redis server answer where the backend would connect (`REDIS_URL`,
or the local default when it is unset)? It sends `PING` over a plain socket, without
redis-py and without credentials, and reads the first reply line: `+PONG` (a server without a
password), `-NOAUTH` (a server that wants the password in the URL: it answers, so the check
passes) or anything else (not Redis). `rediss://` (TLS) is checked at the TCP level only.

`TRAITS` (entry point `connector.traits`) tells the `connector` tools where the backend ranks
and that it needs a Redis server.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from connector_core.cli.probes import Check, Probe, ProbeOptions, ask_tcp, mask_url, probe_tcp
from connector_core.registry import BackendTraits
from connector_redis.settings import DEFAULT_REDIS_URL, RedisSettings

__all__ = ["SERVER_HINT", "TRAITS", "checks", "probe_server"]

TRAITS = BackendTraits(rank=40, service="Redis server")
"""Crosses processes through a Redis server, which must be running."""

SERVER_HINT = (
    "start a local server with `redis-server --daemonize yes` (Debian/Ubuntu: apt-get install "
    "redis-server), or point REDIS_URL at a running one, e.g. redis://:password@host:6379/0"
)
"""How to get a server, for every message that says there is none."""


def probe_server(url: str, timeout: float = 3.0) -> Probe:
    """Checks whether a Redis server answers at `url`, within about `timeout` seconds.

    Args:
        url: The server URL (`redis://`, `rediss://` or `unix://`); host and port are used.
        timeout: Seconds for the connection and for the reply.

    Returns:
        `ok=True` when a Redis server replied to `PING`; otherwise why not and what to do.
    """
    parts = urlsplit(url)
    if parts.scheme not in {"redis", "rediss"}:
        return Probe(False, f"REDIS_URL must start with redis:// or rediss://, got {mask_url(url)}")
    host = parts.hostname or "localhost"
    try:
        port = parts.port or 6379
    except ValueError:
        return Probe(False, f"REDIS_URL has an invalid port: {mask_url(url)}")
    where = f"{host}:{port}"
    if parts.scheme == "rediss":
        probe = probe_tcp(host, port, timeout, SERVER_HINT)
        if not probe.ok:
            return probe
        return Probe(True, f"{where} accepts TLS connections (Redis not checked through TLS)")
    reply = ask_tcp(host, port, b"PING\r\n", timeout, SERVER_HINT)
    if isinstance(reply, Probe):
        return reply
    if reply.startswith(b"+PONG"):
        return Probe(True, f"a Redis server answers at {where}")
    if reply.startswith((b"-NOAUTH", b"-WRONGPASS", b"-ERR")):
        return Probe(True, f"a Redis server answers at {where} (it wants a password)")
    return Probe(False, f"{where} accepts connections but does not speak Redis; {SERVER_HINT}")


def checks(options: ProbeOptions) -> list[Check]:
    """Checks that a Redis server answers at the URL the backend would use.

    Args:
        options: The timeout for the server's answer.

    Returns:
        One required check: the server at `REDIS_URL` (unset: the local default).

    Raises:
        pydantic.ValidationError: If the settings in the environment are invalid.
    """
    url = RedisSettings().url.get_secret_value()
    notes: tuple[str, ...] = ()
    if url == DEFAULT_REDIS_URL:
        notes = (
            "REDIS_URL is not set (or is the default): the redis backend uses this local "
            "server; set REDIS_URL=redis://:password@host:6379/0 for another",
        )
    probe = probe_server(url, options.timeout)
    return [Check(f"Redis server at {mask_url(url)}", probe, required=True, notes=notes)]
