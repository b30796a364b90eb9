"""The hub actor's options: the defaults, what users may override, and its worker's Python.

A hub actor is the library's own machinery, so how it starts must not depend on how the user
launched Python. Ray 2.x has a `uv run` integration: when the driver (or any ancestor process)
was started by `uv run`, Ray gives the whole job a runtime environment whose `py_executable`
is `uv run ... python`, run in a copy of the working directory. Every new worker then runs
`uv run` there: seconds per worker under `uv run`, and a worker that never starts under
`uv run --no-sync` (the copy's fresh virtual environment has no Ray). The hub needs only this
package, which the interpreter running this process already has, so under that integration
`launch_options` starts the hub on `sys.executable`, preferably on this node (where that path
exists). A `runtime_env` in the user's `actor_options` that chooses the Python itself wins.
"""

from __future__ import annotations

import os
import shlex
import sys
from collections.abc import Mapping
from typing import Any, Final

__all__ = [
    "DEFAULT_ACTOR_OPTIONS",
    "DEFAULT_BATCH_SIZE",
    "RESERVED_ACTOR_OPTIONS",
    "actor_options_for",
    "batch_limit",
    "launch_options",
]

DEFAULT_ACTOR_OPTIONS: Final[Mapping[str, Any]] = {"num_cpus": 0}
"""Options of every hub actor unless the user overrides them."""

DEFAULT_BATCH_SIZE: Final = 4096
"""Most items per actor call, and per frame of `send_many()` (capped by a smaller `maxsize`)."""

RESERVED_ACTOR_OPTIONS: Final = frozenset({"name", "namespace", "get_if_exists", "lifetime"})
"""Actor options the connector sets itself and refuses from users."""

_PYTHON_CHOOSERS: Final = frozenset(
    {"py_executable", "pip", "uv", "conda", "container", "image_uri"}
)
"""Runtime-environment fields that decide which Python a worker runs."""


def actor_options_for(actor_options: Mapping[str, Any] | None) -> dict[str, Any]:
    """Returns the hub actor's options: `DEFAULT_ACTOR_OPTIONS` updated with the user's.

    Args:
        actor_options: The user's Ray actor options, or None.

    Raises:
        TypeError: If `actor_options` is not a mapping.
        ValueError: If it sets an option the connector controls (name, namespace, ...).
    """
    if actor_options is None:
        return dict(DEFAULT_ACTOR_OPTIONS)
    if not isinstance(actor_options, Mapping):
        raise TypeError(f"actor_options must be a dict of Ray actor options, got {actor_options!r}")
    reserved = sorted(RESERVED_ACTOR_OPTIONS & set(actor_options))
    if reserved:
        raise ValueError(
            f"actor_options may not set {reserved}: the connector names the hub actor itself "
            "(see RayConnector.actor_name); pass resources, scheduling or runtime options only"
        )
    return {**DEFAULT_ACTOR_OPTIONS, **actor_options}


def batch_limit(batch_size: int, maxsize: int) -> int:
    """Returns the most items per actor call: `batch_size`, capped by a positive `maxsize`.

    Raises:
        ValueError: If `batch_size` is not an int >= 1.
    """
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be an int >= 1, got {batch_size!r}")
    return min(batch_size, maxsize) if maxsize > 0 else batch_size


def is_uv_run(py_executable: object) -> bool:
    """True if a runtime environment's `py_executable` is a `uv run ...` command."""
    if not isinstance(py_executable, str):
        return False
    try:
        words = shlex.split(py_executable)
    except ValueError:
        return False
    return len(words) > 1 and os.path.basename(words[0]) in ("uv", "uv.exe") and words[1] == "run"


def launch_options(
    options: Mapping[str, Any], inherited: Mapping[str, Any], node_id: str | None
) -> dict[str, Any]:
    """Returns the options to create a hub actor with, independent of how Python was launched.

    Args:
        options: The hub actor's options (`actor_options_for`).
        inherited: The runtime environment of the creating process, which Ray merges into
            the actor's (`ray.get_runtime_context().runtime_env`).
        node_id: This process's Ray node, preferred for the hub when it runs on
            `sys.executable` (that path exists here); None to leave placement to Ray.

    Returns:
        `options` unchanged, unless the inherited environment runs workers through `uv run`
        and the user's own `runtime_env` does not choose the Python: then the hub runs on
        `sys.executable`, with a soft preference for this node unless the user set a
        `scheduling_strategy`.
    """
    result = dict(options)
    if not is_uv_run(inherited.get("py_executable")):
        return result
    own_env = dict(result.get("runtime_env") or {})
    if _PYTHON_CHOOSERS & set(own_env):
        return result
    result["runtime_env"] = {**own_env, "py_executable": sys.executable}
    if node_id is not None and "scheduling_strategy" not in result:
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        result["scheduling_strategy"] = NodeAffinitySchedulingStrategy(node_id, soft=True)
    return result
