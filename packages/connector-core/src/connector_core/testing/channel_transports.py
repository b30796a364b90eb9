"""White-box access to the transport under a backend's channel, for the backend's own tests.

A channel made by `connect_recv()` or `connect_send()` of a transport backend (a
`TransportChannel`) holds its receive or send transport; a backend's tests reach it to check
what only the transport knows (its broker objects, what it buffers, its membership):

    assert transport_of(receiver, RedisReceiver).buffered() == 4
"""

from __future__ import annotations

from typing import TypeVar

from connector_core.channel import Channel

__all__ = ["transport_of"]

T = TypeVar("T")


def transport_of(channel: Channel, kind: type[T]) -> T:
    """Returns the transport of `channel` that is a `kind`, asserting that there is one.

    Args:
        channel: A channel made by `connect_recv()` (its receive transport is looked at) or
            `connect_send()` (its send transport).
        kind: The backend's receive or send transport class.
    """
    transports = (getattr(channel, "_rx", None), getattr(channel, "_tx", None))
    found = [transport for transport in transports if isinstance(transport, kind)]
    assert found, f"{channel!r} has no {kind.__name__} transport"
    return found[0]
