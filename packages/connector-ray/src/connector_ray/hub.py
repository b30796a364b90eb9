"""`ChannelHub`: the state of one connection, run as one named Ray actor per connector.

Everything that must be shared by the senders and receivers of a connection lives here, in
one async actor: the buffers and the connection's `Lifecycle` (`connector_core.lifecycle`:
who is in it, and whether it has ended). Channels talk to it in batches (`put` a list of
frames, `get` frames of up to n items), so one actor call carries many messages.

- Pipeline: one shared FIFO; each `get` takes frames off its front (competing receivers).
- Pubsub: one FIFO per subscriber, created by `register` before `connect_recv()` returns;
  `put` appends every frame to every subscriber's FIFO.

Items: a frame sealed by `send_many()` carries several items, and every count here is in
items: a frame of n items takes n of a FIFO's `maxsize`. The hub holds no key and cannot open
a frame, so the caller states each frame's count beside it (`put(..., counts)`,
`close_sender`, `close_receiver`; one item each when it states none). Only an authenticated
member's counts are read (the token check comes first), and they must be ints >= 1, one per
frame, or the call is `DENIED`: a keyless caller cannot make the hub miscount.

Trust: the hub serves only callers that prove the connection's key and answers anyone else
`DENIED` without effect (see `connector_ray.hub_protocol`).

Large frames wait here as a `RefEntry` to Ray's object store (`connector_ray.large`), weigh
their items and are not fetched, but when their sender closes (`connector_ray.hub_refs`).

Backpressure is enforced here: `put` waits until the first frame's items fit in the FIFO's
free room (pubsub: the fullest subscriber FIFO's), then accepts the longest prefix of whole
frames that fits and returns how many frames that is; the sender keeps the rest. A frame is
never split. A frame heavier than `maxsize` itself (senders never seal one: their
`batch_items` is at most `maxsize`) goes in once the FIFO is empty, so it cannot wait forever.
Only a sender's final flush in `close_sender` may overshoot `maxsize`, by at most what the
sender's outbox holds, so that closing never waits on a stalled receiver.

Close: `register` opens a sender or joins a receiver, `close_sender` closes a sender, and a
receiver leaves when it is handed `END` or closes. When the last open sender closes, the
connection has *ended*: a receiver whose FIFO is drained then gets `END` from `get`. When every
sender and receiver that connected has gone, the reply says `release` (once), and the actor
ends itself after its replies (`connector_ray.runtime`), so nothing outlives the connection.
Pipeline frames that no receiver ever came for keep the hub until a first receiver has come.

The Ray actor is a subclass that ends itself (`connector_ray.runtime`); this class runs
without Ray (only a `RefEntry` needs one): testable, and read on its own.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from connector_core.exceptions import ChannelClosedError
from connector_core.lifecycle import Lifecycle
from connector_ray.hub_fifo import FrameFifo, held
from connector_ray.hub_protocol import Entry, HubGate, Reply, Role, Status, well_formed
from connector_ray.hub_refs import RefLedger, hand_over, stamped

__all__ = ["ChannelHub"]


def _weights(frames: Sequence[Entry], counts: list[int] | None) -> list[int]:
    """The items of each frame: `counts` as the caller stated them, or one each."""
    return counts if counts is not None else [1] * len(frames)


class _Receiver:
    __slots__ = ("aborted", "fifo")

    def __init__(self, fifo: FrameFifo) -> None:
        self.fifo = fifo
        self.aborted = False


class ChannelHub:
    """The buffers and membership of one connection (see the module docstring)."""

    def __init__(self, pubsub: bool, maxsize: int, verifier: bytes | None = None) -> None:
        """Creates an empty hub.

        Args:
            pubsub: True for pubsub (a FIFO per subscriber), False for a pipeline.
            maxsize: Items a FIFO may hold before `put` waits (`<= 0`: unbounded).
            verifier: Optional; `hub_verifier(proof)`: `register` then requires the proof.
                `None` (signing switched off) registers anyone.
        """
        self._pubsub = pubsub
        self._maxsize = maxsize
        self._gate = HubGate(verifier)
        self._shared = FrameFifo()
        self._life: Lifecycle[int] = Lifecycle()
        self._aborting: set[int] = set()
        self._receivers: dict[int, _Receiver] = {}
        self._ledger = RefLedger()
        self._next_id = 1
        self._released = False
        self._changed: asyncio.Condition | None = None

    # -- helpers ---------------------------------------------------------------------------

    def _cond(self) -> asyncio.Condition:
        if self._changed is None:
            self._changed = asyncio.Condition()
        return self._changed

    async def _notify(self) -> None:
        cond = self._cond()
        async with cond:
            cond.notify_all()

    def _reply(
        self,
        status: Status,
        frames: list[Entry] | None = None,
        accepted: int = 0,
        ident: int = 0,
        release: bool = False,
        token: bytes = b"",
    ) -> Reply:
        return Reply(
            status,
            frames if frames is not None else [],
            accepted,
            ident,
            self._life.sender_count,
            self._life.receiver_count,
            release,
            token,
        )

    def _denied(self, ident: object, token: object) -> Reply | None:
        """`DENIED` unless `token` is the one handed to `ident` by `register`."""
        return None if self._gate.knows(ident, token) else self._reply(Status.DENIED)

    def _fifos(self) -> list[FrameFifo]:
        if self._pubsub:
            return [r.fifo for r in self._receivers.values()]
        return [self._shared]

    def _room(self) -> tuple[int, bool]:
        """Items every FIFO can take now (a large number when unbounded), and if all are empty.

        Into empty FIFOs, the first frame of a `put` goes whatever it weighs.
        """
        held = max((f.items for f in self._fifos()), default=0)
        if self._maxsize <= 0:
            return 1 << 62, held == 0
        return self._maxsize - held, held == 0

    def _refused(
        self, ident: int, token: bytes, frames: object, counts: object, refs: bool = True
    ) -> Reply | None:
        """`DENIED` for a wrong token, bad `counts` or a non-frame (`refs`: `RefEntry` is one)."""
        if denied := self._denied(ident, token):
            return denied
        return None if well_formed(frames, counts, refs) else self._reply(Status.DENIED)

    def _should_release(self) -> bool:
        life = self._life
        if self._released or life.sender_count or life.receiver_count:
            return False
        if not life.ever_sender and not life.ever_receiver:
            return False
        # Pipeline frames that no receiver ever came for wait for one.
        return self._pubsub or not self._shared.frames or life.ever_receiver

    def _maybe_release(self) -> bool:
        if self._should_release():
            self._released = True
            return True
        return False

    # -- calls -----------------------------------------------------------------------------

    async def register(self, role: str, proof: bytes | None = None) -> Reply:
        """Adds one sender or receiver; a pubsub receiver gets its FIFO now.

        Args:
            role: `Role.SEND` or `Role.RECV`.
            proof: Optional; the connection's registration proof (`hub_proof`), required
                when the hub was created with a verifier.

        Returns:
            `OK` with the new id and its token, `DENIED` if the proof is wrong, `ENDED` for
            a sender joining an ended connection, or `RELEASED` if the connection is over.

        Raises:
            ValueError: If `role` is neither `Role.SEND` nor `Role.RECV`.
        """
        if not self._gate.admits(proof):
            return self._reply(Status.DENIED)
        if self._released:
            return self._reply(Status.RELEASED)
        ident = self._next_id
        if role == Role.SEND:
            try:
                self._life.open_sender(ident)
            except ChannelClosedError:
                return self._reply(Status.ENDED)
        elif role == Role.RECV:
            fifo = FrameFifo() if self._pubsub else self._shared
            self._receivers[ident] = _Receiver(fifo)
            self._life.join_receiver(ident)
        else:
            raise ValueError(
                f"role must be {Role.SEND.value!r} or {Role.RECV.value!r}, got {role!r}"
            )
        self._next_id += 1
        token = self._gate.issue(ident)
        await self._notify()
        return self._reply(Status.OK, ident=ident, token=token)

    async def put(
        self, sender: int, token: bytes, frames: Sequence[Entry], counts: list[int] | None = None
    ) -> Reply:
        """Appends whole frames, waiting until the first fits; accepts the prefix that fits.

        Args:
            sender: The sender's id.
            token: The sender's token.
            frames: The frames, in order (`bytes`, or `RefEntry` for large ones).
            counts: Optional; the items each frame carries (default: one each).

        Returns:
            `OK` with `accepted` frames (at least 1 unless `frames` is empty), `ABORTED` if
            the sender started closing while this waited, `NO_RECEIVERS` if the pipeline has
            no room for the first frame and every receiver closed, `UNKNOWN` if `sender` is
            not an open sender here, `DENIED` if the token is wrong, a frame is neither
            `bytes` nor a `RefEntry` or `counts` is not one int >= 1 per frame (nothing is
            stored).
        """
        denied = self._refused(sender, token, frames, counts)
        if denied is not None:
            return denied
        if not self._life.is_sender(sender):
            return self._reply(Status.UNKNOWN)
        if not frames:
            return self._reply(Status.OK)
        frames = stamped(frames, sender)
        weights = _weights(frames, counts)
        cond = self._cond()
        async with cond:
            while True:
                if sender in self._aborting:
                    return self._reply(Status.ABORTED)
                room, empty = self._room()
                if weights[0] <= room or empty:
                    break
                if not self._pubsub and self._life.ever_receiver and not self._receivers:
                    return self._reply(Status.NO_RECEIVERS)
                await cond.wait()
            accepted, items = 1, weights[0]  # the first fits, or goes alone into empty FIFOs
            for weight in weights[1:]:
                if items + weight > room:
                    break
                items += weight
                accepted += 1
            for fifo in self._fifos():
                fifo.extend(frames[:accepted], weights[:accepted])
            cond.notify_all()
        return self._reply(Status.OK, accepted=accepted)

    async def get(self, receiver: int, token: bytes, limit: int) -> Reply:
        """Takes frames of up to `limit` items for a receiver, waiting while there are none.

        Args:
            receiver: The receiver's id.
            token: The receiver's token.
            limit: The most items to hand out, in whole frames (at least one frame is
                handed out, whatever it carries; `<= 0`: all).

        Returns:
            `OK` with frames, `END` when every sender closed and the FIFO is drained,
            `ABORTED` if the receiver started closing, `UNKNOWN` if it is not registered,
            `DENIED` if the token is wrong. Asking again says the receiver fetched the
            large frames it was handed last.
        """
        denied = self._denied(receiver, token)
        if denied is not None:
            return denied
        state = self._receivers.get(receiver)
        if state is None:
            return self._reply(Status.UNKNOWN)
        if self._ledger.settle(receiver):
            await self._notify()
        cond = self._cond()
        async with cond:
            fifo = state.fifo
            while not fifo.frames:
                if state.aborted:
                    return self._reply(Status.ABORTED)
                if self._life.ended:
                    self._ledger.settle(receiver)
                    self._life.leave_receiver(receiver)
                    return self._reply(Status.END, release=self._maybe_release())
                await cond.wait()
            frames = fifo.take(limit)
            self._ledger.lend(receiver, frames)
            cond.notify_all()
        return self._reply(Status.OK, frames=frames)

    async def fetched(self, receiver: int, token: bytes) -> Reply:
        """A receiver fetched the large frames of its last `get`: their senders may go."""
        if denied := self._denied(receiver, token):
            return denied
        if self._ledger.settle(receiver):
            await self._notify()
        return self._reply(Status.OK)

    async def abort_put(self, sender: int, token: bytes) -> Reply:
        """Wakes the sender's waiting `put`, which returns `ABORTED` (its channel is closing)."""
        if denied := self._denied(sender, token):
            return denied
        if self._life.is_sender(sender):
            self._aborting.add(sender)
            await self._notify()
        return self._reply(Status.OK)

    async def abort_get(self, receiver: int, token: bytes) -> Reply:
        """Wakes the receiver's waiting `get`, which returns `ABORTED` (its channel is closing)."""
        if denied := self._denied(receiver, token):
            return denied
        state = self._receivers.get(receiver)
        if state is not None:
            state.aborted = True
            await self._notify()
        return self._reply(Status.OK)

    async def close_sender(
        self, sender: int, token: bytes, frames: Sequence[Entry], counts: list[int] | None = None
    ) -> Reply:
        """Appends a closing sender's last frames (even beyond `maxsize`) and removes it.

        `counts` (optional) are the items of each frame, as for `put`. Its large frames
        still queued are put inline first, and those handed to receivers fetched (at most
        `hub_refs.LENT_WAIT` seconds): its process may exit once this returns. The last sender to
        close ends the connection. A wrong token, a frame that is neither `bytes` nor a
        `RefEntry` or bad `counts` is answered `DENIED`, and nothing changes.
        """
        denied = self._refused(sender, token, frames, counts)
        if denied is not None:
            return denied
        if not self._life.is_sender(sender):
            return self._reply(Status.UNKNOWN)
        if frames:
            frames = stamped(frames, sender)
            for fifo in self._fifos():
                fifo.extend(frames, _weights(frames, counts))
        await hand_over(self._fifos(), sender)
        await self._ledger.wait_fetched(self._cond(), sender)
        self._aborting.discard(sender)
        self._life.close_sender(sender)
        await self._notify()
        return self._reply(Status.OK, release=self._maybe_release())

    async def close_receiver(
        self, receiver: int, token: bytes, frames: Sequence[Entry], counts: list[int] | None = None
    ) -> Reply:
        """Removes a receiver; in a pipeline its untaken `frames` go back to the front.

        `counts` (optional) are the items of each frame, as for `put`; bad `counts`, or a
        frame that is not `bytes` (a receiver gives back what it fetched), are answered
        `DENIED`, and nothing changes.
        """
        denied = self._refused(receiver, token, frames, counts, refs=False)
        if denied is not None:
            return denied
        self._ledger.settle(receiver)
        state = self._receivers.pop(receiver, None)
        if state is None:
            return self._reply(Status.UNKNOWN, release=self._maybe_release())
        self._life.leave_receiver(receiver)
        if frames and not self._pubsub:
            self._shared.push_front(frames, _weights(frames, counts))
        await self._notify()
        return self._reply(Status.OK, release=self._maybe_release())

    async def status(self) -> dict[str, int | bool]:
        """Returns the hub's counters (for tests and diagnostics).

        `buffered`, `refs` and `inline_bytes` are those of the fullest FIFO (`held`);
        `fetching` counts the receivers handed large frames they have not said they fetched.
        """
        return {
            "senders": self._life.sender_count,
            "receivers": len(self._receivers),
            **held(self._fifos()),
            "fetching": self._ledger.fetching(),
            "ended": self._life.ended,
            "released": self._released,
        }
