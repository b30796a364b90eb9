"""The Redis keys and group names of one connection, and stream ids as numbers.

`Keys(job_id, spec_id)` names everything a connection keeps in Redis; see the package
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


@dataclass(frozen=True)
class Keys:
    """The keys of the connection `spec_id` of job `job_id`."""

    job_id: str
    spec_id: str

    @property
    def prefix(self) -> str:
        """`connector:{<job>}:<spec>`: every key of the connection starts with it."""
        return f"connector:{{{self.job_id}}}:{self.spec_id}"

    @property
    def data(self) -> str:
        """The stream of items and end markers."""
        return f"{self.prefix}:data"

    @property
    def ctl(self) -> str:
        """The control stream (membership, signed)."""
        return f"{self.prefix}:ctl"

    @property
    def sig(self) -> str:
        """The stream of wake-ups for parties that wait (room, the end)."""
        return f"{self.prefix}:sig"

    @property
    def held(self) -> str:
        """Items in `data` that some group still needs."""
        return f"{self.prefix}:held"

    @property
    def wait(self) -> str:
        """Set while a party waits for a wake-up on `sig`."""
        return f"{self.prefix}:wait"

    def alive(self, party: str) -> str:
        """The heartbeat of a receiver (expires when it stops refreshing it)."""
        return f"{self.prefix}:alive:{party}"

    @property
    def alive_pattern(self) -> str:
        """Matches every heartbeat of the connection."""
        return f"{self.prefix}:alive:*"

    def all(self) -> list[str]:
        """Every fixed key of the connection (heartbeats expire by themselves)."""
        return [self.data, self.ctl, self.sig, self.held, self.wait]

    @staticmethod
    def job_pattern(job_id: str) -> str:
        """Matches every key of every connection of job `job_id` (and no other job's)."""
        return f"connector:{{{job_id}}}:*"


def subscriber_group(party: str) -> str:
    """The consumer group of one pubsub subscriber."""
    return f"sub:{party}"
