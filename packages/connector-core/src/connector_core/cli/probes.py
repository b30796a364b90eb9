"""Checks of the environment, each bounded in time: the broker, Ray, and secret masking.

Core imports no transport library, so the broker check speaks just enough AMQP over a plain
socket: it sends the AMQP 0-9-1 protocol header and expects the broker's first frame (a
method frame, `Connection.Start`). That tells "nothing listens" from "something that is not a
broker listens" from "a broker answers", without credentials. Ray is checked by importing it
in a child process, and optionally by starting (and stopping) a local Ray instance there.
"""

from __future__ import annotations

import socket
import subprocess
import sys
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

from connector_core.settings import DEFAULT_RABBITMQ_URL

__all__ = [
    "BROKER_HINT",
    "DEFAULT_RABBITMQ_URL",
    "Probe",
    "mask_url",
    "probe_broker",
    "probe_ray",
]


BROKER_HINT = (
    "start a local broker with `rabbitmq-server -detached` (Debian/Ubuntu: "
    "apt-get install rabbitmq-server), or point RABBITMQ_URL at a running one, e.g. "
    "RABBITMQ_URL=amqp://user:password@host:5672/"
)
"""How to get a broker, for every message that says there is none."""

_AMQP_HEADER = b"AMQP\x00\x00\x09\x01"
_AMQP_METHOD_FRAME = 1


@dataclass(frozen=True)
class Probe:
    """The outcome of one check."""

    ok: bool
    detail: str


def mask_url(url: str) -> str:
    """Returns `url` with its password replaced by `****` (the rest unchanged)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{user}:****@{host}" + (f":{parts.port}" if parts.port is not None else "")
    return urlunsplit(parts._replace(netloc=netloc))


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
        return _probe_tcp(host, port, timeout, where)
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.settimeout(timeout)
            sock.sendall(_AMQP_HEADER)
            first = sock.recv(8)
    except TimeoutError:
        return Probe(False, f"no answer from {where} within {timeout:g}s; {BROKER_HINT}")
    except OSError as exc:
        return Probe(
            False, f"nothing accepts connections at {where} ({exc.strerror or exc}); {BROKER_HINT}"
        )
    if first[:1] == bytes([_AMQP_METHOD_FRAME]):
        return Probe(True, f"an AMQP 0-9-1 broker answers at {where}")
    return Probe(False, f"{where} accepts connections but does not speak AMQP 0-9-1; {BROKER_HINT}")


def _probe_tcp(host: str, port: int, timeout: float, where: str) -> Probe:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            pass
    except OSError as exc:
        return Probe(False, f"nothing accepts connections at {where} ({exc}); {BROKER_HINT}")
    return Probe(True, f"{where} accepts TLS connections (AMQP not checked through TLS)")


_RAY_IMPORT = "import ray; print(ray.__version__)"
_RAY_START = (
    "import sys, ray; address = sys.argv[1] or None\n"
    "ray.init(address=address, include_dashboard=False, log_to_driver=False)\n"
    "print(ray.__version__, ray.cluster_resources().get('CPU', 0))\n"
    "ray.shutdown()\n"
)


def probe_ray(start: bool, address: str | None, timeout: float = 90.0) -> Probe:
    """Checks that Ray imports, and with `start` that it can start, in a child process.

    Args:
        start: Also call `ray.init()` (a local instance, or `address`) and shut it down.
        address: The cluster to join with `start` (`CONNECTOR_RAY_ADDRESS`), or None.
        timeout: Seconds before the child is killed and the check fails.

    Returns:
        Whether Ray imports (and starts), with its version or what went wrong.
    """
    code = _RAY_START if start else _RAY_IMPORT
    try:
        proc = subprocess.run(
            [sys.executable, "-c", code, address or ""],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return Probe(False, f"Ray did not {'start' if start else 'import'} within {timeout:g}s")
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        return Probe(False, f"Ray {'failed to start' if start else 'does not import'}: {last}")
    fields = proc.stdout.split()
    if start:
        cpus = fields[1] if len(fields) > 1 else "?"
        target = address or "a local instance"
        return Probe(True, f"ray {fields[0]}: started {target} ({cpus} CPUs) and shut it down")
    return Probe(
        True,
        f"ray {fields[0] if fields else '?'} imports; `connector doctor --check-ray` starts a "
        "local instance to prove it runs (about 10-30 s)",
    )
