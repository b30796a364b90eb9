"""The process's ZeroMQ context, provided to connectors by `connector_core.DI.zmq_context`.

One `zmq.asyncio.Context` per process serves every channel of every ZMQ connector there.
`DI.zmq_context` builds it lazily from this generator function and `DI.shutdown_resources()`
ends it. It is also ended when the interpreter exits, after giving closed sockets up to
`LINGER_MS` to flush what they still hold (a sender's last items and its END), so a process
that closes its channels and returns loses nothing.
"""

from __future__ import annotations

import atexit
from collections.abc import Iterator

import zmq.asyncio

from connector_core.settings import Settings
from connector_zmq.protocol import LINGER_MS

__all__ = ["zmq_context"]


def _end(context: zmq.asyncio.Context) -> None:
    if not context.closed:
        context.destroy(linger=LINGER_MS)


def zmq_context(settings: Settings) -> Iterator[zmq.asyncio.Context]:
    """Yields a fresh `zmq.asyncio.Context` and ends it afterwards.

    Args:
        settings: The settings (accepted for the DI provider; the context needs none).

    Yields:
        The context; sockets still open when it ends are closed with a short linger.
    """
    del settings
    context = zmq.asyncio.Context()
    atexit.register(_end, context)
    try:
        yield context
    finally:
        atexit.unregister(_end)
        _end(context)
