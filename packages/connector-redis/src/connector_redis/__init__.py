"""connector-redis: at-least-once channels through Redis Streams (the `redis` backend).

`RedisConnector` (registered as backend `redis`) and `RedisChannel`. The server is
`REDIS_URL` (default `redis://localhost:6379/0`), read in each process from its environment:
a pickled connector carries its stream names and signing key, never the password.

How streams are named and found:
    Every key of a connection is `connector:{<job id>}:<spec id>:<what>` (the braces keep a
    connection's keys in one Redis Cluster slot, so its scripts may touch them together):
    `data` (the stream of items and end markers), `ctl` (the control stream), `sig`
    (wake-ups), `held` (items in `data` that some group still needs), `wait` and, in
    pubsub, `sizes` (the item count of each entry some group may still need). A party
    needs only the job id and the spec id, which travel inside the pickled connector.

Who creates groups:
    Pipeline: one consumer group, `work`, made at id 0 by whoever connects first (sender or
    receiver), so items sent before any receiver connected wait for one. Every receiver is a
    consumer of it: each entry reaches one of them. Pubsub: each subscriber makes its own
    group at the stream's last id *before* `connect_recv()` returns (one atomic script), so
    every item sent after that reaches it: no sleeps, no slow joiner.

How items travel:
    A sender's flusher turns the frames queued since it was last free into one entry of at
    most 256 items (a frame of `send_many()`, up to 1024 and never more than `maxsize`, may
    go alone), sealed in the signed envelope (connection id, sender id, sequence) with the
    entry's own stream id inside the signature: the sender picks that id and a script adds
    the entry at exactly that id (or says which id to try next). A copy of a captured entry
    can only land at a newer id, so it never verifies: nobody without the key can inject or
    replay. A receiver reads a batch (`XREADGROUP ... COUNT`), verifies it, and acknowledges
    each entry once its last frame was handed to the channel and the next one is asked for
    (or at close). Acked entries are deleted (pipeline) or trimmed once every group is
    past them (pubsub).

Backpressure:
    `held` counts the items in the stream that a group still needs (read or not): each entry
    adds its item count, so a frame of n items takes n of `maxsize`. That count is the one
    in the entry's signed envelope: a pipeline receiver states it when it acknowledges the
    entry, and a pubsub sender's script notes it in `sizes` for the trim (nothing counts an
    entry by a field of its own, which a keyless client could write). A sender adds only
    while `held` stays within `maxsize`; its own outbox counts what it added until
    `held` shows it gone, so one sender is bounded by `maxsize` overall. A sender that must
    wait sets `wait` and blocks on `sig`; whoever acknowledges next adds a wake-up there.

How close reaches every receiver:
    Membership lives in the control stream: signed `open`, `close`, `join`, `leave` (and,
    with a grace period, `end`) entries that every party reads from the start and folds into
    core's `Lifecycle`. A closing sender adds its end marker after its last item, then
    `close` naming the marker's id. A subscriber ends when the connection has ended and it
    saw every sender's marker (or the marker came before its group). Pipeline receivers end
    when the connection has ended and the group holds nothing unread and nothing
    unacknowledged. Each receiver watches the control stream and `sig` with a task of its own,
    which interrupts its blocked read when something changed.

What happens when a process dies:
    A receiver keeps the entries it holds fresh while it lives; a survivor claims entries
    idle for longer than `CONNECTOR_REDIS_CLAIM_IDLE` (`XAUTOCLAIM`), so nothing is lost (an
    item the dead process had in hand may be delivered again). A receiver that closes
    gives back what it had not handed out (claimed to the `returned` consumer, taken first
    by the others, in id order); the rest of a batch the user took only part of goes back
    as a new entry. A dead subscriber's group is dropped by a sender that waited
    for it longer than the claim idle time once its heartbeat expired. The last party to
    leave deletes every key of the connection; `purge(job_id)` (or
    `python -m connector_redis purge JOB`) deletes a crashed run's.
"""

from __future__ import annotations

import importlib.metadata

from connector_redis.channel import RedisChannel
from connector_redis.connector import RedisConnector
from connector_redis.purge import purge

__version__ = importlib.metadata.version("connector-redis")

__all__ = ["RedisChannel", "RedisConnector", "purge"]
