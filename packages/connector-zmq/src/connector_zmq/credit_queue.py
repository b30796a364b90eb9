"""`CreditQueue`: a ZMQ receiver's queue of verified payloads and the credits behind them.

Senders may send a receiver only as many items as it granted them credits for: a window per
sender on its HELLO, spent a frame's items at a time. This queue keeps that account for one
`ReceiverLink`: it admits a member's verified frames within the credit the member has left
(dropping, through the receiver's `Verifier`, what does not fit), queues the payloads in
order with who sent them, and, as the user takes them, owes their items back to the sender
and returns them in batches of `protocol.credit_batch()`. Frames that fail verification
spend one credit each, which goes back to the sender at once. The queue does no I/O: credits
it returns wait in `due` until the receiver sends them, right after the call that made them
due. (It holds no reference to its receiver either, so that a dropped receiver is freed at
once, not at the next garbage collection.)
"""

from __future__ import annotations

import secrets
from collections import deque
from collections.abc import Sequence
from operator import itemgetter
from typing import Any

from connector_core.codec import Codec
from connector_core.envelope import SENDER_SIZE
from connector_core.payload import Buffer, Payload, inline
from connector_core.transport import Verifier

__all__ = ["CreditQueue"]

_items_of = itemgetter(1)  # of a verified (payload, items) pair


class CreditQueue:
    """Verified payloads in order, the credit each sender has left and what is owed back."""

    __slots__ = ("_batch", "_owed", "_runs", "credit", "due", "items", "verifier")

    def __init__(self, verifier: Verifier, batch: int) -> None:
        """Creates an empty queue.

        Args:
            verifier: The receiver's verifier: frames are checked with it, drops counted.
            batch: Credits owed to a sender before they are sent back in one message.
        """
        self.verifier = verifier
        self._batch = batch
        self.items: deque[tuple[Payload, int]] = deque()  # verified payloads and their items
        # who sent the queued items, in order: runs of [sender id or None, items, owed],
        # `owed` being the sender's one-element credit counter shared by all its runs
        self._runs: deque[list[Any]] = deque()
        self._owed: dict[bytes | None, list[int]] = {}
        self.credit: dict[bytes, int] = {}  # members sending here: credit not yet spent
        self.due: list[tuple[bytes, int]] = []  # (sender, credits) for the receiver to send

    def arrived(
        self, sid: bytes, frames: list[bytes], lent: Sequence[Buffer] | None = None
    ) -> bool:
        """Verifies data frames from `sid`, then queues the ones that verify and fit its credit.

        A frame of `n` items spends `n` credits; one that fails verification spends one (its
        stated count is not to be trusted), given back to the sender.

        Args:
            sid: The sender.
            frames: The frames as they arrived (those beyond its credit are cut off).
            lent: Optional; the buffers that arrived beside the one frame of `frames`
                (`Verifier.accept_items` checks them with it).

        Returns:
            False, with nothing done, when `sid` has no credit here (no verified HELLO, or
            it has ended): nothing it sends counts.
        """
        credit = self.credit.get(sid)
        if credit is None:
            return False
        verifier = self.verifier
        if len(frames) > credit:  # each frame spends a credit at least: the rest cannot fit
            for _ in range(len(frames) - credit):
                verifier.drop("an item beyond the credit its sender was granted")
            del frames[credit:]
        accept = verifier.accept_items
        accepted = [x for frame in frames if (x := accept(frame, False, lent)) is not None]
        failed = len(frames) - len(accepted)
        items = accepted[0][1] if len(accepted) == 1 else sum(map(_items_of, accepted))
        if failed + items > credit:  # a member never sends beyond its credit: not ours to keep
            accepted, items = self._within(accepted, credit - failed)
        self.credit[sid] = credit - failed - items
        self.enqueue(sid, accepted, items)
        if failed:  # dropped: their credit goes back to the sender
            self._owe(sid, failed)
        return True

    def _within(
        self, accepted: list[tuple[Payload, int]], credit: int
    ) -> tuple[list[tuple[Payload, int]], int]:
        """The verified frames that fit `credit`, in order, and their items; drops the rest."""
        kept: list[tuple[Payload, int]] = []
        items = 0
        for verified in accepted:
            if items + verified[1] > credit:
                self.verifier.drop("a frame of more items than the credit its sender had left")
            else:
                kept.append(verified)
                items += verified[1]
        return kept, items

    def take(self) -> Payload | None:
        """The next verified payload if one is queued, else None; owes its sender its items.

        A payload of `n` items (one frame) is taken whole, so it gives `n` credits back.
        """
        queue = self.items
        if not queue:
            return None
        payload, items = queue.popleft()
        runs = self._runs
        run = runs[0]
        run[1] -= items
        if not run[1]:
            runs.popleft()
        sid = run[0]
        if sid is not None:
            owed = run[2]
            owed[0] += items
            if owed[0] >= self._batch:
                owed[0] = self._give_credit(sid, owed[0])
        return payload

    def enqueue(self, sid: bytes | None, accepted: list[tuple[Payload, int]], items: int) -> None:
        """Queues verified payloads from sender `sid` (None: returned, owed no credit).

        Args:
            sid: The sender, or None for items returned through the rendezvous.
            accepted: The payloads, each with its item count.
            items: Their items in all.
        """
        if not accepted:
            return
        self.items.extend(accepted)
        runs = self._runs
        if runs and runs[-1][0] == sid:
            runs[-1][1] += items
            return
        runs.append([sid, items, self._owed_to(sid)])

    def _owed_to(self, sid: bytes | None) -> list[int]:
        owed = self._owed.get(sid)
        if owed is None:
            owed = self._owed[sid] = [0]
        return owed

    def _owe(self, sid: bytes, count: int) -> None:
        owed = self._owed_to(sid)
        owed[0] += count
        if owed[0] >= self._batch:
            owed[0] = self._give_credit(sid, owed[0])

    def _give_credit(self, sid: bytes, owed: int) -> int:
        """Gives `owed` credits back to sender `sid` (in `due`) if it is still here.

        Returns:
            What is still owed to it: 0, or `owed` when it has gone.
        """
        if sid not in self.credit:
            return owed
        self.credit[sid] += owed
        self.due.append((sid, owed))
        return 0

    def buffered(self) -> int:
        """Verified items queued and not yet taken (in any frame)."""
        return sum(map(_items_of, self.items))

    def sealed_again(self, codec: Codec) -> list[bytes]:
        """The queued payloads sealed again, each as a frame stating its items (to hand back).

        Sealed by the receiver, a member of the connection, as a party of its own (a new id):
        the other receivers accept them once each. Large buffers are joined in: one piece each.
        """
        party, seal = secrets.token_bytes(SENDER_SIZE), codec.reseal
        return [
            seal(inline(payload), party, seq, items)
            for seq, (payload, items) in enumerate(self.items, 1)
        ]

    def clear(self) -> None:
        """Forgets every queued payload (the receiver has returned or dropped them)."""
        self.items.clear()
        self._runs.clear()
