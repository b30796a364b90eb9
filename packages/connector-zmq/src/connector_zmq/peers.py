"""`Peer`: one receiver a sender is linked to, and the choice of who gets the next batch.

A sender keeps its peers in a ring, in the order they joined. A peer's *credit* is how many
items it will still accept; what was sent to it and not yet credited back is *unacked*.
"""

from __future__ import annotations

import zmq

__all__ = ["Peer", "next_with_credit", "unacked"]


class Peer:
    """A receiver of this sender: its DEALER socket and what it will still accept."""

    __slots__ = ("credit", "granted", "rid", "sock", "unacked")

    def __init__(self, rid: bytes, sock: zmq.Socket[bytes]) -> None:
        """Creates a peer that has granted nothing yet.

        Args:
            rid: The receiver's id.
            sock: The DEALER socket connected to it.
        """
        self.rid = rid
        self.sock = sock
        self.credit = 0  # items it will still accept
        self.unacked = 0  # items sent to it and not credited back
        self.granted = False  # its first grant (its window) has arrived


def next_with_credit(ring: list[Peer], index: int, want: int) -> tuple[int, Peer | None]:
    """The next peer after `index`, round robin, with at least `want` credits.

    Args:
        ring: The peers, in the order they joined.
        index: Where the last batch went.
        want: The credits the batch needs.

    Returns:
        Its index (the one to start from next time) and the peer, or None if none has.
    """
    count = len(ring)
    if count == 1:
        return index, ring[0] if ring[0].credit >= want else None
    for _ in range(count):
        index = (index + 1) % count
        if ring[index].credit >= want:
            return index, ring[index]
    return index, None


def unacked(ring: list[Peer], pubsub: bool) -> int:
    """Items out and not credited back: pubsub, by the slowest peer; pipeline, all of them.

    Args:
        ring: The peers.
        pubsub: True in pubsub mode (every peer gets every item).
    """
    counts = (peer.unacked for peer in ring)
    return max(counts, default=0) if pubsub else sum(counts)
