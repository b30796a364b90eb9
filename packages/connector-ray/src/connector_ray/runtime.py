"""Ray plumbing: starting or joining Ray, finding a connection's hub actor, Ray errors.

Hub actors are *named* and live in the Ray namespace `connector`, so any process attached to
the cluster (the driver, a Ray task or actor, a plain process that called `ray.init(address=
...)`) finds the same actor by name: `connector:<job id>:<connector id>`. They are created lazily
by the first `connect_*()` (`get_if_exists=True`, so concurrent first connects agree on one
actor) and are *detached*: the process that happened to create one may exit while others go
on using it. When the connection is over (see `connector_ray.hub`), the hub ends itself;
after a crash, `purge(job_id)` kills what a run left behind.

How a hub ends: once it has told a member `release`, it writes the connection's *tombstone*
(its name) to Ray's internal key-value store (in the GCS, namespace `connector`), then asks
itself to exit (`__ray_terminate__`). Ray runs that after the calls in progress and sends
their replies first. No member kills it with `ray.kill`: Ray fails every call still waiting
for its reply the moment a killed actor is marked dead, so another member's `END`, already
answered and on its way, would reach it as a dead hub. The member told `release` writes the
tombstone too, so its own process sees the end at once. The tombstone makes a late
`connect_send()` raise `ChannelClosedError` instead of silently starting a new connection
under the same name whose messages nobody would receive. A tombstone is a few dozen bytes;
`purge(job_id)` deletes a job's tombstones too.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Awaitable, Mapping
from typing import Any, Final

import ray
from ray.exceptions import RayActorError, RayError
from ray.experimental import internal_kv

from connector_core.exceptions import ChannelError, ChannelSetupError
from connector_core.spec import check_job_id
from connector_ray.hub import ChannelHub
from connector_ray.hub_protocol import Reply
from connector_ray.options import RESERVED_ACTOR_OPTIONS, launch_options

__all__ = [
    "NAMESPACE",
    "RESERVED_ACTOR_OPTIONS",
    "actor_name",
    "call",
    "cluster_address",
    "ensure_ray",
    "has_ended",
    "hub_actor",
    "kill",
    "lost_state",
    "own_actor_options",
    "purge",
    "record_end",
]

_log = logging.getLogger("connector_ray")

NAMESPACE: Final = "connector"
"""The Ray namespace of every hub actor."""

_JOB_HUB: Final = "connector:"
"""How the name of every job's hub starts (a standalone channel's private hub's does not)."""


class _SelfEndingHub(ChannelHub):
    """The hub as a Ray actor: once it has released its connection, it ends itself."""

    def _maybe_release(self) -> bool:
        if not super()._maybe_release():
            return False
        asyncio.get_running_loop().call_soon(_end_this_hub)  # after the release reply
        return True


def _end_this_hub() -> None:
    """Writes this hub's tombstone (a job's hub), then asks Ray to end it after its calls."""
    context = ray.get_runtime_context()
    name = context.get_actor_name()
    if name and name.startswith(_JOB_HUB):
        record_end(name)
    context.current_actor.__ray_terminate__.remote()


_HubActor: Any = ray.remote(_SelfEndingHub)
_init_lock = threading.Lock()


def actor_name(job_id: str, connector_id: str) -> str:
    """Returns the hub actor's name for one connection of one job.

    `:` separates the parts: it occurs in neither a job id nor a connector id, so the names
    of one job never start with another job's prefix (`nightly` is not `nightly-2`).
    """
    return f"{_job_prefix(job_id)}{connector_id}"


def _job_prefix(job_id: str) -> str:
    return f"{_JOB_HUB}{job_id}:"


def ensure_ray(address: str | None) -> None:
    """Initialises Ray in this process if it is not, logging one line when it does.

    Args:
        address: The cluster to join (as for `ray.init(address=...)`); `None` joins the
            cluster named by `RAY_ADDRESS` or starts a local one.

    Raises:
        ChannelSetupError: If Ray cannot start or reach the cluster.
    """
    if ray.is_initialized():
        return
    with _init_lock:
        if ray.is_initialized():
            return
        where = f"joining the Ray cluster at {address}" if address else "ray.init() with defaults"
        _log.info("connector_ray: Ray is not initialised in this process; %s", where)
        try:
            ray.init(address=address)
        except Exception as exc:
            raise ChannelSetupError(
                f"cannot initialise Ray ({where}): {exc}. Start a cluster with `ray start "
                "--head`, set CONNECTOR_RAY_ADDRESS, or call ray.init() before connecting."
            ) from exc


def cluster_address() -> str | None:
    """Returns this process's Ray cluster address (GCS), or None if Ray is not running."""
    if not ray.is_initialized():
        return None
    address: str | None = ray.get_runtime_context().gcs_address
    return address


