"""Finding dead receivers: heartbeats, and what is done about a receiver found dead.

Every receiver refreshes a heartbeat key (`Keys.alive(party)`) every third of
`CONNECTOR_REDIS_CLAIM_IDLE`, with that idle time as its expiry; it sets it before it joins
and deletes it when it leaves. A receiver whose heartbeat expired has died without leaving:

- pipeline: its unacknowledged entries are claimed by survivors (`XAUTOCLAIM` after the claim
  idle time, in `connector_redis.receiver`); `reap` only writes `LEAVE` for it, so that the
  connection can end and be cleaned up;
- pubsub: nobody else can take its entries, and its group would hold the senders back for
  ever, so `reap` drops its group (and what only it needed) and writes `LEAVE` for it.

Live receivers reap on every heartbeat; a sender reaps when it has waited for room longer
than the claim idle time (a dead subscriber may be the only receiver).
"""

from __future__ import annotations

import logging

from connector_redis.control import ControlLog
from connector_redis.entries import LEAVE
from connector_redis.keys import WORK_GROUP, subscriber_group

__all__ = ["reap"]

_log = logging.getLogger(__name__)

_SUBSCRIBER = "sub:"


async def reap(log: ControlLog, claim_idle: float) -> list[str]:
    """Writes `LEAVE` for receivers whose heartbeat expired (pubsub: drops their groups).

    Args:
        log: The reaping party's control log.
        claim_idle: The claim idle time (for the log line).

    Returns:
        The receivers found dead.
    """
    store = log.store
    await log.read()
    suspects = set(log.life.receivers) - {log.party.name}
    if store.pubsub:
        groups = await store.subscriber_groups()
        suspects |= {g[len(_SUBSCRIBER) :] for g in groups if g.startswith(_SUBSCRIBER)}
    dead = []
    for party in sorted(suspects):
        if await store.alive(party):
            continue
        try:
            subject = bytes.fromhex(party)
        except ValueError:
            continue  # not a group this backend made
        if store.pubsub:
            await store.leave(subscriber_group(party), party, [], subject=party)
        else:
            await store.leave(WORK_GROUP, party, [], subject=party)
        if party in log.life.receivers:
            await log.append(LEAVE, subject)
        dead.append(party)
    if dead:
        _log.warning(
            "%s: receiver(s) %s showed no sign of life for %gs: taken out of the connection",
            store.keys.prefix,
            ", ".join(dead),
            claim_idle,
        )
        await log.read()
    return dead
