"""Retry marks: how a receiver tells its sender's own republish from an attacker's replay.

The publisher publishes a batch again when the broker refuses it (`basic.nack`) or the
connection drops before the confirm (`connector_rabbitmq.publisher`). In a pubsub
connection the first refusal is not all-or-nothing: the fanout exchange routes a message to
every subscriber queue, and the one full queue (`x-overflow=reject-publish`) makes the
broker nack it while the other queues keep their copy. Each retry then leaves one more
copy in those queues, and a copy's frames carry sequences their receiver accepted already:
without a mark, the receiver could not tell it from a captured message that someone with
broker credentials published again, and would drop, count and dead-letter it as a replay.

So every retry of a batch carries a mark in the header `RETRY_HEADER`: the attempt number,
signed with the connection's key over

    "connector-retry" | connection id | attempt:u32 | SHA-256 of the body | message id

A receiver accepts a marked copy's frames past the replay check (`Verifier.accept_items`
with `redelivered`) only when the mark verifies for that body and message id *and* its
attempt is newer than any it took of that message id from the same queue (`RetryLog`). Then
the consumer's `HandedLog` (`connector_rabbitmq.handed`) skips the frames of that message
already handed out, and acknowledges the copy: every item is delivered once, nothing is
counted as rejected, and nothing is dead-lettered. A party without the key cannot make a
mark; a replay of a marked copy repeats an attempt already taken, so it meets the replay
check and is dropped and counted like any other replay. The mark is a signed object of its
own: the receiver verifies it before it records the attempt or lets any frame past the
replay check, and a copy whose mark does not verify meets the replay check like any other
message. Each frame is still verified on its own (`Verifier.accept_items`) before anything
of it is kept.
"""

from __future__ import annotations

import hashlib
import struct
from collections import OrderedDict
from typing import Final

import aio_pika

from connector_core.codec import Codec, MessageRejectedError

__all__ = ["RETRY_HEADER", "RetryLog", "body_digest", "marked_retry", "retry_attempt"]

RETRY_HEADER: Final = "x-connector-retry"
"""The AMQP header that carries a retry's signed mark."""

_PREFIX: Final = b"connector-retry\0"
_ATTEMPT: Final = struct.Struct("!I")
_CAPACITY: Final = 65536


def body_digest(body: bytes) -> bytes:
    """The SHA-256 of a message body, which a retry mark covers."""
    return hashlib.sha256(body).digest()


def _signed(codec: Codec, attempt: int, digest: bytes, message_id: str) -> bytes:
    return _PREFIX + codec.connection + _ATTEMPT.pack(attempt) + digest + message_id.encode()


def marked_retry(
    codec: Codec, message: aio_pika.Message, attempt: int, digest: bytes
) -> aio_pika.Message:
    """A copy of `message` that carries the signed mark of retry number `attempt`.

    Args:
        codec: The sender's codec (its key signs the mark).
        message: The message as first published.
        attempt: The retry's number, from 1.
        digest: The `body_digest` of its body (computed once for all its retries).
    """
    mark = codec.sign(_signed(codec, attempt, digest, message.message_id or ""))
    headers = dict(message.headers or {})
    headers[RETRY_HEADER] = bytearray(mark)  # AMQP tables take bytes as a byte array
    return aio_pika.Message(
        message.body,
        headers=headers,
        message_id=message.message_id,
        type=message.type,
        app_id=message.app_id,
        delivery_mode=message.delivery_mode,
    )


def retry_attempt(codec: Codec, body: bytes, message_id: str | None, headers: object) -> int | None:
    """The attempt number of a message's retry mark, or None: no mark, or one that fails.

    Args:
        codec: The receiver's codec.
        body: The message body the mark must cover.
        message_id: The message id the mark must name.
        headers: The message's AMQP headers, as they arrived.
    """
    if not isinstance(headers, dict):
        return None
    mark = headers.get(RETRY_HEADER)
    if not isinstance(mark, (bytes, bytearray)):
        return None
    try:
        signed = codec.verify(bytes(mark))
    except MessageRejectedError:
        return None
    start = len(_PREFIX) + len(codec.connection)
    if len(signed) < start + _ATTEMPT.size:
        return None
    (attempt,) = _ATTEMPT.unpack_from(signed, start)  # the comparison below checks the rest
    if signed != _signed(codec, attempt, body_digest(body), message_id or ""):
        return None
    return int(attempt)


class RetryLog:
    """The newest retry attempt taken per message id, for the recent ids of one queue."""

    def __init__(self, capacity: int = _CAPACITY) -> None:
        """Creates an empty log that remembers up to `capacity` message ids."""
        self._attempts: OrderedDict[str, int] = OrderedDict()
        self._capacity = capacity

    def take(self, message_id: str, attempt: int) -> bool:
        """True, once, for an attempt newer than every one taken of `message_id` so far."""
        attempts = self._attempts
        if attempt <= attempts.get(message_id, 0):
            return False
        attempts[message_id] = attempt
        attempts.move_to_end(message_id)
        if len(attempts) > self._capacity:
            attempts.popitem(last=False)
        return True