async def call(what: str, ref: Awaitable[Reply]) -> Reply:
    """Awaits one hub call, translating Ray failures.

    Raises:
        ChannelError: If the hub actor died or the call failed inside Ray.
    """
    try:
        return await ref
    except RayActorError as exc:
        raise ChannelError(
            f"the channel's Ray actor is gone ({what}): {exc.__class__.__name__}; this "
            "connection cannot deliver any more messages"
        ) from exc
    except RayError as exc:
        raise ChannelError(f"Ray failed during {what}: {exc}") from exc


def own_actor_options(options: Mapping[str, Any]) -> dict[str, Any]:
    """Returns Ray options for an actor of this library, whatever launched this process.

    Args:
        options: The actor's options before that.

    Returns:
        `connector_ray.options.launch_options` for this process's runtime environment and
        node: under Ray's `uv run` integration the actor runs on this interpreter.
    """
    context = ray.get_runtime_context()
    return launch_options(options, context.runtime_env, context.get_node_id())


def hub_actor(
    name: str,
    pubsub: bool,
    maxsize: int,
    options: Mapping[str, Any],
    verifier: bytes | None,
) -> Any:
    """Returns the handle of the named hub actor, creating it if it does not exist.

    A new hub registers only callers whose proof matches `verifier` (`hub_verifier`).

    The hub starts the same way however this process was launched: under Ray's `uv run`
    integration it runs on this interpreter (see `connector_ray.options.launch_options`).

    Raises:
        ChannelSetupError: If Ray refuses the actor options or cannot create the actor.
    """
    launch = own_actor_options(options)
    try:
        return _HubActor.options(
            name=name,
            namespace=NAMESPACE,
            lifetime="detached",
            get_if_exists=True,
            **launch,
        ).remote(pubsub, maxsize, verifier)
    except (TypeError, ValueError) as exc:
        raise ChannelSetupError(f"Ray refused the actor options {dict(options)!r}: {exc}") from exc
    except RayError as exc:
        raise ChannelSetupError(f"cannot create the hub actor {name!r}: {exc}") from exc


def lost_state(reply: Reply) -> ChannelError:
    """The error of a channel whose hub answered that it does not know the channel."""
    return ChannelError(
        f"the hub actor answered {reply.status!r}: it lost this channel's registration "
        "(was it restarted?); the connection's state is gone, build a new connector"
    )


def kill(handle: Any) -> None:
    """Kills a hub actor (idempotent; a dead actor is fine)."""
    try:
        ray.kill(handle, no_restart=True)
    except (RayError, ValueError) as exc:  # pragma: no cover - already gone
        _log.debug("connector_ray: killing a hub actor failed: %s", exc)


def record_end(name: str) -> None:
    """Writes the tombstone of the connection whose hub has this name (see the docstring)."""
    try:
        internal_kv._internal_kv_put(name, b"ended", overwrite=True, namespace=NAMESPACE)
    except Exception as exc:  # pragma: no cover - GCS unreachable: the hub still ends
        _log.debug("connector_ray: cannot record the end of %s: %s", name, exc)


def has_ended(name: str) -> bool:
    """True if the connection whose hub had this name has ended (its tombstone exists)."""
    try:
        return bool(internal_kv._internal_kv_exists(name, namespace=NAMESPACE))
    except Exception as exc:  # pragma: no cover - GCS unreachable: connecting will say so
        _log.debug("connector_ray: cannot look up the tombstone of %s: %s", name, exc)
        return False


def purge(job_id: str) -> list[str]:
    """Kills every hub actor of a job and deletes its tombstones (after a crashed run).

    Args:
        job_id: The job id the run's connectors used (`RayConnector.job_id`).

    Returns:
        The names of the actors killed.

    Raises:
        ValueError: If `job_id` is empty or not 1-64 letters, digits, `_` or `-`.
        ChannelSetupError: If Ray is not initialised.
    """
    if not job_id:
        raise ValueError("purge needs the job id of the run to clean up")
    check_job_id(job_id)
    if not ray.is_initialized():
        raise ChannelSetupError("purge needs Ray: call ray.init(address=...) first")
    prefix = _job_prefix(job_id)
    killed: list[str] = []
    for entry in ray.util.list_named_actors(all_namespaces=True):
        if entry["namespace"] == NAMESPACE and entry["name"].startswith(prefix):
            try:
                handle = ray.get_actor(entry["name"], namespace=NAMESPACE)
            except ValueError:
                continue
            kill(handle)
            killed.append(entry["name"])
    internal_kv._internal_kv_del(prefix, del_by_prefix=True, namespace=NAMESPACE)
    return killed
