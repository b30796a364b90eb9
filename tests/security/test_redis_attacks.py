"""Attacks on a Redis connection by a party with access to the server but no connector key.

The attacker runs in a separate process (`redis_attacker.py`, a plain redis-py client); the
test is the legitimate sender and receiver, and asserts what they observe: the same items in
the same order, a stream that ends only when the real sender closed, and what was dropped
counted (data entries in `statistics().rejected`, control entries in the receiver's control
log). The last test shows the limit: moving pending entries between pipeline receivers
(XCLAIM) needs no key and can make two receivers deliver the same item.
"""

from __future__ import annotations

import asyncio
import pickle
import subprocess
import sys
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from redis.asyncio import Redis

from connector_core import ConnectorMode, ConnectorSpec, Settings
from connector_core.channel import Channel
from connector_core.testing import drain, skip_or_fail
from connector_core.testing.backends import installed_profiles, unavailable_reason
from connector_core.testing.programs import run_program
from connector_redis import RedisConnector, purge
from connector_redis.keys import StreamId, parse_id
from connector_redis.receiver import RedisReceiver
from connector_redis.settings import RedisSettings
from connector_redis.store import RawEntry

pytestmark = [pytest.mark.redis, pytest.mark.asyncio(loop_scope="session")]

ATTACKER = Path(__file__).with_name("redis_attacker.py")
ATTACK_TIMEOUT = 60.0
RUN_TIMEOUT = 60.0
MODES = pytest.mark.parametrize("mode", list(ConnectorMode), ids=lambda m: m.value)


@pytest.fixture
def redis_url() -> str:
    """The server URL a user's program would use; skips when Redis cannot run here."""
    profile = installed_profiles().get("redis")
    if profile is None:
        skip_or_fail("connector-redis is not installed")
    reason = unavailable_reason(profile)
    if reason is not None:
        skip_or_fail(reason)
    return RedisSettings().url.get_secret_value()


@pytest_asyncio.fixture(loop_scope="session")
async def job() -> AsyncIterator[str]:
    """A fresh job id; whatever the attacks left under it is purged afterwards."""
    job_id = f"security-{uuid.uuid4().hex[:12]}"
    yield job_id
    await purge(job_id)


def _connector(
    job: str, mode: ConnectorMode, end_grace: float | None = None, maxsize: int = 100
) -> RedisConnector:
    tag = uuid.uuid4().hex[:10]
    spec = ConnectorSpec(f"sec-{tag}.out", f"sink-{tag}.in", mode)
    if end_grace is None:
        return RedisConnector(spec, job_id=job, maxsize=maxsize)
    settings = Settings(end_grace=end_grace)
    return RedisConnector(spec, job_id=job, settings=settings, maxsize=maxsize)


def _target(redis_url: str, connector: RedisConnector) -> list[str]:
    """The attacker's view of a connection: the server, the job id and the spec id."""
    return [redis_url, connector.job_id, connector.spec.id]


