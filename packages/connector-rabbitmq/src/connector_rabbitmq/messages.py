"""The AMQP messages of the data path: batches of frames, and end-of-stream markers.

    type="batch"  body = core's batch framing (`connector_core.framing`) of signed frames
    type="eos"    body empty: a sender's end-of-stream marker, behind everything it sent

Every message is persistent, its `app_id` is the sender id and its `message_id` is
`<sender id>.<sequence>` (`<sender id>.eos` for the marker): receivers drop redelivered
copies by it. The body adds no signature: every frame carries its own HMAC tag, and the
receiver verifies each one when the message arrives (`connector_rabbitmq.consumer`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

import aio_pika

from connector_core.framing import FRAME_OVERHEAD, HEADER_SIZE, pack_frames

__all__ = ["BATCH", "EOS", "OVERHEAD", "batch_message", "marker_message", "split"]

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


def marker_message(sender: str) -> aio_pika.Message:
    """The persistent end-of-stream marker of `sender`."""
    return aio_pika.Message(
        b"",
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
