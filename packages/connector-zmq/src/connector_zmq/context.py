"""The process's ZeroMQ context, provided to connectors by `DI.zmq_context` (`connector_zmq.di`).

One `zmq.asyncio.Context` per process serves every channel of every ZMQ connector there.
`DI.zmq_context` builds it lazily from this generator function and
`container.shutdown_resources()` ends it. It is also ended when the interpreter exits.

Ending it never blocks for long: every socket the channels made is tracked by the context
and closed with a linger of at most `LINGER_MS`, so a sender that closed its channel and
returns still gets its last items and its END out (they flush in that time), while sockets
nobody closed cannot hold the process: a channel that was never closed is closed here, and
what it had not yet put on the wire is lost (close your senders to deliver everything).
Should libzmq still be waiting after `LINGER_MS` plus `TERM_GRACE` (a socket made outside
this package and left open), the process exits anyway with a warning in the log.

Large parts are sent without a copy (`copy=False`): pyzmq's garbage collector holds each
until libzmq has sent it, and its exit handler drops them all. It is imported with this
module, so that its handler is registered first and runs last (handlers run in reverse):
the context's end, with the linger that flushes them, comes before. (Else a sender's last
large items could be read from freed memory while they flush.)
"""

from __future__ import annotations

import atexit
import threading
from collections.abc import Iterator

import zmq
import zmq.asyncio
import zmq.utils.garbage  # its exit handler must be registered before ours (above)

from connector_zmq.protocol import LINGER_MS, log

__all__ = ["TERM_GRACE", "zmq_context"]

TERM_GRACE = 1.0
"""Seconds the end of the context may take beyond `LINGER_MS` before it is abandoned."""


def _end(context: zmq.asyncio.Context) -> None:
    """Closes the context's sockets (bounded linger) and terminates it, never for ever."""
    if context.closed:
        return
    for sock in list(context._sockets):
        if not sock.closed:
            try:
                linger = sock.getsockopt(zmq.LINGER)
                if not 0 <= int(linger) <= LINGER_MS:
                    linger = LINGER_MS
                sock.close(linger=int(linger))
            except zmq.ZMQError:
                continue
    # term() waits for sockets the context does not track (made elsewhere and left open)
    # and for their linger: run it where it cannot hold the interpreter's exit
    thread = threading.Thread(target=_term, args=(context,), name="zmq-term", daemon=True)
    thread.start()
    thread.join(LINGER_MS / 1000 + TERM_GRACE)
    if thread.is_alive():
        log.warning(
            "the ZeroMQ context did not terminate within %.1f s (a socket made outside "
            "connector-zmq is still open?); going on without it",
            LINGER_MS / 1000 + TERM_GRACE,
        )


def _term(context: zmq.asyncio.Context) -> None:
    try:
        context.term()
    except zmq.ZMQError:
        log.warning("terminating the ZeroMQ context failed", exc_info=True)


def zmq_context() -> Iterator[zmq.asyncio.Context]:
    """Yields a fresh `zmq.asyncio.Context` and ends it afterwards.

    Yields:
        The context; sockets still open when it ends are closed with a linger of at most
        `LINGER_MS` (what they had not sent by then is lost).
    """
    context = zmq.asyncio.Context()
    atexit.register(_end, context)
    try:
        yield context
    finally:
        atexit.unregister(_end)
        _end(context)
