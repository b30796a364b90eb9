"""`Watcher`: a receiver's second task, which watches the connection around its reads.

It blocks on the control stream and `sig` at once (`XREAD BLOCK`, bounded by the `block`
setting) and, on every change, folds the control entries into the receiver's `Lifecycle` and
pokes the receiver's reader. Every third of the claim idle time it refreshes the receiver's
heartbeat and the idle time of the entries it holds (so nobody claims them while it lives),
and takes out receivers found dead (`connector_redis.liveness`). While the connection is
quiescent under a grace period, it appends `END` once the period has passed.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Protocol

from connector_core.settings import Settings
from connector_redis.control import ControlLog
from connector_redis.entries import END
from connector_redis.liveness import reap
from connector_redis.settings import RedisSettings

__all__ = ["Watched", "Watcher"]


class Watched(Protocol):
    """What a watcher needs of its receiver."""

    group: str
    me: str

    def poke(self) -> None:
        """Something changed: look again."""

    def held_ids(self) -> list[str]:
        """Entries the receiver holds, unacknowledged."""
        ...

    def fail(self, exc: BaseException) -> None:
        """Ends receiving with `exc`."""


class Watcher:
    """The watching task of one receiver (see the module docstring)."""

    def __init__(self, receiver: Watched, log: ControlLog, settings: RedisSettings) -> None:
        """Creates the watcher; `start()` starts its task.

        Args:
            receiver: The receiver it pokes.
            log: The receiver's control log.
            settings: The backend's settings (block, claim idle, grace).
        """
        self.receiver = receiver
        self.log = log
        self.settings = settings
        self.grace = settings.end_grace_for(Settings())  # CONNECTOR_END_GRACE, when set
        self.task: asyncio.Task[None] | None = None
        self._spell = ""
        self._deadline = 0.0
        self._stopping = False

    def start(self) -> None:
        """Starts the task."""
        self.task = asyncio.ensure_future(self._run())

    async def stop(self) -> None:
        """Stops the task at its next wake-up (this adds one), else cancels it."""
        self._stopping = True
        task = self.task
        if task is None or task.done():
            return
        with contextlib.suppress(Exception):  # a wake-up only shortens the wait
            await self.log.store.wake()
        await asyncio.wait({task}, timeout=self.settings.block + 1)
        if not task.done():
            task.cancel()
            await asyncio.wait({task}, timeout=self.settings.block + 1)

    def stopped(self) -> bool:
        """True once `stop()` was called."""
        return self._stopping

    async def _run(self) -> None:
        try:
            await self._watch()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            self.receiver.fail(exc)

    async def _watch(self) -> None:
        store, log, settings = self.log.store, self.log, self.settings
        beat = settings.claim_idle / 3
        _, sig = await store.status(wait=False)
        next_beat = 0.0
        while not self.stopped():
            now = time.monotonic()
            if now >= next_beat:
                await self._beat()
                next_beat = time.monotonic() + beat
            timeout = max(0.001, min(settings.block, next_beat - time.monotonic()))
            if log.life.end_pending:
                timeout = min(timeout, await self._count_down_grace())
            entries, seen = await store.read_control(log.position, sig, timeout)
            if self.stopped():
                return
            changed = log.fold(entries)
            if seen != sig:
                sig = seen or sig
                changed = True
            if changed:
                self.receiver.poke()

    async def _beat(self) -> None:
        receiver, store = self.receiver, self.log.store
        await store.heartbeat(receiver.me, self.settings.claim_idle)
        if not store.pubsub:
            await store.keep(receiver.group, receiver.me, receiver.held_ids())
        if await reap(self.log, self.settings.claim_idle):
            receiver.poke()

    async def _count_down_grace(self) -> float:
        """Appends `END` once the quiescent spell has lasted the grace; returns time left."""
        now = time.monotonic()
        if self._spell != self.log.spell:
            self._spell = self.log.spell
            self._deadline = now + self.grace
        if now < self._deadline:
            return self._deadline - now
        await self.log.append(END, self._spell.encode())
        self._deadline = now + self.settings.block  # if it did not end (a new open), not again
        return self.settings.block
