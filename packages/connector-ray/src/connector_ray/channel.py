"""`RayChannel`: one sender or receiver of a connection whose state lives in a Ray actor.

Every connection has one hub actor (`connector_ray.hub`), found by name from anywhere in the
cluster. Channels hold no shared state and batch their traffic to it (an actor call costs
about a millisecond). The package README ("How it works") tells the whole story.

Sending: `send()` appends the signed frame to a local outbox and returns; a flusher task
ships the outbox in `put` calls of up to `batch_size` frames, one call in flight, as soon as
the sender yields. The outbox holds at most `min(2 * batch_size, maxsize)` frames (then
`send()` waits), and `put` waits at the hub while it holds `maxsize`: a slow receiver slows
the sender. A cancelled `send()` has either appended its frame or not.

Receiving: `recv()` serves a local inbox, refilled by one `get` of up to `batch_size` frames.
That `get` is a task of the channel, not of the `recv()` that started it: a cancelled
`recv()` leaves it running and its frames land in the inbox for the next `recv()`.

Close: a sender hands its outbox to the hub and unregisters; the last sender's close ends the
stream. A pipeline receiver gives its unread inbox back to the front of the hub's FIFO.

Loops: a channel belongs to the event loop it was connected in (a standalone channel: the
loop of its first use), where its tasks live. Awaited from another loop it raises
`ChannelError` at once and stays usable at home.

Trust: every hub call carries the id and token `register` handed out (see `connector_ray.hub`).

Failure: if the hub dies, the next `send()`, `recv()` or `close()` raises `ChannelError`;
nothing waits forever. A receiver process that dies unclosed loses at most one batch and
leaves the hub for `purge(job_id)`.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from collections import deque
from collections.abc import Mapping
from typing import Any, Final

from connector_core.channel import CHAN_MAXSIZE
from connector_core.exceptions import ChannelClosedError, ChannelError
from connector_core.serde import Codec, SerdeChannel
from connector_ray import runtime
from connector_ray.hub import ABORTED, END, NO_RECEIVERS, OK, Reply
from connector_ray.options import DEFAULT_BATCH_SIZE, actor_options_for, batch_limit

__all__ = ["RayChannel"]

_log = logging.getLogger("connector_ray")

_SEND: Final = 1
_RECV: Final = 2
_BOTH: Final = _SEND | _RECV


class RayChannel(SerdeChannel):
    """RayChannel enables async data exchange between coroutines on a Ray cluster.

    Channels are normally made by `RayConnector.connect_send()` / `connect_recv()`. A channel
    made directly, `RayChannel(actor_options=None, maxsize=...)`, is a standalone pipeline
    that is both its own sender and receiver, on a private hub actor created at first use;
    after `close()` it still returns what it holds, then `recv()` raises
    `ChannelClosedError`, and its actor is killed.

    `statistics().buffered` counts the frames in this channel's outbox and inbox;
    `senders`/`receivers` are the hub's counts as of this channel's last call.
    """

    def __init__(
        self,
        actor_options: Mapping[str, Any] | None = None,
        *,
        maxsize: int = CHAN_MAXSIZE,
        codec: Codec | None = None,
        batch_size: int = DEFAULT_BATCH_SIZE,
        **kwargs: Any,
    ) -> None:
        """Instantiates a standalone RayChannel (its own sender and receiver).

        Args:
            actor_options: Optional; Options to pass to the Ray actor. Defaults to
                `{"num_cpus": 0}`; yours update those defaults.
            maxsize: Optional; frames the hub buffers before `send()` waits (`<= 0`:
                unbounded).
            codec: Optional; how items become signed frames (default: pickle, fresh key).
            batch_size: Optional; most frames per actor call.
            **kwargs: Additional keyword arguments to pass to the underlying Channel.

        Raises:
            TypeError: If `actor_options` is not a dict or `maxsize` not an int.
            ValueError: If `actor_options` names the actor or `batch_size` is not >= 1.
        """
        super().__init__(maxsize=maxsize, codec=codec, **kwargs)
        self._actor_options = actor_options_for(actor_options)
        self._setup(None, _BOTH, batch_limit(batch_size, maxsize), pubsub=False)

    @classmethod
    def _attach(
        cls,
        handle: Any,
        role: int,
        reply: Reply | None,
        *,
        name: str | None,
        maxsize: int,
        codec: Codec,
        batch_size: int,
        pubsub: bool,
    ) -> RayChannel:
        channel = cls.__new__(cls)
        SerdeChannel.__init__(channel, maxsize=maxsize, codec=codec)
        channel._actor_options = {}
        channel._setup(handle, role, batch_limit(batch_size, maxsize), pubsub=pubsub)
        channel._name = name
        channel._loop = asyncio.get_running_loop()
        if reply is None:  # a receiver of a connection that has already ended
            channel._ended = True
            return channel
        if role & _SEND:
            channel._sid, channel._stoken = reply.ident, reply.token
        else:
            channel._rid, channel._rtoken = reply.ident, reply.token
        channel._note(reply)
        return channel

    def _setup(self, handle: Any, role: int, batch: int, *, pubsub: bool) -> None:
        self._handle = handle
        self._loop: asyncio.AbstractEventLoop | None = None  # bound by _attach or first use
        self._name: str | None = None
        self._role = role
        self._pubsub = pubsub
        self._batch = batch
        self._counts = (0, 0)
        # sending
        self._sid, self._stoken = 0, b""
        self._outbox: deque[bytes] = deque()
        self._outbox_limit = min(2 * batch, self._maxsize) if self._maxsize > 0 else 2 * batch
        self._flusher: asyncio.Task[None] | None = None
        self._room_waiters: list[asyncio.Future[None]] = []
        self._send_failure: ChannelError | None = None
        # receiving
        self._rid, self._rtoken = 0, b""
        self._inbox: deque[bytes] = deque()
        self._pending: asyncio.Task[Reply] | None = None
        self._ended = False
        self._recv_failure: ChannelError | None = None

    # -- plumbing --------------------------------------------------------------------------

    async def _link(self) -> Any:
        """Returns the hub handle, creating a standalone channel's private hub on first use."""
        if self._handle is not None:
            return self._handle
        if self._role != _BOTH:
            raise ChannelClosedError("this connection had ended before this channel connected")
        handle, sent, got = await runtime.standalone_hub(self._maxsize, self._actor_options)
        linked: Any = self._handle  # re-read: another task may have linked meanwhile
        if linked is None:
            self._sid, self._rid = sent.ident, got.ident
            self._stoken, self._rtoken = sent.token, got.token
            self._note(got)
            self._handle = handle
        else:  # a concurrent first use linked first
            runtime.kill(handle)
        return self._handle

    def _check_loop(self) -> None:
        """Binds a standalone channel to its first loop; raises if awaited from another one."""
        running = asyncio.get_running_loop()
        if self._loop is None:
            self._loop = running
        elif self._loop is not running:
            raise ChannelError(
                "this RayChannel belongs to another event loop: its batches travel on tasks of "
                "the loop that connected it. Connect a new channel in this loop (the "
                "RayConnector can be shared between loops and threads; its channels cannot)."
            )

    def _note(self, reply: Reply) -> None:
        self._counts = (reply.senders, reply.receivers)
        if reply.release:
            runtime.release(self._handle, self._name)

    def _wake_room(self) -> None:
        waiters, self._room_waiters = self._room_waiters, []
        for fut in waiters:
            if not fut.done():
                fut.set_result(None)

    def _check_send(self) -> None:
        if not self._role & _SEND:
            raise ChannelError("this channel was made by connect_recv(): it cannot send")
        if self._is_closed:
            raise ChannelClosedError("RayChannel is closed: cannot send")
        if self._send_failure is not None:
            raise type(self._send_failure)(str(self._send_failure)) from self._send_failure

    # -- sending ---------------------------------------------------------------------------

    async def send_bytes(self, msg: bytes) -> None:
        """Queues one frame for the next batch, waiting while the outbox is full.

        Args:
            msg: The frame.

        Raises:
            ChannelClosedError: If the channel is closed (also while waiting), or every
                receiver of the pipeline has closed and its buffer is full.
            ChannelError: If the hub actor is gone, this channel cannot send, or it belongs
                to another event loop.
        """
        self._check_loop()
        self._check_send()
        handle = await self._link()
        while len(self._outbox) >= self._outbox_limit:
            fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._room_waiters.append(fut)
            await fut
            self._check_send()
        self._outbox.append(msg)
        if self._flusher is None:
            self._flusher = asyncio.get_running_loop().create_task(self._flush(handle))

    async def _flush(self, handle: Any) -> None:
        try:
            while self._outbox and not self._is_closed:
                batch = list(itertools.islice(self._outbox, self._batch))
                ref = handle.put.remote(self._sid, self._stoken, batch)
                reply = await runtime.call("send", ref)
                self._note(reply)
                if reply.status == OK:
                    for _ in range(reply.accepted):
                        self._outbox.popleft()
                    self._wake_room()
                elif reply.status == ABORTED:
                    return
                elif reply.status == NO_RECEIVERS:
                    raise ChannelClosedError(
                        "every receiver of this pipeline has closed and its buffer is full: "
                        "nothing will take these items"
                    )
                else:
                    raise runtime.lost_state(reply)
        except ChannelError as exc:
            self._send_failure = exc
        except Exception as exc:  # pragma: no cover - anything else Ray may raise
            self._send_failure = ChannelError(f"sending through Ray failed: {exc!r}")
        finally:
            self._flusher = None
            self._wake_room()

    # -- receiving -------------------------------------------------------------------------

    async def recv_bytes(self) -> bytes:
        """Returns the next frame, fetching a batch from the hub when the inbox is empty.

        Raises:
            ChannelClosedError: When every sender has closed and all was delivered, or this
                receiving channel was closed.
            ChannelError: If the hub actor is gone, this channel cannot receive, or it
                belongs to another event loop.
        """
        self._check_loop()
        if not self._role & _RECV:
            raise ChannelError("this channel was made by connect_send(): it cannot receive")
        if self._ended and not self._inbox and self._handle is None:
            raise ChannelClosedError("this connection had ended before this receiver connected")
        handle = await self._link()
        while True:
            if self._is_closed and self._role == _RECV:
                raise ChannelClosedError("RayChannel is closed: cannot receive")
            if self._inbox:
                return self._inbox.popleft()
            if self._recv_failure is not None:
                failure = self._recv_failure
                raise type(failure)(str(failure)) from failure
            if self._ended:
                raise ChannelClosedError("every sender has closed and all was delivered")
            pending = self._pending
            if pending is None:
                pending = self._fetch(handle)
            # The fetch belongs to the channel: cancelling this recv() leaves it running and
            # its frames land in the inbox for the next recv().
            await asyncio.wait([pending])
            self._absorb(pending)

    def _fetch(self, handle: Any) -> asyncio.Task[Reply]:
        ref = handle.get.remote(self._rid, self._rtoken, self._batch)
        task = asyncio.get_running_loop().create_task(runtime.call("receive", ref))
        task.add_done_callback(self._absorb)
        self._pending = task
        return task

    def _absorb(self, task: asyncio.Task[Reply]) -> None:
        """Takes a finished fetch's frames into the inbox (once; from callback or recv)."""
        if self._pending is not task:
            return
        self._pending = None
        if task.cancelled():
            return
        exc = task.exception()
        if exc is not None:
            self._recv_failure = (
                exc if isinstance(exc, ChannelError) else ChannelError(f"receive failed: {exc!r}")
            )
            return
        reply = task.result()
        self._note(reply)
        if reply.status == OK:
            for frame in reply.frames:  # anything but bytes is rejected, never decoded
                if type(frame) is bytes:
                    self._inbox.append(frame)
                else:
                    self.reject(f"a {type(frame).__name__} arrived where a frame was due")
        elif reply.status == END:
            self._ended = True
        elif reply.status != ABORTED:
            self._recv_failure = runtime.lost_state(reply)

    # -- closing ---------------------------------------------------------------------------

    async def close(self) -> None:
        """Closes the RayChannel; closing twice is harmless.

        A sender flushes what it holds to the hub and unregisters; the last sender ends the
        connection. A receiver unregisters; in a pipeline its unread batch goes back to the
        other receivers. When every side has closed, the hub actor is killed.

        Raises:
            ChannelError: If the hub actor is gone and this sender still held messages
                (they are lost), or the channel belongs to another event loop.
        """
        if self._is_closed:
            return
        self._check_loop()
        await super().close()
        self._wake_room()
        if self._handle is None:
            return
        if self._role & _SEND:
            await self._close_sender()
        if self._role == _RECV:
            await self._close_receiver()

    async def _close_sender(self) -> None:
        handle = self._handle
        flusher = self._flusher
        if flusher is not None:
            with contextlib.suppress(ChannelError):  # the flusher fails too, and says why
                await runtime.call("close", handle.abort_put.remote(self._sid, self._stoken))
            await asyncio.wait([flusher])
        rest = list(self._outbox)
        self._outbox.clear()
        try:
            ref = handle.close_sender.remote(self._sid, self._stoken, rest)
            reply = await runtime.call("close", ref)
        except ChannelError as exc:
            if rest:
                raise ChannelError(f"{len(rest)} messages were not delivered: {exc}") from exc
            _log.debug("connector_ray: closing a sender of a gone hub: %s", exc)
            return
        self._note(reply)

    async def _close_receiver(self) -> None:
        handle = self._handle
        try:
            pending = self._pending
            if pending is not None:
                await runtime.call("close", handle.abort_get.remote(self._rid, self._rtoken))
                await asyncio.wait([pending])
                self._absorb(pending)
            rest = [] if self._pubsub else list(self._inbox)
            self._inbox.clear()
            ref = handle.close_receiver.remote(self._rid, self._rtoken, rest)
            reply = await runtime.call("close", ref)
        except ChannelError as exc:
            _log.debug("connector_ray: closing a receiver of a gone hub: %s", exc)
            return
        self._note(reply)

    # -- statistics ------------------------------------------------------------------------

    def _buffered(self) -> int:
        return len(self._outbox) + len(self._inbox)

    def _peer_counts(self) -> tuple[int, int]:
        senders, receivers = self._counts
        if self._role & _SEND and not self._is_closed:
            senders = max(senders, 1)
        if self._role & _RECV and not self._is_closed:
            receivers = max(receivers, 1)
        return (senders, receivers)

    def __reduce__(self) -> Any:
        raise TypeError(
            "a RayChannel belongs to the process that connected it and cannot be pickled; "
            "pass the RayConnector instead and connect in the other process"
        )
