"""The wire protocol of connector-zmq: frame layouts, message kinds and socket helpers.

Two kinds of link carry messages (see `connector_zmq` for the topology):

Data links, sender DEALER -> receiver ROUTER (the receiver sees `[sender_id, ...]`):

    [frame]                      one signed frame (two parts at the ROUTER: id + frame)
    [b"", BATCH, batch]          several frames (`connector_core.framing.pack_frames`)
    [b"", BUFFERS, frame, *bufs] one item whose large buffers follow its frame as parts, sent
                                 without copies (`connector_core.buffers`)
    [b"", HELLO, signed(sid)]    the sender joins; the receiver answers with credits
    [b"", END]                   the sender closed: nothing more follows on this link
    [b"", DETACH]                the sender stopped using this receiver (it left)

and back, receiver ROUTER -> sender DEALER:

    [b"", CREDIT, n]             the sender may send `n` more items to this receiver
    [b"", BYE]                   the receiver is closing: stop, answer with DETACH
    [b"", END_SEEN]              the receiver has read this sender's END (and everything
                                 before it): the sender may close its socket

A frame carries one item (`send()`) or several sealed together (`send_many()`, at most
`batch_items()`); credits count items, so a frame of `n` items spends `n` of them.

Control links, participant DEALER <-> rendezvous ROUTER: the `REG_*`, `*_LEFT`, `LEAVING`,
`RETURNED`, `DRAINED`, `FINAL`, ... kinds below, each a multipart message whose first part
is the kind.
"""

from __future__ import annotations

import errno
import json
import logging
import os
import secrets
import socket
import struct
from collections.abc import Callable
from typing import Any, Final

import zmq

from connector_core.codec import Codec, MessageRejectedError
from connector_core.exceptions import ChannelSerializationError, ChannelSetupError
from connector_core.payload import WithBuffers

__all__ = [
    "ACK",
    "BATCH",
    "BUFFERS",
    "BYE",
    "CRASHED",
    "CREDIT",
    "DETACH",
    "DRAINED",
    "END",
    "ENDED",
    "END_SEEN",
    "FINAL",
    "HELLO",
    "LEAVE_ACK",
    "LEAVING",
    "LINGER_MS",
    "MAX_BATCH_BYTES",
    "MAX_BATCH_ITEMS",
    "MAX_COUNT",
    "MAX_ITEM_BYTES",
    "MAX_MESSAGE_BYTES",
    "OK",
    "RCV_HWM",
    "RECEIVER_DONE",
    "RECEIVER_JOINED",
    "RECEIVER_LEFT",
    "REFUSED",
    "REG_RECEIVER",
    "REG_SENDER",
    "RETURNED",
    "SENDER_LEFT",
    "TURN_BYTES",
    "UNBOUNDED_WINDOW",
    "advertised_host",
    "authenticate",
    "batch_items",
    "bind_random",
    "configure",
    "credentials",
    "credit_batch",
    "dumps",
    "listen",
    "loads",
    "log",
    "new_id",
    "open_window",
    "pack_count",
    "process_token",
    "same_host_pid",
    "sent_size",
    "socket_error",
    "too_large",
    "unpack_count",
    "window",
]

# -- data links ---------------------------------------------------------------------------
BATCH: Final = b"D"
BUFFERS: Final = b"L"
HELLO: Final = b"H"
END: Final = b"E"
DETACH: Final = b"X"
CREDIT: Final = b"C"
BYE: Final = b"B"
END_SEEN: Final = b"S"

# -- control links: participant -> rendezvous ------------------------------------------------
REG_SENDER: Final = b"RS"
REG_RECEIVER: Final = b"RR"
SENDER_LEFT: Final = b"SL"
LEAVING: Final = b"RL"
RECEIVER_DONE: Final = b"RD"
DRAINED: Final = b"DR"

# -- control links: rendezvous -> participant ------------------------------------------------
OK: Final = b"OK"
REFUSED: Final = b"NO"
RECEIVER_JOINED: Final = b"RJ"
RECEIVER_LEFT: Final = b"RX"
ENDED: Final = b"EN"
RETURNED: Final = b"RF"
FINAL: Final = b"FN"
LEAVE_ACK: Final = b"LA"
ACK: Final = b"AK"

CRASHED: Final = b"2"
"""SENDER_LEFT flag: the sender's process died (no END will come)."""

LINGER_MS: Final = 2000
"""How long a closed socket may keep flushing queued messages (milliseconds)."""


def window(maxsize: int, pubsub: bool) -> int:
    """Credits a receiver grants each sender: what may be on the wire and in its queue.

    `maxsize` in both modes (a sender holds no more than that in all), `UNBOUNDED_WINDOW`
    for `maxsize <= 0` (unbounded). An open pipeline sender uses only `open_window()` of it;
    the rest lets a closing sender hand everything it holds to an idle receiver and return.
    """
    if maxsize <= 0:
        return UNBOUNDED_WINDOW
    return maxsize


