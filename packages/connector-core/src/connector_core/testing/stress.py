"""Long-run scenarios that any backend can be put through, with the counts that judge them.

Each scenario drives real channels of one connector and returns an `Outcome`: how many
messages were expected, lost and duplicated, how many receives were cancelled, the largest
backlog observed, how many bad frames were rejected. Tests assert on outcomes; the
`tools/stress.py` command prints them as a table. Items are consecutive integers, so loss and
duplication are exact.
"""

from __future__ import annotations

import asyncio
import os
import random
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, cast

from connector_core.channel import Channel
from connector_core.connector import Connector
from connector_core.exceptions import ChannelClosedError, ChannelDecodeError
from connector_core.serde import SerdeChannel
from connector_core.spec import ConnectorMode

__all__ = [
    "Outcome",
    "Resources",
    "fuzz_frames",
    "stalled_consumer",
    "stream",
    "tally",
]


@dataclass
class Outcome:
    """What a scenario observed."""

    scenario: str
    mode: str
    messages: int
    lost: int = 0
    duplicated: int = 0
    cancelled: int = 0
    max_buffered: int | None = None
    rejected: int = 0
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)

    @property
    def rate(self) -> float:
        """Messages per second over the scenario (0 when not timed)."""
        return self.messages / self.seconds if self.seconds else 0.0


@dataclass(frozen=True)
class Resources:
    """Process resources that must return to their baseline after every channel closed."""

    rss_mb: float
    fds: int
    threads: int
    """OS threads, except the workers of asyncio's default executor (see `now`)."""
    children: int

    @classmethod
    def now(cls) -> Resources:
        """Measures this process (needs psutil).

        The event loop's default executor (threads named ``asyncio_<n>``) is not counted: it
        is a bounded pool (at most ``min(32, cpus + 4)``) that asyncio grows on demand, for
        example when two connections resolve ``localhost`` at once (`getaddrinfo` runs
        there), and keeps for the loop's life. A thread anywhere else still counts.
        """
        import psutil  # optional: imported only for resource checks

        process = psutil.Process(os.getpid())
        executor = sum(1 for t in threading.enumerate() if t.name.startswith("asyncio_"))
        return cls(
            rss_mb=process.memory_info().rss / 2**20,
            fds=process.num_fds(),
            threads=process.num_threads() - executor,
            children=len(process.children(recursive=True)),
        )

    def growth(self, later: Resources) -> dict[str, float]:
        """Returns `later - self` per field."""
        return {
            "rss_mb": round(later.rss_mb - self.rss_mb, 1),
            "fds": later.fds - self.fds,
            "threads": later.threads - self.threads,
            "children": later.children - self.children,
        }


def tally(messages: int, received: list[list[int]], mode: ConnectorMode) -> tuple[int, int]:
    """Returns (lost, duplicated) for items `0..messages-1` received by each receiver."""
    if mode is ConnectorMode.PIPELINE:
        counts = Counter(item for items in received for item in items)
        lost = messages - sum(1 for item in counts if 0 <= item < messages)
        duplicated = sum(count - 1 for count in counts.values())
        return lost, duplicated
    lost = duplicated = 0
    for items in received:
        unique = set(items)
        lost += messages - sum(1 for item in unique if 0 <= item < messages)
        duplicated += len(items) - len(unique)
    return lost, duplicated


async def _produce(sender: Channel, messages: int, progress: list[int]) -> None:
    for i in range(messages):
        await sender.send(i)
        progress[0] = i + 1
    await sender.close()


async def _receive_with_cancellation(
    channel: Channel, quota: int, rng: random.Random
) -> tuple[list[int], int]:
    """Receives until the end, racing receives against cancellation until `quota` hit.

    Each raced receive gets a tiny timeout, or a cancel after 0-3 loop turns.
    """
    items: list[int] = []
    cancelled = 0
    while True:
        if cancelled < quota:
            if rng.random() < 0.5:
                try:
                    items.append(await asyncio.wait_for(channel.recv(), rng.uniform(1e-5, 1e-3)))
                except TimeoutError:
                    cancelled += 1
                except ChannelClosedError:
                    break
                continue
            task = asyncio.ensure_future(channel.recv())
            for _ in range(rng.randrange(4)):
                await asyncio.sleep(0)  # cancel at a random point of the receive
            task.cancel()
            try:
                items.append(await task)
            except asyncio.CancelledError:
                cancelled += 1
            except ChannelClosedError:
                break
            continue
        try:
            items.append(await channel.recv())
        except ChannelClosedError:
            break
    return items, cancelled


