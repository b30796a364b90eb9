"""The AMQP messages of the data path: batches of frames, claims and parts, end markers.

    type="batch"  body = core's batch framing (`connector_core.framing`) of signed frames
    type="claim"  body = a `Claim`, signed: one frame too large for a batch, whose parts wait
                  in a queue of their own (`connector_rabbitmq.parts`); the tag covers
                  `"connector-claim" | connection id | the claim's fields as JSON`
    type="part"   body = bytes of that frame, `Claim.part_size` of them (the last: the rest);
                  message id `<claim id>.<index>`; published to the parts exchange only
    type="eos"    body = `marker_body`: a pubsub sender's end-of-stream marker, behind
                  everything it sent, signed (the tag of `"connector-eos" | connection id |
                  sender id`); a pipeline sender publishes none (`connector_rabbitmq.ending`)

Every message is persistent, its `app_id` is the sender id and its `message_id` is
`<sender id>.<sequence>` (`<sender id>.eos` for the marker): receivers drop redelivered
copies by it. The body adds no signature: every frame carries its own HMAC tag, and the
receiver verifies each one when the message arrives (`connector_rabbitmq.consumer`). A
marker whose body does not verify for its sender (`marker_valid`) is dropped, counted and
dead-lettered when it reaches the head of the receiver's FIFO (`connector_rabbitmq.ending`).
A claim whose body does not verify (`open_claim`) is dropped, counted and dead-lettered when
it arrives, before anything it names is read; its message id must be the claim id it signs.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

import aio_pika

from connector_core.codec import Codec, MessageRejectedError
from connector_core.framing import FRAME_OVERHEAD, HEADER_SIZE, pack_frames
from connector_rabbitmq.settings import OVERHEAD

__all__ = [
    "BATCH",
    "CLAIM",
    "EOS",
    "OVERHEAD",
    "PART",
    "Claim",
    "batch_message",
    "claim_message",
    "marker_body",
    "marker_message",
    "marker_valid",
    "open_claim",
    "part_message",
    "split",
]

BATCH: Final = "batch"
CLAIM: Final = "claim"
PART: Final = "part"
EOS: Final = "eos"


def _persistent(body: bytes, message_id: str, kind: str, sender: str) -> aio_pika.Message:
    """A persistent message of type `kind` from `sender`."""
    return aio_pika.Message(
        body,
        message_id=message_id,
        type=kind,
        app_id=sender,
        delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
    )


def batch_message(frames: Sequence[bytes], message_id: str, sender: str) -> aio_pika.Message:
    """The persistent message that carries `frames`, in order."""
    return _persistent(pack_frames(frames), message_id, BATCH, sender)


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
    return _persistent(body, f"{sender}.{EOS}", EOS, sender)


def split(frames: Sequence[bytes], max_body: int, alone: int | None = None) -> list[list[bytes]]:
    """Splits `frames`, in order, into runs whose bodies fit in `max_body` bytes.

    A frame too large for any body goes alone (the broker refuses it), and so does a frame of
    more than `alone` bytes (one that goes in parts).
    """
    runs: list[list[bytes]] = []
    run: list[bytes] = []
    size = HEADER_SIZE
    for frame in frames:
        grown = size + FRAME_OVERHEAD + len(frame)
        if alone is not None and len(frame) > alone:
            if run:
                runs.append(run)
            runs.append([frame])
            run, size = [], HEADER_SIZE
            continue
        if run and grown > max_body:
            runs.append(run)
            run, grown = [], HEADER_SIZE + FRAME_OVERHEAD + len(frame)
        run.append(frame)
        size = grown
    if run:
        runs.append(run)
    return runs


@dataclass(frozen=True)
class Claim:
    """What a claim says: which frame, cut in how many parts, waiting in which queue."""

    sender: str
    """The sender id (the message's `app_id`)."""
    claim_id: str
    """The claim's message id, `<sender id>.<n>`: parts carry `<claim id>.<index>`."""
    queue: str
    """The queue of parts (pubsub: the base of each subscriber's, see `queue_for`)."""
    parts: int
    size: int
    """Bytes of the frame."""
    part_size: int
    """Bytes of every part but the last."""
    subscribers: tuple[str, ...] | None = None
    """Pubsub: the receivers that have a queue of parts; None in a pipeline."""

    def queue_for(self, receiver: str) -> str | None:
        """The queue of parts `receiver` reads, or None: it is not among the subscribers."""
        if self.subscribers is None:
            return self.queue
        return f"{self.queue}.{receiver}" if receiver in self.subscribers else None

    def part_bytes(self, index: int) -> int:
        """Bytes part `index` holds."""
        return min(self.part_size, self.size - index * self.part_size)

    def fields(self) -> list[Any]:
        """The signed fields, in order (the claim's JSON body)."""
        subscribers = None if self.subscribers is None else list(self.subscribers)
        return [
            self.sender,
            self.claim_id,
            self.queue,
            self.parts,
            self.size,
            self.part_size,
            subscribers,
        ]


def _claim_signed(codec: Codec, fields: bytes) -> bytes:
    return b"connector-claim\0" + codec.connection + fields


def claim_message(codec: Codec, claim: Claim) -> aio_pika.Message:
    """The persistent claim message of `claim`, signed for `codec`'s connection."""
    fields = json.dumps(claim.fields(), separators=(",", ":")).encode()
    body = codec.sign(_claim_signed(codec, fields))
    return _persistent(body, claim.claim_id, CLAIM, claim.sender)


def open_claim(codec: Codec, body: bytes, message_id: str | None, sender: str | None) -> Claim:
    """The claim a message carries, once its body verifies for `codec`'s connection.

    Args:
        codec: The receiver's codec.
        body: The message body.
        message_id: The message's id: it must be the claim id.
        sender: The message's `app_id`: it must be the claim's sender.

    Raises:
        MessageRejectedError: If the body does not verify or does not hold a claim of that
            message id and sender.
    """
    signed = codec.verify(body)
    head = _claim_signed(codec, b"")
    if not signed.startswith(head):
        raise MessageRejectedError("a claim signed for another purpose or connection")
    try:
        fields = json.loads(signed[len(head) :])
        who, claim_id, queue, parts, size, part_size, subscribers = fields
        claim = Claim(
            who,
            claim_id,
            queue,
            parts,
            size,
            part_size,
            _names(subscribers) if subscribers is not None else None,
        )
    except (ValueError, TypeError) as exc:
        raise MessageRejectedError(f"a claim that does not parse: {exc}") from exc
    if not _well_formed(claim) or claim_id != message_id or who != sender:
        raise MessageRejectedError("a claim whose fields do not fit its message")
    return claim


def _names(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(name, str) for name in value):
        raise TypeError("subscribers must be a list of receiver ids")
    return tuple(value)


def _well_formed(claim: Claim) -> bool:
    texts = (claim.sender, claim.claim_id, claim.queue)
    counts = (claim.parts, claim.size, claim.part_size)
    if not all(isinstance(text, str) and text for text in texts):
        return False
    if not all(isinstance(n, int) and not isinstance(n, bool) and n > 0 for n in counts):
        return False
    return claim.parts == -(-claim.size // claim.part_size)


def part_message(chunk: bytes, claim_id: str, index: int, sender: str) -> aio_pika.Message:
    """The persistent message that carries part `index` of the frame of `claim_id`."""
    return _persistent(chunk, f"{claim_id}.{index}", PART, sender)
