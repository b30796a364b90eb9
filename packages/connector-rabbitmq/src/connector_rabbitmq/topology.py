"""Broker object names of one connection, and the flow-control limits derived from `maxsize`.

Every name starts with `connector.<job_id>.<spec id>.`, so two runs (job ids) never share a
queue or an exchange, and `connector_rabbitmq.purge` can find everything of one connection:

- `<prefix>.work`: pipeline; a direct exchange where senders publish, and the durable
  queue bound to it that every receiver consumes (same name);
- `<prefix>.returns`: pipeline; the durable queue, of no length limit, where a closing
  receiver gives back the items it took and did not return (`connector_rabbitmq.receiver`),
  and which every receiver consumes beside `.work`;
- `<prefix>.fanout`: pubsub; the fanout exchange where senders publish;
- `<prefix>.sub.<receiver id>`: pubsub; one queue per subscriber, bound to the fanout;
- `<prefix>.parts` / `<prefix>.part.<claim id>[.<receiver id>]`: the direct exchange and
  the queues where the parts of large items wait for their claim (`connector_rabbitmq.parts`);
- `<prefix>.ctl`: the control log, a stream (see `connector_rabbitmq.control`);
- `<prefix>.dlx` / `<prefix>.dead`: the dead-letter exchange and the durable queue that
  keeps rejected messages (forged or malformed ones: a frame in them failed verification)
  for inspection; it holds at most `DEAD_LETTER_LIMIT` messages (`x-max-length`: the
  oldest go first).

Flow control: a channel's `maxsize` (items) is split between the four places an item can
wait: the sender's batch being filled, the one batch awaiting its publisher confirm, the
broker queue (`x-max-length` messages, `x-overflow=reject-publish`) and each receiver's
prefetch window (unacknowledged messages). The sender's outbox counts items (a frame of
`send_many()` weighs the items it carries); the broker counts messages, so what bounds items
there is that no AMQP message carries more than `B = Limits.batch_items` items: no frame
carries more (the sender's `batch_items` is at most `B`, so `send_many()` seals no larger
frame) and the publisher packs at most `B` items into one message. A receiver acknowledges a
message only once every item of it was handed to the caller (`connector_rabbitmq.consumer`):
the items of a frame that the channel decoded and has not returned yet still hold their
message's place in the prefetch window. So a stalled receiver lets a sender get at most
`B * (2 + queue_length + prefetch)` items ahead, whether they were sent one by one or with
`send_many()`, which `limits()` keeps at or below `maxsize` (for `maxsize >= 4`; pipelines
add `B * prefetch` per extra competing receiver). The conformance profile's slack is 0.

How that budget is split depends on the mode. A pipeline sender's close publishes nothing
behind its data (`connector_rabbitmq.ending`), and a receiver that closes holding part of a
batch gives the rest back to `.returns`, which has no length limit (those items were
counted already, in its prefetch window), so nothing else ever needs a place in the work
queue. A pipeline spends the whole budget on large batches: `B = maxsize // 4`, one
message in the prefetch window and one in the queue (fewer, larger AMQP messages: less
work per item on both sides; against `maxsize // 6` with two of each, 127-171k items/s
against 100-134k in one process, alternating). A pubsub sender's close publishes an
end-of-stream marker behind its data in every subscriber's queue, which must find room even
while nobody reads: `B = maxsize // 8` leaves `prefetch + queue_length` = 6 messages per
subscriber, the last batch and the marker of three senders.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from connector_core.spec import ConnectorMode

__all__ = [
    "DEAD_LETTER_LIMIT",
    "MAX_BATCH_BYTES",
    "MAX_BATCH_ITEMS",
    "MAX_MAXSIZE",
    "Limits",
    "Names",
    "limits",
]

MAX_BATCH_ITEMS = 1024
"""Most items one AMQP message carries."""

MAX_BATCH_BYTES = 4 * 1024 * 1024
"""Most frame bytes one AMQP message carries (a single larger item still goes alone)."""

MAX_MAXSIZE = 2**63 - 1
"""The largest `maxsize`: queue lengths (`x-max-length`) are signed 64-bit integers."""

DEAD_LETTER_LIMIT = 10_000
"""Most messages a connection's dead-letter queue keeps (`x-max-length`; oldest dropped)."""

_UNBOUNDED_PREFETCH = 8
_PIPELINE_SHARES = 4
"""Batches a pipeline's `maxsize` is cut in: the sender's two, one queued, one prefetched."""
_PUBSUB_SHARES = 8
"""Batches a pubsub `maxsize` is cut in, leaving room for end-of-stream markers."""
_SAFE = re.compile(r"[^A-Za-z0-9_.\-]")
_MAX_NAME = 255