async def stream(
    connector: Connector,
    messages: int,
    *,
    receivers: int = 1,
    cancels: int = 0,
    seed: int = 0,
) -> Outcome:
    """Streams `messages` integers from one sender to `receivers` receivers.

    Args:
        connector: A fresh connector.
        messages: How many items to send.
        receivers: How many receivers (competing in a pipeline, each a subscriber in pubsub).
        cancels: How many receives to cancel at random points, in total.
        seed: Seed of the random cancellation schedule.

    Returns:
        The outcome, with lost, duplicated and cancelled counts.
    """
    mode = connector.spec.mode
    channels = [await connector.connect_recv() for _ in range(receivers)]
    sender = await connector.connect_send()
    quota = -(-cancels // receivers)
    progress = [0]
    started = time.perf_counter()
    producer = asyncio.create_task(_produce(sender, messages, progress))
    results = await asyncio.gather(
        *(
            _receive_with_cancellation(ch, quota, random.Random(seed + n))
            for n, ch in enumerate(channels)
        )
    )
    await producer
    seconds = time.perf_counter() - started
    for channel in channels:
        await channel.close()
    lost, duplicated = tally(messages, [items for items, _ in results], mode)
    return Outcome(
        scenario="cancellation" if cancels else "stream",
        mode=mode.value,
        messages=messages,
        lost=lost,
        duplicated=duplicated,
        cancelled=sum(n for _, n in results),
        seconds=seconds,
    )


async def stalled_consumer(
    connector: Connector, messages: int, *, stall: float, sample_every: float = 0.02
) -> Outcome:
    """Stops the only consumer for `stall` seconds while the producer pushes `messages`.

    The backlog (items the sender has handed over minus items received) is sampled while the
    consumer is stopped; its maximum is `max_buffered`.
    """
    mode = connector.spec.mode
    receiver = await connector.connect_recv()
    sender = await connector.connect_send()
    progress = [0]
    started = time.perf_counter()
    producer = asyncio.create_task(_produce(sender, messages, progress))
    items: list[int] = [await receiver.recv()]
    max_backlog = 0
    stop_at = time.monotonic() + stall
    while time.monotonic() < stop_at:
        max_backlog = max(max_backlog, progress[0] - len(items))
        await asyncio.sleep(sample_every)  # the consumer is stalled on purpose
    max_backlog = max(max_backlog, progress[0] - len(items))
    while True:
        try:
            items.append(await receiver.recv())
        except ChannelClosedError:
            break
    await producer
    await receiver.close()
    lost, duplicated = tally(messages, [items], mode)
    return Outcome(
        scenario="stalled-consumer",
        mode=mode.value,
        messages=messages,
        lost=lost,
        duplicated=duplicated,
        max_buffered=max_backlog,
        seconds=time.perf_counter() - started,
    )


def _bad_frame(rng: random.Random, genuine: bytes) -> bytes:
    if rng.random() < 0.5:
        return rng.randbytes(rng.randrange(1, 300))
    frame = bytearray(genuine)
    for _ in range(rng.randrange(1, 4)):
        position = rng.randrange(len(frame))
        frame[position] ^= 1 << rng.randrange(8)
    return bytes(frame)


async def fuzz_frames(connector: Connector, frames: int, *, seed: int = 0) -> Outcome:
    """Feeds random and bit-flipped frames to the receive path, with a genuine item after each.

    Every bad frame must be rejected (dropped and counted, or raised as `ChannelDecodeError`
    once) and every genuine item must still arrive, in order.
    """
    mode = connector.spec.mode
    receiver = await connector.connect_recv()
    sender = await connector.connect_send()
    if not isinstance(sender, SerdeChannel) or not isinstance(receiver, SerdeChannel):
        raise TypeError(f"{type(connector).__name__} channels do not carry frames")
    rng = random.Random(seed)
    genuine = sender.seal_bytes(sender.codec.serializer.dumps([{"genuine": True}]))
    started = time.perf_counter()
    received: list[Any] = []
    decode_errors = 0
    for i in range(frames):
        await sender.send_bytes(_bad_frame(rng, genuine))
        await sender.send(i)
        while True:
            try:
                item = await asyncio.wait_for(receiver.recv(), 30)
            except ChannelDecodeError:
                decode_errors += 1
                continue
            received.append(item)
            break
    await sender.close()
    await receiver.close()
    lost, duplicated = tally(frames, [[x for x in received if isinstance(x, int)]], mode)
    return Outcome(
        scenario="fuzz",
        mode=mode.value,
        messages=frames,
        lost=lost,
        duplicated=duplicated,
        rejected=receiver.statistics().rejected + decode_errors,
        seconds=time.perf_counter() - started,
    )


async def kill_a_receiver(
    connector: Connector,
    messages: int,
    *,
    receivers: int = 3,
    kill_after: int = 100,
    timeout: float = 120.0,
) -> Outcome:
    """Streams to receiver processes (spawn) and SIGKILLs one after it took `kill_after` items.

    Every receiver reports each item the moment it has it, so what the killed one had taken is
    known; `lost` counts items nobody reported. The survivors must see the end of the stream:
    a hang raises `TimeoutError`.
    """
    import multiprocessing  # local: only fault scenarios start processes
    import signal
    from multiprocessing import connection as mp_connection

    from connector_core.testing import workers

    ctx = multiprocessing.get_context("spawn")
    processes: list[Any] = []
    pipes: dict[Any, str] = {}
    names = [f"w{n}" for n in range(receivers)]
    taken: dict[str, list[int]] = {name: [] for name in names}
    started = time.perf_counter()
    try:
        readies = []
        for name in names:
            ready = ctx.Event()
            readies.append(ready)
            reader, writer = ctx.Pipe(duplex=False)
            pipes[reader] = name
            process = ctx.Process(
                target=workers.receive_and_report,
                args=(connector, name, ready, writer),
                daemon=True,
            )
            process.start()
            writer.close()
            processes.append(process)
        for ready in readies:
            if not await asyncio.to_thread(ready.wait, timeout):
                raise TimeoutError("a receiver process did not connect in time")
        sender = await connector.connect_send()
        producing = asyncio.create_task(_produce(sender, messages, [0]))
        victim = processes[0]
        ended: set[str] = set()
        async with asyncio.timeout(timeout):
            while ended != set(names[1:]):
                readable = await asyncio.to_thread(mp_connection.wait, list(pipes), 1.0)
                for ready_end in readable:
                    reader = cast("Any", ready_end)
                    try:
                        name, item = reader.recv()
                    except EOFError:  # the process exited (or was killed)
                        del pipes[reader]
                        continue
                    if item == workers.END:
                        ended.add(name)
                        continue
                    taken[name].append(item)
                    if name == names[0] and len(taken[name]) == kill_after:
                        os.kill(victim.pid, signal.SIGKILL)
                if producing.done():
                    producing.result()  # a sender error ends the scenario with that error
            await producing
    finally:
        for process in processes:
            if process.is_alive():
                process.kill()
            process.join(10)
        for reader in pipes:
            reader.close()
    lost, duplicated = tally(messages, list(taken.values()), ConnectorMode.PIPELINE)
    outcome = Outcome(
        scenario="kill-receiver",
        mode=ConnectorMode.PIPELINE.value,
        messages=messages,
        lost=lost,
        duplicated=duplicated,
        seconds=time.perf_counter() - started,
    )
    outcome.notes.append(
        f"killed receiver took {len(taken[names[0]])} items, exit {victim.exitcode}"
    )
    return outcome
