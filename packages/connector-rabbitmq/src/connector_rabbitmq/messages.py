"""The AMQP messages of the data path: batches of frames, and end-of-stream markers.

    type="batch"  body = core's batch framing (`connector_core.framing`) of signed frames
    type="eos"    body = `marker_body`: a sender's end-of-stream marker, behind everything
                  it sent, signed (the tag of `"connector-eos" | connection id | sender id`)

Every message is persistent, its `app_id` is the sender id and its `message_id` is
`<sender id>.<sequence>` (`<sender id>.eos` for the marker): receivers drop redelivered
copies by it. The body adds no signature: every frame carries its own HMAC tag, and the
receiver verifies each one when the message arrives (`connector_rabbitmq.consumer`). A
marker whose body does not verify for its sender (`marker_valid`) is dropped, counted and
dead-lettered when it reaches the head of the receiver's FIFO (`connector_rabbitmq.ending`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

import aio_pika

from connector_core.codec import Codec, MessageRejectedError
from connector_core.framing import FRAME_OVERHEAD, HEADER_SIZE, pack_frames

__all__ = [
    "BATCH",
    "EOS",
    "OVERHEAD",
    "batch_message",
    "marker_body",
    "marker_message",
    "marker_valid",
    "split",
]

BATCH: Final = "batch"
EOS: Final = "eos"

OVERHEAD: Final = HEADER_SIZE + FRAME_OVERHEAD
"""Bytes the body adds to a message of one frame."""


def batch_message(frames: Sequence[bytes], message_id: str, sender: str) -> aio_pika.Message:
    """The persistent message that carries `frames`, in order."""
    return aio_pika.Message(
        pack_frames(frames),
        message_id=message_id,
        type=BATCH,
        app_id=sender,
        delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
    )


def _marker_signed(codec: Codec, sender: str) -> bytes:
    return b"connector-eos\0" + codec.connection + sender.encode()


def marker_body(codec: Codec, sender: str) -> bytes:
    """The signed body of `sender`'s end-of-stream marker on `codec`'s connection."""
    return codec.sign(_marker_signed(codec, sender))


def marker_valid(codec: Codec, body: bytes, sender: str) -> bool:
    """True if `body` is `sender`'s end-of-stream marker, signed for `codec`'s connection."""
    try:
        return codec.verify(body) == _marker_signed(codec, sender)
    except MessageRejectedError:
        return False


def marker_message(sender: str, body: bytes = b"") -> aio_pika.Message:
    """The persistent end-of-stream marker of `sender` (`body`: its `marker_body`)."""
    return aio_pika.Message(
        body,
        message_id=f"{sender}.{EOS}",
        type=EOS,
        app_id=sender,
        delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
    )


def split(frames: Sequence[bytes], max_body: int) -> list[list[bytes]]:
    """Splits `frames`, in order, into runs whose bodies fit in `max_body` bytes.

    A frame too large for any body goes alone (the broker refuses it).
    """
    runs: list[list[bytes]] = []
    run: list[bytes] = []
    size = HEADER_SIZE
    for frame in frames:
        grown = size + FRAME_OVERHEAD + len(frame)
        if run and grown > max_body:
            runs.append(run)
            run, grown = [], HEADER_SIZE + FRAME_OVERHEAD + len(frame)
        run.append(frame)
        size = grown
    if run:
        runs.append(run)
    return runs
