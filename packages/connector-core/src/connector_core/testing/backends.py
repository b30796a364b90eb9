"""The installed backends as cross-package tests and tools see them.

What each backend can do, and whether it can run here. Backends are found through the
registry (entry points), never imported by name, so this module works with any subset of
backends installed. The profile of a backend says what the stress tests may expect of it: how
far its transport may buffer beyond `maxsize`, and what a killed receiver process can lose.
Each backend declares its own profile under the entry-point group `connector.profiles`
(backend name -> a `BackendProfile`); a backend that declares none gets the default profile.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib.metadata import EntryPoint, entry_points

from connector_core.cli.probes import blocking_problem
from connector_core.connector import Connector
from connector_core.registry import available_backends, get_backend

__all__ = [
    "ASYNCIO_PROFILE",
    "PROFILE_GROUP",
    "BackendProfile",
    "installed_profiles",
    "unavailable_reason",
]

PROFILE_GROUP = "connector.profiles"
"""The entry-point group under which backends declare their profiles (name -> profile)."""


@dataclass(frozen=True)
class BackendProfile:
    """What the cross-package tests may expect of one backend."""

    name: str
    cross_process: bool = True
    serialized: bool = True
    backlog_factor: int = 1
    """How many `maxsize`-bounded buffers lie between a sender and a stalled receiver
    (sender outbox, broker or actor, receiver prefetch): each is bounded by `maxsize`."""
    slack: int = 0
    """Items the transport may hold beyond `backlog_factor * maxsize`."""
    loss_on_kill: int | None = 0
    """Items a SIGKILLed receiver process may lose beyond what it reported: 0 for none,
    an upper bound for backends that hand items to the process before acknowledging, None
    when unbounded (no such backend is accepted)."""
    recovery_environment: tuple[tuple[str, str], ...] = ()
    """Settings (environment variables, as a user would set them) under which a fault test
    sees the backend recover within its time: for example a shorter wait before a dead
    receiver's items go to the others. Empty: the defaults recover quickly enough."""
    service: str | None = None
    """The service the backend needs, if any (informative: whether it answers is the
    backend's required checks, see `unavailable_reason()`)."""
    load_error: str | None = None
    """Why the profile the backend declares could not be loaded (this is then the default)."""

    def backlog_bound(self, maxsize: int) -> int:
        """The most items a stalled consumer may have waiting for it."""
        return self.backlog_factor * maxsize + self.slack

    def connector_class(self) -> type[Connector]:
        """Returns the registered connector class."""
        return get_backend(self.name)


ASYNCIO_PROFILE = BackendProfile("asyncio", cross_process=False, serialized=False)
"""The profile of core's in-process backend (entry point `asyncio` of `connector.profiles`)."""


def _load_profile(name: str, ep: EntryPoint | None) -> BackendProfile:
    if ep is None:
        return BackendProfile(name)
    try:
        profile = ep.load()
    except Exception as exc:
        return BackendProfile(name, load_error=f"its profile {ep.value} does not load: {exc}")
    if not isinstance(profile, BackendProfile) or profile.name != name:
        problem = f"is {profile!r}, not a BackendProfile named {name!r}"
        return BackendProfile(name, load_error=f"its profile {ep.value} {problem}")
    return profile


def installed_profiles() -> dict[str, BackendProfile]:
    """Returns the profile of every installed backend, by name."""
    declared = {ep.name: ep for ep in entry_points(group=PROFILE_GROUP)}
    return {name: _load_profile(name, declared.get(name)) for name in available_backends()}


def unavailable_reason(profile: BackendProfile) -> str | None:
    """Returns why the backend cannot run here, or None.

    The backend cannot run when its class or its profile does not load, or when a check it
    declares as required (`connector.probes` entry points: a service that must answer)
    fails; the reason is that check's advice.
    """
    try:
        profile.connector_class()
    except Exception as exc:
        return f"backend {profile.name!r} does not load: {exc}"
    if profile.load_error is not None:
        return f"backend {profile.name!r}: {profile.load_error}"
    return blocking_problem(profile.name, timeout=2.0)
