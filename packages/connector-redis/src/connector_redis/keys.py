"""The Redis keys and group names of one connection, and stream ids as numbers.

`Keys.of(job_id, spec_id)` names everything a connection keeps in Redis; see the package
docstring. `purge(job_id)` finds a job's keys with `Keys.job_pattern(job_id)`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Final

__all__ = ["RETURNED", "WORK_GROUP", "Keys", "StreamId", "next_id", "parse_id", "propose_id"]

WORK_GROUP: Final = "work"
"""The consumer group every pipeline receiver reads from."""
RETURNED: Final = "returned"
"""The consumer that holds what a closing pipeline receiver gave back, for the others."""

StreamId = tuple[int, int]
"""A stream entry id `<ms>-<seq>` as numbers."""


def parse_id(raw: bytes | str) -> StreamId:
    """Returns the numbers of a stream id such as `b"1700000000000-3"`.

    Raises:
        ValueError: If `raw` is not `<ms>-<seq>`.
    """
    text = raw.decode() if isinstance(raw, bytes) else raw
    ms, _, seq = text.partition("-")
    return int(ms), int(seq or 0)


def format_id(entry_id: StreamId) -> str:
    """Returns `entry_id` as Redis writes it."""
    return f"{entry_id[0]}-{entry_id[1]}"


def next_id(entry_id: StreamId) -> StreamId:
    """The smallest id after `entry_id`."""
    return entry_id[0], entry_id[1] + 1


def propose_id(after: StreamId) -> StreamId:
    """An id for a new entry: now in milliseconds, or just after `after` if that is later."""
    now = time.time_ns() // 1_000_000
    return (now, 0) if now > after[0] else next_id(after)


class _Key:
    """A fixed key of a connection, named after its attribute: `<prefix>:<attribute>`."""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, keys: Keys, owner: type | None = None) -> str:
        return f"{keys.prefix}:{self.name}"


@dataclass(frozen=True)
class Keys:
    """The keys of one connection: each starts with `prefix` (`Keys.of` makes them)."""

    prefix: str
    """`connector:{<job>}:<spec>`: every key of the connection starts with it."""

    @classmethod
    def of(cls, job_id: str, spec_id: str) -> Keys:
        """Returns the keys of the connection `spec_id` of job `job_id`."""
        return cls(f"connector:{{{job_id}}}:{spec_id}")

    data = _Key()
    """The stream of items and end markers."""
    ctl = _Key()
    """The control stream (membership, signed)."""
    sig = _Key()
    """The stream of wake-ups for parties that wait (room, the end)."""
    held = _Key()
    """Items in `data` that some group still needs."""
    wait = _Key()
    """Set while a party waits for a wake-up on `sig`."""
    sizes = _Key()
    """Pubsub: the item count of each entry some group may still need (`scripts`)."""

    def alive(self, party: str) -> str:
        """The heartbeat of a receiver (expires when it stops refreshing it)."""
        return f"{self.prefix}:alive:{party}"

    @property
    def alive_pattern(self) -> str:
        """Matches every heartbeat of the connection."""
        return f"{self.prefix}:alive:*"

    def all(self) -> list[str]:
        """Every fixed key of the connection (heartbeats expire by themselves)."""
        return [self.data, self.ctl, self.sig, self.held, self.wait, self.sizes]

    @staticmethod
    def job_pattern(job_id: str) -> str:
        """Matches every key of every connection of job `job_id` (and no other job's)."""
        return f"connector:{{{job_id}}}:*"


def subscriber_group(party: str) -> str:
    """The consumer group of one pubsub subscriber."""
    return f"sub:{party}"
