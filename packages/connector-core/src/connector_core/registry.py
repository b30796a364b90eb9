"""The backend registry: connector classes by name, from the `connector.backends` entry points.

Every backend distribution registers its connector class under a short name (core's
in-process backend is `asyncio`; each installed backend adds its own), so code and
configuration can name a backend instead of a class path. A `module:Class` or
`module.Class` path works too.
"""

from __future__ import annotations

import importlib
from importlib.metadata import EntryPoint, entry_points

from connector_core.connector import Connector
from connector_core.exceptions import BackendNotFoundError

__all__ = ["ENTRY_POINT_GROUP", "available_backends", "get_backend"]

ENTRY_POINT_GROUP = "connector.backends"
"""The entry-point group backends register under (name -> Connector class)."""


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
