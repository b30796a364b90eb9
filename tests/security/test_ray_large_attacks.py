"""Attacks on the large frames of a Ray connection (issue 14: they cross Ray's object store).

A large frame crosses the hub as a `RefEntry`: an `ObjectRef` and a tag made with the key.
Fetching the object runs Ray's deserializer, which unpickles anything that is not plain
`bytes`, so a receiver must not fetch what the key's holders did not put. The attacker is a
plain Ray task with the library's code but not the connector's key, in two strengths:

- keyless: it finds the hub by listing, guesses participant ids and forges tokens;
- holding the registration proof (`HMAC(key, label)`, as if it had leaked), but not the key:
  the hub registers it, so its entries reach the FIFO; it cannot make their tag.

Its entries point at an object whose unpickling writes a canary file when run in the
receiver's process, and at a frame sealed under another key. Each test asserts what the
legitimate receiver observes: its own items only, in order, no code run in its process,
and what the attacker got into the FIFO counted as rejected.
"""

from __future__ import annotations

import asyncio
import os
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ray = pytest.importorskip("ray")

from connector_core import ConnectorMode, ConnectorSpec  # noqa: E402
from connector_core.codec import Codec  # noqa: E402
from connector_core.testing import drain  # noqa: E402
from connector_ray import RayConnector  # noqa: E402
from connector_ray.hub_protocol import hub_proof  # noqa: E402
from connector_ray.settings import RaySettings  # noqa: E402

pytestmark = pytest.mark.ray

STEP = 60.0
THRESHOLD = 4096
"""The connectors' `large_frame_bytes`: the legitimate items below are large frames too."""


@pytest.fixture(scope="module", autouse=True)
def local_ray() -> Iterator[None]:
    """Ray for this module: the run's session if there is one, else a local 2-CPU one."""
    started = not ray.is_initialized()
    if started:
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    if started:
        ray.shutdown()


def _entries_attack(target: str, proof: bytes | None, code: str, foreign: bytes) -> list[str]:
    """A Ray task without the key: puts two entries in the hub named `target`.

    One points at an object whose unpickling runs `code`, one at `foreign` (a frame sealed
    under another key); both tags are forged. Without `proof` it calls `put` with guessed
    ids and a forged token; with it, it registers as a sender, puts, and closes.

    Returns:
        The status of each call it made.
    """
    from connector_ray.hub_protocol import RefEntry

    class RunsCode:
        def __reduce__(self) -> tuple[Any, ...]:
            return (exec, (code,))

    listed = [a for a in ray.util.list_named_actors(all_namespaces=True) if a["name"] == target]
    assert listed, f"the hub {target!r} is not listed"
    hub = ray.get_actor(target, namespace=listed[0]["namespace"])
    forged = b"\0" * 32
    entries = [RefEntry(ray.put(RunsCode()), forged), RefEntry(ray.put(foreign), forged)]
    if proof is None:
        calls = [hub.put.remote(ident, b"\0" * 16, entries, [1, 1]) for ident in range(1, 5)]
        return [reply.status for reply in ray.get(calls, timeout=30)]
    joined = ray.get(hub.register.remote("send", proof), timeout=30)
    put = ray.get(hub.put.remote(joined.ident, joined.token, entries, [1, 1]), timeout=30)
    closed = ray.get(hub.close_sender.remote(joined.ident, joined.token, []), timeout=30)
    return [joined.status, put.status, closed.status]


attack: Any = ray.remote(num_cpus=0, runtime_env={"py_executable": sys.executable})(_entries_attack)


def _connector() -> RayConnector:
    tag = uuid.uuid4().hex[:8]
    spec = ConnectorSpec(f"src-{tag}.out", f"dst-{tag}.in", ConnectorMode.PIPELINE)
    return RayConnector(spec, ray_settings=RaySettings(large_frame_bytes=THRESHOLD))


async def _attacked(connector: RayConnector, proof: bytes | None, canary: str) -> Any:
    """Plays the attack between two legitimate large items; returns statuses and receiver."""
    code = f"import os\nif os.getpid() == {os.getpid()}:\n    open({canary!r}, 'w').close()"
    name = f"ray:{connector.job_id}:{connector.spec.id}"
    foreign = Codec.generate().bound(name).seal([b"forged" * THRESHOLD], b"attacker", 1)
    receiver = await connector.connect_recv()
    sender = await connector.connect_send()
    await sender.send(b"1" * THRESHOLD)
    ref = attack.remote(connector.actor_name, proof, code, foreign)
    statuses = await asyncio.wait_for(ref, STEP)
    await sender.send(b"2" * THRESHOLD)
    await sender.close()
    received = await drain(receiver, STEP)
    assert received == [b"1" * THRESHOLD, b"2" * THRESHOLD]
    return statuses, receiver


async def test_a_keyless_task_cannot_put_an_entry(tmp_path: Path) -> None:
    canary = tmp_path / "canary"
    statuses, receiver = await _attacked(_connector(), None, str(canary))
    assert not canary.exists(), "the attacker's object was unpickled in the receiver"
    assert set(statuses) <= {"denied", "unknown"}
    assert receiver.statistics().rejected == 0


async def test_entries_of_a_task_with_a_leaked_proof_are_dropped_unfetched(
    tmp_path: Path,
) -> None:
    connector = _connector()
    canary = tmp_path / "canary"
    statuses, receiver = await _attacked(connector, hub_proof(connector.codec), str(canary))
    assert not canary.exists(), "the attacker's object was unpickled in the receiver"
    assert statuses == ["ok", "ok", "ok"]  # registered, put, closed: the hub took them
    assert receiver.statistics().rejected == 2
