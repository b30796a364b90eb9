"""`RayConnector`: connections across a Ray cluster (registered as backend `ray`).

A connector is a small picklable description: spec, `maxsize`, batch size, hub actor options,
the signing codec (key included), the job id, the Ray cluster's address and the size from which
frames go through Ray's object store (`large_frame_bytes`, see `connector_ray.large`). Building
one does no I/O. `connect_send()` / `connect_recv()` initialise Ray if needed (one log line),
create or find the connection's hub actor by name (`connector-<job id>-<spec id>` in Ray
namespace `connector`, see `connector_ray.runtime`) and register one sender or receiver with
it. A copy of the connector, passed to a Ray task or actor or pickled to a plain process (which
joins the cluster at the carried address), therefore finds the same actor and joins the same
connection.

Pickling carries a concrete address: if the connector was given none and Ray is not running
in this process yet, pickling initialises Ray first (the same one log line). Without that,
each unpickled copy would start a private local Ray instance of its own (`ray.init()` finds
only clusters started by `ray start`), and the copies would never meet.

Restarts: hub actors are created with `max_restarts=0` unless `actor_options` says
otherwise. A restarted hub keeps its name, so new `connect_*()` calls reach it, but it starts
empty: buffered messages, the sender/receiver registrations and pubsub subscriptions are
lost. Existing channels detect that (the hub no longer knows their id) and raise
`ChannelError` rather than silently missing messages or never seeing the end of the stream.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from dependency_injector.wiring import Provide, inject

from connector_core.channel import CHAN_MAXSIZE
from connector_core.connector import Connector
from connector_core.di import DI, new_job_id, wire
from connector_core.exceptions import ChannelClosedError, ChannelError, ChannelSetupError
from connector_core.serde import Serializer
from connector_core.settings import Settings
from connector_core.spec import ConnectorMode, check_job_id
from connector_ray import di, runtime  # noqa: F401  (di registers DI.ray_settings)
from connector_ray.channel import RayChannel
from connector_ray.hub_protocol import Reply, Role, Status, hub_proof, hub_verifier
from connector_ray.large import LargeFrames
from connector_ray.link import HubLink
from connector_ray.options import DEFAULT_BATCH_SIZE, actor_options_for, batch_limit
from connector_ray.receiver import RayReceiver
from connector_ray.sender import RaySender
from connector_ray.settings import RaySettings

__all__ = ["RayConnector"]

_CONNECT_ATTEMPTS = 3


class RayConnector(Connector):
    """RayConnector connects components using RayChannel."""

    @inject
    def __init__(
        self,
        *args: Any,
        maxsize: int = CHAN_MAXSIZE,
        actor_options: Mapping[str, Any] | None = None,
        batch_size: int = DEFAULT_BATCH_SIZE,
        address: str | None = None,
        job_id: str | None = None,
        serializer: Serializer | str | None = None,
        settings: Settings = Provide[DI.settings],
        ray_settings: RaySettings = Provide[DI.ray_settings],
        **kwargs: Any,
    ) -> None:
        """Creates the connector; does no I/O and needs no running event loop.

        Args:
            *args: The spec, then anything `Connector` accepts.
            maxsize: Optional; items the hub buffers (per subscriber in pubsub) before
                senders wait (`<= 0`: unbounded).
            actor_options: Optional; Ray options for the hub actor, updating the default
                `{"num_cpus": 0}` (e.g. `{"resources": {...}}` to place it).
            batch_size: Optional; most items per actor call, and per frame of
                `send_many()` (capped by `maxsize`).
            address: Optional; the Ray cluster to join if Ray is not initialised (default:
                the `CONNECTOR_RAY_ADDRESS` setting, then Ray's own defaults).
            job_id: Optional; names the hub actor so runs never mix (default: the
                `CONNECTOR_JOB_ID` setting, else a fresh id per connector).
            serializer: Optional; a serializer object or name overriding the setting.
            settings: Optional; the settings to use (default: injected by `DI`).
            ray_settings: Optional; connector-ray's own settings (`address`,
                `large_frame_bytes`), from `DI.ray_settings` by default.
            **kwargs: Passed to `Connector`.

        Raises:
            TypeError: If the spec, `maxsize` or `actor_options` has the wrong type.
            ValueError: If `actor_options` names the actor, `batch_size` is not >= 1, or
                `job_id` is not 1-64 letters, digits, `_` or `-`.
        """
        super().__init__(*args, maxsize=maxsize, **kwargs)
        self._batch = batch_limit(batch_size, self.maxsize)  # most items per actor call
        self.actor_options = actor_options_for(actor_options)
        self.batch_size = batch_size
        self.job_id = check_job_id(job_id or settings.job_id or new_job_id())
        self.codec = settings.make_codec(serializer).bound(f"ray:{self.job_id}:{self.spec.id}")
        self._address = address or ray_settings.address
        self.large_frame_bytes = ray_settings.large_frame_bytes

    @property
    def actor_name(self) -> str:
        """The name of this connection's hub actor (in Ray namespace `connector`)."""
        return runtime.actor_name(self.job_id, self.id)

    @property
    def address(self) -> str | None:
        """The Ray cluster this connector joins when Ray is not initialised, if known."""
        return self._address or runtime.cluster_address()

    async def connect_send(self) -> RayChannel:
        """Returns a RayChannel for sending messages.

        Raises:
            ChannelClosedError: If every sender of this connection has already closed.
            ChannelSetupError: If Ray or the hub actor cannot be reached, or the hub refused
                this connector's proof of its key.
        """
        return await self._connect(Role.SEND)

    async def connect_recv(self) -> RayChannel:
        """Returns a RayChannel for receiving messages, registered at the hub on return.

        A receiver of a connection that has already ended gets a channel whose `recv()`
        raises `ChannelClosedError`.

        Raises:
            ChannelSetupError: If Ray or the hub actor cannot be reached, or the hub refused
                this connector's proof of its key.
        """
        return await self._connect(Role.RECV)

    async def _connect(self, role: str) -> RayChannel:
        runtime.ensure_ray(self._address)
        pubsub = self.spec.mode is ConnectorMode.PUBSUB
        name = self.actor_name
        proof = hub_proof(self.codec)
        last: Exception | None = None
        for _ in range(_CONNECT_ATTEMPTS):
            if runtime.has_ended(name):
                return self._ended(role)
            handle = runtime.hub_actor(
                name, pubsub, self.maxsize, self.actor_options, hub_verifier(proof)
            )
            try:
                reply = await runtime.call("connect", handle.register.remote(role, proof))
            except ChannelError as exc:  # the actor died between lookup and call: retry
                last = exc
                continue
            if reply.status == Status.DENIED:
                raise ChannelSetupError(
                    f"the hub actor {name!r} refused this connector's proof of its key: a "
                    "connector with another key (or signing switched off) created it under "
                    "the same job id and spec. Pass this connector itself to the other "
                    "processes, or set the same CONNECTOR_SHARED_SECRET in every one."
                )
            if reply.status in (Status.RELEASED, Status.ENDED):
                return self._ended(role)
            if reply.status != Status.OK:  # pragma: no cover - the hub answers nothing else
                raise ChannelSetupError(f"the hub actor refused to register: {reply.status}")
            return self._channel(handle, role, reply)
        raise ChannelSetupError(
            f"cannot reach the hub actor {self.actor_name!r} after {_CONNECT_ATTEMPTS} "
            f"attempts: {last}"
        )

    def _channel(self, handle: Any, role: str, reply: Reply | None) -> RayChannel:
        """The channel of a registered member (`reply`), or of a connection that had ended."""
        link = HubLink(handle, self.actor_name, role, reply)
        pubsub = self.spec.mode is ConnectorMode.PUBSUB
        end: dict[str, Any] = (
            {"sender": RaySender(link, self._batch, self.maxsize, self._large())}
            if role == Role.SEND
            else {"receiver": RayReceiver(link, self.codec, self._batch, pubsub=pubsub)}
        )
        loop = asyncio.get_running_loop()
        return RayChannel(maxsize=self.maxsize, codec=self.codec, loop=loop, **end)

    def _large(self) -> LargeFrames:
        return LargeFrames(self.codec, self.large_frame_bytes)

    def _ended(self, role: str) -> RayChannel:
        """A sender may not join an ended connection; a receiver gets an ended channel."""
        if role == Role.SEND:
            raise ChannelClosedError(
                f"every sender of {self.id!r} has already closed: the connection has ended; "
                "build a new connector (or use a new job id) to start another"
            )
        return self._channel(None, role, None)

    def __getstate__(self) -> dict[str, Any]:
        """Pickles the connector with a concrete cluster address.

        A copy unpickled in a plain process joins the cluster at the address it carries. If
        this process knows no address yet (Ray not initialised, no `address`), Ray is
        initialised here first: otherwise every copy would start a private local Ray of its
        own (Ray finds only clusters started by `ray start`), and the copies would never meet.

        Raises:
            ChannelSetupError: If Ray cannot start or reach the cluster.
        """
        state = dict(self.__dict__)
        address = self.address
        if address is None:
            runtime.ensure_ray(None)
            address = runtime.cluster_address()
        state["_address"] = address
        return state

    def __repr__(self) -> str:
        return f"RayConnector({self.id!r}, mode={self.spec.mode.value!r}, job_id={self.job_id!r})"


wire(__name__)
