"""The in-process shortcut: a sender reaches a receiver of its own process over ``inproc://``.

Every receiver binds its ROUTER socket to a TCP port: that is the address the rendezvous
advertises and senders in other processes connect to. It also binds the same socket to an
``inproc://`` endpoint of its ZeroMQ context and records it here under the TCP address
(`offer`). A sender told about a receiver asks `route` where to connect: to a receiver of
its own process and context it connects over inproc, where ZeroMQ hands each message over
by reference, with no copy through the kernel's TCP buffers and no work for ZeroMQ's I/O
thread. Nothing else differs between the two paths: the signed HELLO, the verification of
every frame, credits, END and END_SEEN are the same messages on the same sockets.

**Trust.** Only code running in this process can reach an inproc endpoint, so nothing from
outside the process arrives by it. ZeroMQ runs no handshake over inproc (no PLAIN
credentials, no ZAP), and none is needed: the receiver still verifies the HELLO and every
frame with the connection's key before it keeps anything.

**Lifetime.** A record holds the receiver's socket weakly: `route` ignores a record whose
socket is closed or collected, the receiver `withdraw`s its record before it closes the
socket, and the records of collected sockets go at the next `offer`. A record names its
process: a forked child, which inherits the records, routes to none of its parent's
receivers. Each endpoint name is new (a random token), so a later receiver never meets an
endpoint ZeroMQ has not finished unbinding.

`ZMQSettings.in_process` = False (``CONNECTOR_ZMQ_IN_PROCESS=false``) makes senders connect
over TCP even inside one process (the tests use it to run the TCP path in one process).
"""

from __future__ import annotations

import os
import secrets
import threading
import weakref
from typing import Any

import zmq

__all__ = ["offer", "route", "withdraw"]

_Key = tuple[int, int, str]  # (process id, the context's libzmq address, TCP address)

_lock = threading.Lock()
_endpoints: dict[_Key, tuple[str, weakref.ref[zmq.Socket[Any]]]] = {}


def _key(context: zmq.Context[Any], tcp_address: str) -> _Key:
    # `underlying` is the same for an asyncio context and a shadow of it; the process id
    # keeps a forked child from taking its parent's records (copied with the module) for its own
    return (os.getpid(), context.underlying, tcp_address)


def offer(context: zmq.Context[Any], sock: zmq.Socket[Any], tcp_address: str) -> str:
    """Binds `sock` to a new inproc endpoint too and records it under `tcp_address`.

    Returns:
        The inproc endpoint.
    """
    endpoint = f"inproc://connector-zmq-{secrets.token_hex(8)}"
    sock.bind(endpoint)
    with _lock:
        # records of sockets collected meanwhile go now (not from a weakref callback, which
        # the garbage collector may run while this very lock is held)
        for gone in [key for key, (_, ref) in _endpoints.items() if ref() is None]:
            del _endpoints[gone]
        _endpoints[_key(context, tcp_address)] = (endpoint, weakref.ref(sock))
    return endpoint


def withdraw(context: zmq.Context[Any], tcp_address: str) -> None:
    """Forgets the record of `tcp_address` (its receiver is closing)."""
    with _lock:
        _endpoints.pop(_key(context, tcp_address), None)


def route(context: zmq.Context[Any], address: str) -> str:
    """Where a sender of `context` connects to reach the receiver advertised at `address`.

    Returns:
        The receiver's inproc endpoint if it lives in this process and context and its
        socket is open; else `address` itself.
    """
    with _lock:
        found = _endpoints.get(_key(context, address))
    if found is None:
        return address
    endpoint, ref = found
    sock = ref()
    return address if sock is None or sock.closed else endpoint
