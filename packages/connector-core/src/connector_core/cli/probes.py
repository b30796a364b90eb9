"""Checks of the environment, each bounded in time: what backends need, and secret masking.

Core knows no service. Each backend declares its checks under the entry-point group
`connector.probes` (backend name -> a function taking `ProbeOptions` and returning a list of
`Check`), next to its `connector.backends` entry: a broker that must answer, a library that
must import. `connector doctor` runs them all and prints one line per check; `connector demo`
and the cross-package tests ask only for the *required* ones (what the backend cannot connect
without) and stop with the check's advice when one fails. This module holds what the checks
share: the result types, running a backend's checks without ever raising, masking a URL's
password, a plain TCP check and `ServiceProbe`, the required check of a service that a
backend reaches at a URL (a broker, a server). It imports nothing beyond the standard library.
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from importlib.metadata import EntryPoint, entry_points
from urllib.parse import urlsplit, urlunsplit

__all__ = [
    "PROBE_GROUP",
    "Check",
    "Handshake",
    "Probe",
    "ProbeFunction",
    "ProbeOptions",
    "ServiceProbe",
    "ServiceUrl",
    "ask_tcp",
    "available_probes",
    "blocking_problem",
    "mask_url",
    "probe_tcp",
    "run_probes",
]

PROBE_GROUP = "connector.probes"
"""The entry-point group under which backends declare their checks (name -> function)."""


@dataclass(frozen=True)
class Probe:
    """The outcome of one check."""

    ok: bool
    detail: str


@dataclass(frozen=True)
class Check:
    """One check a backend made, as `connector doctor` prints it: `what: ok: detail`."""

    what: str
    """What was checked, e.g. the service and where it was looked for (secrets masked)."""
    probe: Probe
    required: bool = False
    """True when the backend cannot connect without it (a service that must answer):
    `connector demo` and the cross-package tests stop at a required check that failed."""
    notes: tuple[str, ...] = ()
    """Lines printed under the check, e.g. which default was used."""


@dataclass(frozen=True)
class ProbeOptions:
    """What the caller asks of a backend's checks."""

    timeout: float = 3.0
    """Seconds a service may take to answer a quick check."""
    deep: bool = False
    """Also run slow checks, such as starting and stopping a local cluster (tens of seconds)."""
    required_only: bool = False
    """Only the checks the backend cannot connect without: skip the informative ones."""


ProbeFunction = Callable[[ProbeOptions], Sequence[Check]]
"""What a `connector.probes` entry point loads: the backend's checks."""


def available_probes() -> dict[str, EntryPoint]:
    """Returns the installed backends' check entry points by backend name, sorted by name."""
    found = {ep.name: ep for ep in entry_points(group=PROBE_GROUP)}
    return dict(sorted(found.items()))


def run_probes(name: str, options: ProbeOptions | None = None) -> list[Check]:
    """Runs the checks that backend `name` declares; never raises.

    Args:
        name: The backend's name (its `connector.probes` entry point).
        options: Optional; the timeout and which checks to run.

    Returns:
        The checks, in the backend's order; none when the backend declares no checks. A
        backend whose checks do not load or fail with an exception (invalid settings, for
        instance) gives one failed, required check that says so.
    """
    ep = available_probes().get(name)
    if ep is None:
        return []
    try:
        function: ProbeFunction = ep.load()
        return list(function(options or ProbeOptions()))
    except Exception as exc:
        detail = f"its checks ({ep.value}) failed: {type(exc).__name__}: {exc}"
        return [Check(f"the {name} backend", Probe(False, detail), required=True)]


def blocking_problem(name: str, timeout: float = 3.0) -> str | None:
    """Returns why backend `name` cannot connect here (a required check failed), or None.

    Args:
        name: The backend's name.
        timeout: Seconds a service may take to answer.
    """
    options = ProbeOptions(timeout=timeout, required_only=True)
    for check in run_probes(name, options):
        if check.required and not check.probe.ok:
            notes = f" ({' '.join(check.notes)})" if check.notes else ""
            return f"{check.what}: {check.probe.detail}{notes}"
    return None


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


def probe_tcp(host: str, port: int, timeout: float, hint: str = "") -> Probe:
    """Checks that something accepts TCP connections at `host:port` within `timeout` seconds.

    Args:
        host: The host name or address.
        port: The port.
        timeout: Seconds for the connection.
        hint: Optional; what to do when nothing answers, appended to the detail.

    Returns:
        `ok=True` when the connection was accepted (and closed at once).
    """
    where = f"{host}:{port}"
    advice = f"; {hint}" if hint else ""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            pass
    except TimeoutError:
        return Probe(False, f"no answer from {where} within {timeout:g}s{advice}")
    except OSError as exc:
        return Probe(False, f"nothing accepts connections at {where} ({exc}){advice}")
    return Probe(True, f"{where} accepts connections")