def open_window(maxsize: int, pubsub: bool) -> int:
    """Credits an open sender spends per receiver: at most this many items unacknowledged.

    Pubsub: the whole `window()` (a subscriber's buffer). Pipeline: a quarter of `maxsize`,
    the rest waiting in the sender's own queue, so that a receiver that dies holds little
    and a burst is shared out among the receivers. A closing sender may use all of
    `window()`, so that its `close()` returns once everything it held is on the wire.
    """
    if maxsize <= 0:
        return UNBOUNDED_WINDOW
    return maxsize if pubsub else max(1, maxsize // 4)


UNBOUNDED_WINDOW: Final = 1000
"""Credit window per sender-receiver pair when `maxsize <= 0` (unbounded) was asked for."""

MAX_BATCH_ITEMS: Final = 1024
"""Most items a sender packs into one message to one receiver (and into one frame)."""


def credit_batch(maxsize: int, pubsub: bool) -> int:
    """Credits a receiver owes a sender before it gives them back (one CREDIT message).

    A quarter of `open_window()`: credits go back in a few messages per window, not one per
    item.
    """
    return max(1, open_window(maxsize, pubsub) // 4)


def batch_items(maxsize: int, pubsub: bool) -> int:
    """The most items one frame may carry (a sender's `batch_items`, for `send_many()`).

    A frame of `n` items waits until its receiver has `n` credits in the open window. A
    receiver keeps up to `credit_batch() - 1` owed credits until it owes a whole batch, so
    a sender whose receiver has taken everything may still have only `open_window() -
    credit_batch() + 1` of them: a larger frame could wait forever. At most
    `MAX_BATCH_ITEMS`, at least 1.
    """
    room = open_window(maxsize, pubsub) - credit_batch(maxsize, pubsub) + 1
    return max(1, min(MAX_BATCH_ITEMS, room))


MAX_BATCH_BYTES: Final = 256 * 1024
"""A batch holds at most this many bytes of frames (a larger frame travels alone)."""

MAX_ITEM_BYTES: Final = 64 * 1024 * 1024
"""The largest item a channel sends: 64 MiB, its signed frame and the buffers beside it.

A larger item fails its `send()` with `ChannelSerializationError`. Every socket refuses
message parts beyond `MAX_MESSAGE_BYTES` (ZeroMQ's `MAXMSGSIZE`: the peer that sent one is
disconnected), and a receiver drops a `BUFFERS` message whose parts add up to more, before
it reads them, so a process without the key cannot make a receiver hold a larger one.
"""

MAX_MESSAGE_BYTES: Final = MAX_ITEM_BYTES + 8
"""`MAXMSGSIZE` of every socket: one frame, or a batch (its header and one length) at most."""

RCV_HWM: Final = 1000
"""Messages ZeroMQ queues per connection before it stops reading from that peer.

Credits bound what members send; the pump takes everything readable (up to `TURN_BYTES`
once something is queued) at once, so this bounds only what a flooding peer can queue
between two runs of the pump (and slows it).
"""

TURN_BYTES: Final = 1 << 20
"""A receiver's drain that has read this many bytes (1 MiB) stops once something is queued,
so that its user takes it, and the credits go back to the sender, before more is verified
(the rest is read at the loop's next turn). Large items then stream: the sender ships the
next while the receiver verifies this one."""

_COUNT = struct.Struct("!I")

MAX_COUNT: Final = 2**32 - 1
"""The largest count a message carries (credits are 4-byte unsigned): bounds `maxsize`."""

log = logging.getLogger("connector_zmq")
"""The logger of connector-zmq."""


def new_id() -> bytes:
    """Returns a fresh participant id (16 hex characters; never starts with a zero byte)."""
    return secrets.token_hex(8).encode()


def pack_count(count: int) -> bytes:
    """Encodes a credit count."""
    return _COUNT.pack(count)


def unpack_count(data: bytes) -> int:
    """Decodes a credit count.

    Raises:
        struct.error: If `data` is not four bytes.
    """
    value: int = _COUNT.unpack(data)[0]
    return value


def dumps(value: Any) -> bytes:
    """Encodes a control payload (JSON: ids and addresses, never user data)."""
    return json.dumps(value).encode()


def loads(data: bytes) -> Any:
    """Decodes a control payload."""
    return json.loads(data)


def credentials(codec: Codec, participant: bytes) -> bytes:
    """Returns the proof that `participant` holds the connection's key."""
    return codec.sign(b"join:" + participant)


def authenticate(codec: Codec, participant: bytes, proof: bytes) -> bool:
    """True when `proof` was made by `credentials` with the same key for `participant`."""
    try:
        return codec.verify(proof) == b"join:" + participant
    except MessageRejectedError:
        return False


def process_token() -> bytes:
    """Names this process for crash detection: `host/pid-namespace/pid` as JSON bytes."""
    try:
        namespace = os.readlink("/proc/self/ns/pid")
    except OSError:
        namespace = ""
    return dumps({"host": socket.gethostname(), "ns": namespace, "pid": os.getpid()})


def same_host_pid(token: bytes) -> int | None:
    """The pid in `token` if that process runs on this host in our pid namespace, else None."""
    try:
        info = loads(token)
        mine = loads(process_token())
        if info["host"] == mine["host"] and info["ns"] == mine["ns"] and info["ns"]:
            return int(info["pid"])
    except (ValueError, KeyError, TypeError):
        return None
    return None


def advertised_host(bind_host: str) -> str:
    """Returns the host other processes connect to for sockets bound on `bind_host`."""
    if bind_host in ("*", "0.0.0.0", ""):
        return socket.gethostbyname(socket.gethostname())
    if bind_host == "::":
        return "::1"
    return bind_host


def bind_random(sock: zmq.Socket[Any], bind_host: str) -> str:
    """Binds `sock` to a free TCP port on `bind_host`; returns the address peers connect to.

    Raises:
        ChannelSetupError: If the host cannot be bound.
    """
    try:
        port = sock.bind_to_random_port(f"tcp://{bind_host}")
    except zmq.ZMQError as exc:
        if exc.errno in (errno.EMFILE, errno.ENFILE):
            raise socket_error(exc) from exc
        raise ChannelSetupError(
            f"cannot listen on {bind_host!r} ({exc}); set CONNECTOR_BIND_HOST to an address "
            "of this machine (127.0.0.1 by default)"
        ) from exc
    return f"tcp://{advertised_host(bind_host)}:{port}"


def listen(
    context: zmq.Context[Any],
    bind_host: str,
    prepare: Callable[[zmq.Socket[bytes]], None] | None = None,
) -> tuple[zmq.Socket[bytes], str]:
    """A configured ROUTER of `context` bound to a free port of `bind_host`, and its address.

    `prepare`, when given, sets further options on the socket before it binds.

    Raises:
        ChannelSetupError: If the host cannot be bound, or no file descriptor is left.
    """
    try:
        sock: zmq.Socket[bytes] = context.socket(zmq.ROUTER)
    except zmq.ZMQError as exc:
        raise socket_error(exc) from exc
    configure(sock)  # MAXMSGSIZE: a peer without the key cannot make it hold more
    try:
        if prepare is not None:
            prepare(sock)
        return sock, bind_random(sock, bind_host)
    except BaseException:
        sock.close(0)
        raise


def configure(sock: zmq.Socket[Any]) -> None:
    """Gives `sock` the options of every socket of a connection (linger, HWMs, size limit)."""
    sock.setsockopt(zmq.LINGER, LINGER_MS)
    sock.setsockopt(zmq.SNDHWM, 0)  # credits bound what is in flight, not the HWM
    sock.setsockopt(zmq.RCVHWM, RCV_HWM)
    sock.setsockopt(zmq.MAXMSGSIZE, MAX_MESSAGE_BYTES)


def socket_error(exc: zmq.ZMQError) -> ChannelSetupError:
    """The error to raise for a socket that could not be made or bound."""
    if exc.errno in (errno.EMFILE, errno.ENFILE):
        return ChannelSetupError(
            "this process has run out of file descriptors (ZeroMQ: too many open files): "
            "close channels you no longer use, raise the limit (`ulimit -n`), or find the "
            "local process that holds many connections to this one"
        )
    return ChannelSetupError(f"a ZeroMQ socket could not be set up: {exc}")


def too_large(size: int, items: int = 1) -> ChannelSerializationError:
    """The error of a `send()` whose item (or batch of `items`) is `size` bytes, too large."""
    what = "the item is" if items <= 1 else f"a batch of {items} items is"
    return ChannelSerializationError(
        f"{what} {size} bytes serialized and signed, over the "
        f"{MAX_ITEM_BYTES} bytes ({MAX_ITEM_BYTES // 2**20} MiB) a ZMQ channel carries "
        "(connector_zmq.protocol.MAX_ITEM_BYTES): nothing was sent; send it in parts, or "
        "store it elsewhere and send a reference"
    )


def sent_size(frame: bytes) -> int:
    """Bytes a frame sends: with the buffers beside it, for a `WithBuffers` (one item)."""
    return frame.nbytes() if type(frame) is WithBuffers else len(frame)
