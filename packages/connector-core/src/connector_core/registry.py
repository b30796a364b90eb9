"""The backend registry: connector classes by name, from the `connector.backends` entry points.

Every backend distribution registers its connector class under a short name (core's
in-process backend is `asyncio`; each installed backend adds its own), so code and
configuration can name a backend instead of a class path. A `module:Class` or
`module.Class` path works too.

Next to its class, a backend declares its `BackendTraits` under `connector.traits`: its rank
among the installed backends, whether it crosses processes and the service it needs. Tools
choose among backends from them (`connector bench`'s order, `connector demo`'s default)
without naming any backend and without loading the backends' classes.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib.metadata import EntryPoint, entry_points

from connector_core.connector import Connector
from connector_core.exceptions import BackendNotFoundError

__all__ = [
    "ASYNCIO_TRAITS",
    "ENTRY_POINT_GROUP",
    "TRAITS_GROUP",
    "BackendTraits",
    "available_backends",
    "by_rank",
    "declared_traits",
    "get_backend",
]

ENTRY_POINT_GROUP = "connector.backends"
"""The entry-point group backends register under (name -> Connector class)."""

TRAITS_GROUP = "connector.traits"
"""The entry-point group under which backends declare their traits (name -> `BackendTraits`)."""


@dataclass(frozen=True)
class BackendTraits:
    """What a backend declares about itself, so that tools can choose among the installed ones.

    Declared under the entry-point group `connector.traits` (backend name -> an instance),
    next to the backend's `connector.backends` entry.
    """

    rank: int
    """Where the backend comes among the installed ones, lowest first: the order of
    `connector bench`'s table, and `connector demo`'s preference among the backends it may
    run by default. Core's `asyncio` is 0; backends with the same rank come by name."""
    cross_process: bool = True
    """Its connectors can be pickled to other processes, whose copies join the connection."""
    service: str | None = None
    """The service the backend cannot connect without (a broker, a server), such as
    `"RabbitMQ broker"`; None when it needs none."""


ASYNCIO_TRAITS = BackendTraits(rank=0, cross_process=False)
"""The traits of core's in-process backend (entry point `asyncio` of `connector.traits`)."""


def available_backends() -> dict[str, EntryPoint]:
    """Returns the installed backends' entry points by name, sorted by name."""
    found = {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}
    return dict(sorted(found.items()))


def get_backend(name: str) -> type[Connector]:
    """Returns the connector class registered as `name`, or at a `module:Class` path.

    Args:
        name: A backend name such as `"asyncio"`, or a class path.

    Returns:
        The connector class.

    Raises:
        BackendNotFoundError: If no installed backend has that name; the message lists the
            installed ones.
        TypeError: If the name resolves to something that is not a `Connector` subclass.
    """
    backends = available_backends()
    if name in backends:
        target = backends[name].load()
    elif ":" in name or "." in name:
        module_name, _, attr = name.replace(":", ".").rpartition(".")
        try:
            target = getattr(importlib.import_module(module_name), attr)
        except (ImportError, AttributeError) as exc:
            raise BackendNotFoundError(f"cannot import connector class {name!r}: {exc}") from exc
    else:
        installed = ", ".join(backends) or "none"
        raise BackendNotFoundError(
            f"no connector backend named {name!r}; installed backends: {installed}. "
            f"Install another with, for example, pip install connector-{name}"
        )
    if not (isinstance(target, type) and issubclass(target, Connector)):
        raise TypeError(f"{name!r} resolves to {target!r}, which is not a Connector subclass")
    return target


def declared_traits() -> dict[str, BackendTraits]:
    """Returns the traits the installed backends declare, by backend name, sorted by name.

    A declaration that does not load, or is not a `BackendTraits`, is left out: that backend
    counts as one that declares nothing.
    """
    found: dict[str, BackendTraits] = {}
    for ep in entry_points(group=TRAITS_GROUP):
        try:
            traits = ep.load()
        except Exception:  # a broken backend must not break the tools that list the others
            continue
        if isinstance(traits, BackendTraits):
            found[ep.name] = traits
    return dict(sorted(found.items()))


def by_rank(names: Iterable[str], traits: Mapping[str, BackendTraits]) -> list[str]:
    """Returns `names`, each once, by declared rank, lowest first.

    Names of the same rank come by name; names without traits come last, by name.

    Args:
        names: Backend names.
        traits: The declared traits by backend name (`declared_traits()`).
    """

    def key(name: str) -> tuple[bool, int, str]:
        declared = traits.get(name)
        return (declared is None, 0 if declared is None else declared.rank, name)

    return sorted(set(names), key=key)