def ask_tcp(
    host: str, port: int, greeting: bytes, timeout: float, hint: str = "", size: int = 64
) -> bytes | Probe:
    """Sends `greeting` to `host:port` and returns the first bytes of the answer.

    For probes that check a service speaks its protocol (an AMQP header, a Redis PING).

    Args:
        host: The host name or address.
        port: The port.
        greeting: What the service must answer to.
        timeout: Seconds for the connection and for the answer.
        hint: Optional; what to do when nothing answers, appended to the detail.
        size: Bytes of the answer to read at most.

    Returns:
        The answer's first bytes, or a failed `Probe` saying why there was none.
    """
    where = f"{host}:{port}"
    advice = f"; {hint}" if hint else ""
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.settimeout(timeout)
            sock.sendall(greeting)
            return sock.recv(size)
    except TimeoutError:
        return Probe(False, f"no answer from {where} within {timeout:g}s{advice}")
    except OSError as exc:
        return Probe(
            False, f"nothing accepts connections at {where} ({exc.strerror or exc}){advice}"
        )


@dataclass(frozen=True)
class ServiceUrl:
    """Where a backend finds its service: the setting that holds the URL, and its schemes."""

    setting: str
    """The environment variable that holds the URL, for messages: `"RABBITMQ_URL"`."""
    ports: Mapping[str, int]
    """The URL schemes accepted, each with its default port."""
    tls: frozenset[str] = frozenset()
    """The schemes among `ports` that speak TLS: only checked to accept TCP connections."""
    default_host: str = "localhost"
    """The host when the URL names none."""


@dataclass(frozen=True)
class Handshake:
    """How a service shows that it speaks its protocol: what to send, how to read the answer."""

    protocol: str
    """The protocol's name, for messages: `"AMQP 0-9-1"`."""
    greeting: bytes
    """What the service must answer to."""
    answer: Callable[[bytes, str], str | None]
    """Reads the first bytes of the answer and `host:port`: returns the detail of a check
    that passed, or None when the bytes are not the service's protocol."""
    size: int = 64
    """Bytes of the answer read at most."""


@dataclass(frozen=True)
class ServiceProbe:
    """How a backend checks that its service answers at a URL, over a plain socket.

    `probe()` takes the host and port from the URL (the scheme's default port when it names
    none) and makes the `handshake`; a TLS scheme is only checked to accept TCP connections.
    `check()` makes of it the required `Check` that the backend's `connector.probes` function
    returns.
    """

    service: str
    """What answers, for messages: `"RabbitMQ broker"`."""
    url: ServiceUrl
    """The setting that holds the URL and the schemes it may have."""
    handshake: Handshake
    """What to send the service and how to read its answer."""
    hint: str
    """How to get the service running, appended to every failure to reach it."""

    def probe(self, url: str, timeout: float = 3.0) -> Probe:
        """Checks whether the service answers at `url`, within about `timeout` seconds.

        Args:
            url: The service's URL; only its scheme, host and port are used.
            timeout: Seconds for the connection and for the answer.

        Returns:
            `ok=True` when the service answered in its protocol; otherwise why not and what
            to do.
        """
        form, handshake, parts = self.url, self.handshake, urlsplit(url)
        if parts.scheme not in form.ports:
            schemes = " or ".join(f"{scheme}://" for scheme in form.ports)
            return Probe(False, f"{form.setting} must start with {schemes}, got {mask_url(url)}")
        host = parts.hostname or form.default_host
        try:
            port = parts.port or form.ports[parts.scheme]
        except ValueError:
            return Probe(False, f"{form.setting} has an invalid port: {mask_url(url)}")
        where = f"{host}:{port}"
        if parts.scheme in form.tls:
            probe = probe_tcp(host, port, timeout, self.hint)
            if not probe.ok:
                return probe
            unchecked = f"{handshake.protocol} not checked through TLS"
            return Probe(True, f"{where} accepts TLS connections ({unchecked})")
        first = ask_tcp(host, port, handshake.greeting, timeout, self.hint, handshake.size)
        if isinstance(first, Probe):
            return first
        detail = handshake.answer(first, where)
        if detail is None:
            speaks = f"does not speak {handshake.protocol}"
            return Probe(False, f"{where} accepts connections but {speaks}; {self.hint}")
        return Probe(True, detail)

    def check(self, url: str, timeout: float, note: str | None = None) -> Check:
        """Returns the required check of the service at `url`, its password masked.

        Args:
            url: The URL the backend would connect to.
            timeout: Seconds the service may take to answer.
            note: Optional; a line printed under the check, such as which default was used.
        """
        notes = () if note is None else (note,)
        probe = self.probe(url, timeout)
        return Check(f"{self.service} at {mask_url(url)}", probe, required=True, notes=notes)
