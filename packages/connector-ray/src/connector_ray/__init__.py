"""connector-ray: connector channels across a Ray cluster.

`RayConnector` (backend name `ray`) keeps each connection's state in one named Ray actor and
batches messages to it; `RayChannel` is one end. Large items (1 MiB and more, by default)
cross Ray's object store beside that actor, which queues only a small entry for each (see
`connector_ray.large`). See `connector_ray.channel` for the topology and
`connector_ray.connector` for how copies of a connector find each other.

The public names are imported on first use: a hub actor's worker process imports only
`connector_ray.hub` and the modules it needs, which keeps actor start-up short.
"""

from __future__ import annotations

import importlib
import importlib.metadata
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from connector_ray.channel import RayChannel
    from connector_ray.connector import RayConnector
    from connector_ray.options import DEFAULT_ACTOR_OPTIONS, DEFAULT_BATCH_SIZE
    from connector_ray.runtime import NAMESPACE, purge

__version__ = importlib.metadata.version("connector-ray")

__all__ = [
    "DEFAULT_ACTOR_OPTIONS",
    "DEFAULT_BATCH_SIZE",
    "NAMESPACE",
    "RayChannel",
    "RayConnector",
    "purge",
]

_WHERE = {
    "DEFAULT_ACTOR_OPTIONS": "connector_ray.options",
    "DEFAULT_BATCH_SIZE": "connector_ray.options",
    "RayChannel": "connector_ray.channel",
    "RayConnector": "connector_ray.connector",
    "NAMESPACE": "connector_ray.runtime",
    "purge": "connector_ray.runtime",
}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'connector_ray' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