@dataclass(frozen=True)
class Limits:
    """How many items a batch holds, how many messages a receiver prefetches and a queue holds."""

    batch_items: int
    """Items per AMQP message, and per frame of `send_many()`, at most; also the size of the
    sender's local buffer."""
    prefetch: int
    """Unacknowledged messages a receiver may hold (`basic.qos`)."""
    queue_length: int | None
    """`x-max-length` of every data queue in messages; `None`: unbounded."""
    sender_buffer: int | None
    """Items a sender buffers before `send()` waits; `None`: unbounded."""

    @property
    def stalled_room(self) -> int | None:
        """Items a receiver that takes nothing lets in before its queue refuses publishes.

        Its prefetch window and its queue, of full batches; `None`: unbounded.
        """
        if self.queue_length is None:
            return None
        return self.batch_items * (self.prefetch + self.queue_length)


def limits(maxsize: int, mode: ConnectorMode = ConnectorMode.PIPELINE) -> Limits:
    """Returns the limits that keep a stalled connection within `maxsize` items.

    Args:
        maxsize: The channel capacity in items; `<= 0` means unbounded.
        mode: Optional; the connection's mode (see the module): pubsub batches are
            smaller (`maxsize // 8` against `// 4`), to leave room for end-of-stream
            markers. A channel made directly from an exchange or a queue publishes no
            markers: the default, pipeline.
    """
    if maxsize <= 0:
        return Limits(MAX_BATCH_ITEMS, _UNBOUNDED_PREFETCH, None, None)
    shares = _PUBSUB_SHARES if mode is ConnectorMode.PUBSUB else _PIPELINE_SHARES
    batch = max(1, min(MAX_BATCH_ITEMS, maxsize // shares))
    budget = maxsize // batch  # batches that fit in maxsize
    prefetch = 2 if budget >= 6 else 1
    queue_length = max(1, budget - 2 - prefetch)
    return Limits(batch, prefetch, queue_length, batch)


@dataclass(frozen=True)
class Names:
    """The broker names of one connection (a job id and a spec id)."""

    job_id: str
    spec_id: str

    @property
    def prefix(self) -> str:
        """`connector.<job_id>.<spec id>`; long spec ids are shortened with a hash."""
        spec = _SAFE.sub("_", self.spec_id)
        base = f"connector.{self.job_id}."
        if len(base) + len(spec) > 200:
            digest = hashlib.sha256(self.spec_id.encode()).hexdigest()[:16]
            spec = f"{spec[:100]}~{digest}"
        return base + spec

    @property
    def work(self) -> str:
        """Pipeline: the direct exchange and the durable queue bound to it (same name)."""
        return f"{self.prefix}.work"

    @property
    def returns(self) -> str:
        """Pipeline: the queue of the items closing receivers gave back (no length limit)."""
        return f"{self.prefix}.returns"

    @property
    def fanout(self) -> str:
        """Pubsub: the fanout exchange."""
        return f"{self.prefix}.fanout"

    @property
    def control(self) -> str:
        """The control log (a stream queue)."""
        return f"{self.prefix}.ctl"

    @property
    def dead_letter_exchange(self) -> str:
        """Where rejected messages go."""
        return f"{self.prefix}.dlx"

    @property
    def dead_letters(self) -> str:
        """The durable queue that keeps rejected messages for inspection."""
        return f"{self.prefix}.dead"

    @property
    def parts(self) -> str:
        """The direct exchange that routes the parts of large items to their queues."""
        return f"{self.prefix}.parts"

    @property
    def fixed_queues(self) -> tuple[str, ...]:
        """The connection's queues of fixed name: work, returns, dead letters, control log."""
        return self.work, self.returns, self.dead_letters, self.control

    @property
    def exchanges(self) -> tuple[str, ...]:
        """Every exchange of the connection."""
        return self.work, self.fanout, self.parts, self.dead_letter_exchange

    def subscriber(self, receiver_id: str) -> str:
        """Pubsub: the queue of one subscriber."""
        return _checked(f"{self.prefix}.sub.{receiver_id}")

    def part_queue(self, claim_id: str, receiver_id: str | None = None) -> str:
        """The queue of the parts of one large frame (pubsub: of one of its subscribers)."""
        name = f"{self.prefix}.part.{claim_id}"
        return _checked(name if receiver_id is None else f"{name}.{receiver_id}")


def _checked(name: str) -> str:
    if len(name) > _MAX_NAME:
        raise ValueError(f"queue name too long: {name!r}")
    return name
