"""`RayChannel`: one sender or receiver of a connection whose state lives in a Ray actor.

Every connection has one hub actor (`connector_ray.hub`), found by name from anywhere in the
cluster. A channel is core's `TransportChannel` (codec, counters, closed flag, event loop,
close) over this backend's transports, which batch their traffic to the hub (an actor call
costs about a millisecond): `connector_ray.sender` and `connector_ray.receiver`, sharing a
`connector_ray.link.HubLink`. Frames of `large_frame_bytes` and more cross Ray's object store
and the hub queues only an entry for each (`connector_ray.large`). The package README ("How
it works") tells the whole story.

Loops: a channel belongs to the event loop it was connected in (a standalone channel: the loop
of its first use), where its tasks live; awaited from another loop it raises `ChannelError`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from connector_core.channel import CHAN_MAXSIZE
from connector_core.codec import Codec
from connector_core.transport_channel import TransportChannel
from connector_ray.large import LargeFrames
from connector_ray.link import HubLink
from connector_ray.options import DEFAULT_BATCH_SIZE, actor_options_for, batch_limit
from connector_ray.receiver import RayReceiver
from connector_ray.sender import RaySender

__all__ = ["RayChannel"]


class RayChannel(TransportChannel):
    """RayChannel enables async data exchange between coroutines on a Ray cluster.

    Channels are normally made by `RayConnector.connect_send()` / `connect_recv()`. A channel
    made directly, `RayChannel(actor_options=None, maxsize=...)`, is a standalone pipeline
    that is both its own sender and receiver, on a private hub actor created at first use;
    after `close()` it still returns what it holds, then `recv()` raises
    `ChannelClosedError`, and its actor is killed.

    Frames of 1 MiB and more (a standalone channel's; a connector's follow its
    `large_frame_bytes`) go through Ray's object store (`connector_ray.large`).

    `statistics().buffered` counts the items in this channel's outbox and inbox;
    `senders`/`receivers` are the hub's counts as of this channel's last call.
    """

    def __init__(
        self,
        actor_options: Mapping[str, Any] | None = None,
        *,
        maxsize: int = CHAN_MAXSIZE,
        codec: Codec | None = None,
        batch_size: int = DEFAULT_BATCH_SIZE,
        **kwargs: Any,
    ) -> None:
        """Instantiates a standalone RayChannel (its own sender and receiver).

        Args:
            actor_options: Optional; Options to pass to the Ray actor. Defaults to
                `{"num_cpus": 0}`; yours update those defaults.
            maxsize: Optional; items the hub buffers before `send()` waits (`<= 0`:
                unbounded).
            codec: Optional; how items become signed frames (default: pickle, fresh key).
            batch_size: Optional; most items per actor call, and per frame of
                `send_many()`.
            **kwargs: Additional keyword arguments to pass to the underlying Channel (the
                connector passes its transports as `sender=`/`receiver=` and `loop=`).

        Raises:
            TypeError: If `actor_options` is not a dict or `maxsize` not an int.
            ValueError: If `actor_options` names the actor or `batch_size` is not >= 1.
        """
        if "sender" not in kwargs and "receiver" not in kwargs:
            options = actor_options_for(actor_options)
            codec = codec if codec is not None else Codec.generate()
            bound = maxsize if isinstance(maxsize, int) else 0  # Channel rejects the rest
            batch = batch_limit(batch_size, bound)
            link = HubLink.standalone(bound, options)
            kwargs["sender"] = RaySender(link, batch, bound, LargeFrames(codec))
            kwargs["receiver"] = RayReceiver(link, codec, batch, pubsub=False)
            kwargs["recv_after_close"] = True
        super().__init__(maxsize=maxsize, codec=codec, **kwargs)