async def _attack(*args: str) -> str:
    """Runs the attacker to completion in its own process; returns what it printed."""
    command = [sys.executable, str(ATTACKER), *args]
    result = await asyncio.to_thread(
        run_program, command, timeout=ATTACK_TIMEOUT, what="the attacker"
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


async def _receive_all(receiver: Channel) -> tuple[list[object], int]:
    """The rest of a receiver's stream, and how many frames it rejected."""
    got = await drain(receiver, timeout=RUN_TIMEOUT)
    rejected = receiver.statistics().rejected
    await receiver.close()
    return got, rejected


class ControlReads:
    """Tells when a receiver's watcher has read its control stream past a given entry."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, receiver: Channel) -> None:
        transport = getattr(receiver, "_rx", None)
        assert isinstance(transport, RedisReceiver)
        self.log = transport.log
        self._target: StreamId | None = None
        self._past = asyncio.Event()
        fold = self.log.fold

        def folding(entries: list[RawEntry]) -> bool:
            changed = fold(entries)
            self._check()
            return changed

        monkeypatch.setattr(self.log, "fold", folding)

    def _check(self) -> None:
        if self._target is not None and parse_id(self.log.position) >= self._target:
            self._past.set()

    async def past(self, said: str) -> int:
        """Waits until the entry whose id ends `said` was read; returns the entries dropped."""
        self._target = parse_id(said.split()[-1])
        self._check()
        async with asyncio.timeout(RUN_TIMEOUT):
            await self._past.wait()
        return self.log.rejected


class Acks:
    """Counts the acknowledgements receivers carried out, per entry id."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, *receivers: Channel) -> None:
        self._done: Counter[str] = Counter()
        self._changed = asyncio.Event()
        for receiver in receivers:
            transport = getattr(receiver, "_rx", None)
            assert isinstance(transport, RedisReceiver)
            store = transport.store
            for name, position in (("fetch", 4), ("ack", 1)):
                monkeypatch.setattr(store, name, self._watching(getattr(store, name), position))

    def _watching(self, call: Any, position: int) -> Any:
        async def watched(*args: Any) -> Any:
            reply = await call(*args)
            self._done.update(entry_id for entry_id, _ in args[position])
            self._changed.set()
            return reply

        return watched

    async def carried_out(self, said: str, times: int) -> None:
        """Waits until the entry whose id ends `said` was acknowledged `times` times."""
        target = said.split()[-1]
        async with asyncio.timeout(RUN_TIMEOUT):
            while self._done[target] < times:
                self._changed.clear()
                await self._changed.wait()


async def _held(connector: RedisConnector) -> int:
    """The items the connection's `held` counter says the stream still holds for a group."""
    client = Redis.from_url(RedisSettings().url.get_secret_value())
    try:
        return int(await client.get(connector.keys.held) or 0)
    finally:
        await client.aclose()


async def _send(sender: Channel, items: range) -> None:
    for item in items:
        await sender.send(item)


# -- the data stream -------------------------------------------------------------------------


@MODES
async def test_junk_entries_in_the_data_stream_are_dropped_and_counted(
    redis_url: str, job: str, mode: ConnectorMode
) -> None:
    connector = _connector(job, mode)
    receiver = await connector.connect_recv()
    sender = await connector.connect_send()
    await _send(sender, range(3))
    said = await _attack("junk", *_target(redis_url, connector), "6")
    assert "added 6 junk entries" in said
    await _send(sender, range(3, 6))
    await sender.close()

    got, rejected = await _receive_all(receiver)

    assert got == [0, 1, 2, 3, 4, 5]
    assert rejected == 6


async def test_junk_claiming_many_items_frees_no_room_in_a_pipeline(
    redis_url: str, job: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    connector = _connector(job, ConnectorMode.PIPELINE, maxsize=4)
    slow = await connector.connect_recv()
    sender = await connector.connect_send()
    await sender.send_many(range(4))  # one entry of four items
    assert await slow.recv() == 0  # the slow receiver holds that entry, unacknowledged
    fast = await connector.connect_recv()
    acks = Acks(monkeypatch, fast)
    fast_got = asyncio.create_task(_receive_all(fast))

    said = await _attack("junk-counted", *_target(redis_url, connector), "1000000")
    assert "added a junk entry claiming 1000000 items" in said
    await acks.carried_out(said, times=1)

    # The entry of four items still waits for its receiver: the junk's count freed nothing.
    assert await _held(connector) == 4
    await sender.close()
    slow_got, _ = await _receive_all(slow)
    got, rejected = await fast_got
    assert Counter([0, *slow_got, *got]) == Counter(range(4))
    assert rejected == 1


async def test_junk_claiming_many_items_frees_no_room_in_pubsub(
    redis_url: str, job: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    connector = _connector(job, ConnectorMode.PUBSUB, maxsize=4)
    fast = await connector.connect_recv()
    slow = await connector.connect_recv()
    sender = await connector.connect_send()
    acks = Acks(monkeypatch, fast, slow)
    await sender.send(0)
    assert await fast.recv() == 0
    assert await slow.recv() == 0  # both hold item 0 until they ask for the next

    said = await _attack("junk-counted", *_target(redis_url, connector), "1000000")
    assert "added a junk entry claiming 1000000 items" in said
    await sender.send_many(range(1, 4))  # behind the junk
    assert await slow.recv() == 1  # the slow subscriber still needs items 1 to 3
    assert [await fast.recv() for _ in range(3)] == [1, 2, 3]
    await acks.carried_out(said, times=2)  # both groups are past the junk: it was trimmed

    # Item 0 left the stream with the junk; items 1 to 3 still wait for the slow subscriber.
    assert await _held(connector) == 3
    await sender.close()
    slow_got, slow_rejected = await _receive_all(slow)
    fast_got, fast_rejected = await _receive_all(fast)
    assert (slow_got, fast_got) == ([2, 3], [])
    assert (slow_rejected, fast_rejected) == (1, 1)


@MODES
async def test_a_forged_data_entry_in_the_senders_name_is_dropped_and_counted(
    redis_url: str, job: str, mode: ConnectorMode
) -> None:
    connector = _connector(job, mode)
    receiver = await connector.connect_recv()
    sender = await connector.connect_send()
    await _send(sender, range(3))
    assert "forged a data entry" in await _attack("forge-data", *_target(redis_url, connector))
    await _send(sender, range(3, 6))
    await sender.close()

    got, rejected = await _receive_all(receiver)

    assert got == [0, 1, 2, 3, 4, 5]
    assert rejected == 1


@MODES
async def test_a_copy_of_a_captured_data_entry_is_dropped_and_counted(
    redis_url: str, job: str, mode: ConnectorMode
) -> None:
    connector = _connector(job, mode)
    receiver = await connector.connect_recv()
    sender = await connector.connect_send()
    attacker = await asyncio.create_subprocess_exec(
        sys.executable,
        str(ATTACKER),
        "replay",
        *_target(redis_url, connector),
        stdout=subprocess.PIPE,
    )
    assert attacker.stdout is not None
    async with asyncio.timeout(ATTACK_TIMEOUT):
        assert (await attacker.stdout.readline()).strip() == b"listening"
        await _send(sender, range(3))  # the attacker captures the entry that carries these
        said = (await attacker.stdout.read()).decode()
        assert await attacker.wait() == 0
    assert "replayed" in said
    await _send(sender, range(3, 6))
    await sender.close()

    got, rejected = await _receive_all(receiver)

    assert got == [0, 1, 2, 3, 4, 5]
    assert rejected == 1


@MODES
async def test_a_forged_end_marker_neither_ends_the_stream_nor_is_kept(
    redis_url: str, job: str, mode: ConnectorMode
) -> None:
    connector = _connector(job, mode)
    receiver = await connector.connect_recv()
    sender = await connector.connect_send()
    await _send(sender, range(3))
    assert "forged an end marker" in await _attack("forge-marker", *_target(redis_url, connector))
    await _send(sender, range(3, 6))
    await sender.close()

    got, rejected = await _receive_all(receiver)

    assert got == [0, 1, 2, 3, 4, 5]
    assert rejected == 1


# -- the control stream ----------------------------------------------------------------------


@MODES
@pytest.mark.parametrize("kind", ["close", "leave"])
async def test_a_forged_close_or_leave_control_entry_changes_nothing(
    redis_url: str, job: str, mode: ConnectorMode, kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    connector = _connector(job, mode)
    receiver = await connector.connect_recv()
    sender = await connector.connect_send()
    reads = ControlReads(monkeypatch, receiver)
    await _send(sender, range(3))
    assert [await receiver.recv() for _ in range(3)] == [0, 1, 2]
    said = await _attack("forge-control", *_target(redis_url, connector), kind)
    assert f"forged a {kind} control entry" in said
    assert await reads.past(said) == 1  # the receiver read it, and dropped it
    stats = receiver.statistics()
    assert (stats.senders, stats.receivers, stats.rejected) == (1, 1, 1)
    await _send(sender, range(3, 6))  # a stream ended by the forgery would lose these
    await sender.close()

    got, _ = await _receive_all(receiver)

    assert got == [3, 4, 5]


@MODES
async def test_a_forged_end_does_not_cut_the_grace_period_short(
    redis_url: str, job: str, mode: ConnectorMode, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Long enough for the attack and the second sender, however end_grace is read.
    monkeypatch.setenv("CONNECTOR_END_GRACE", "10")
    connector = _connector(job, mode, end_grace=10.0)
    copy = pickle.loads(pickle.dumps(connector))  # shared: the connection waits end_grace
    receiver = await copy.connect_recv()
    reads = ControlReads(monkeypatch, receiver)
    first = await connector.connect_send()
    await _send(first, range(3))
    await first.close()  # the grace period begins
    said = await _attack("forge-control", *_target(redis_url, connector), "end")
    assert "forged a end control entry" in said
    assert await reads.past(said) == 1
    assert not receiver.statistics().senders  # waiting out the grace, not ended
    second = await copy.connect_send()  # still within the grace: it joins
    await _send(second, range(3, 6))
    await second.close()

    got, _ = await _receive_all(receiver)

    assert got == [0, 1, 2, 3, 4, 5]


@MODES
async def test_copies_of_captured_control_entries_are_dropped(
    redis_url: str, job: str, mode: ConnectorMode, monkeypatch: pytest.MonkeyPatch
) -> None:
    connector = _connector(job, mode)
    receiver = await connector.connect_recv()
    sender = await connector.connect_send()
    reads = ControlReads(monkeypatch, receiver)
    said = await _attack("replay-control", *_target(redis_url, connector))
    assert "replayed 2 control entries" in said  # the receiver's join, the sender's open
    assert await reads.past(said) == 2
    stats = receiver.statistics()
    assert (stats.senders, stats.receivers, stats.rejected) == (1, 1, 2)
    await _send(sender, range(6))
    await sender.close()

    got, _ = await _receive_all(receiver)

    assert got == [0, 1, 2, 3, 4, 5]


# -- the limit: pending entries moved between pipeline receivers ----------------------------


async def test_moving_pending_entries_can_duplicate_across_receivers_but_never_within_one(
    redis_url: str, job: str
) -> None:
    connector = _connector(job, ConnectorMode.PIPELINE)
    first = await connector.connect_recv()
    second = await connector.connect_recv()
    sender = await connector.connect_send()
    await _send(sender, range(10))  # one burst: one entry of 10 items
    first_got = [await first.recv()]  # the first receiver holds that entry, unacknowledged

    said = await _attack("move-pending", *_target(redis_url, connector))
    assert "moved 1 pending entries" in said

    # The second receiver takes the moved entry as if a closing receiver had given it back.
    second_got = [await second.recv()]
    await _send(sender, range(10, 20))
    await sender.close()
    results = await asyncio.gather(drain(first), drain(second))
    first_got += results[0]
    second_got += results[1]
    rejected = first.statistics().rejected + second.statistics().rejected
    await first.close()
    await second.close()

    # What it can do: the same items reach the user twice, through two receivers.
    assert set(first_got) & set(second_got) >= {0}
    # What it cannot do: a receiver delivers an item once at most, nothing is lost, nothing
    # foreign arrives, and nothing was dropped as forged.
    assert max(Counter(first_got).values()) == 1
    assert max(Counter(second_got).values()) == 1
    assert set(first_got) | set(second_got) == set(range(20))
    assert rejected == 0
