"""Attacks on a Ray connection by a keyless task of the same cluster (issue 12, finding 2).

The attacker is a plain Ray task. It has the library's code but not the connector (so not its
key): it finds the connection's hub actor with `ray.util.list_named_actors`, guesses the
sequential participant ids, and calls the hub's methods with everything it can know, which
is a forged proof or token wherever the method asks for one. Each test asserts what the
legitimate sender and receiver observe (nothing lost, nothing extra, no code run in the
receiver) and that the attacker was refused.
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
from connector_core.testing import drain  # noqa: E402
from connector_ray import RayConnector  # noqa: E402

pytestmark = pytest.mark.ray

WORKER_ENV = {"py_executable": sys.executable}
"""The attacker runs on this interpreter, with this library installed (see test_ray_workers)."""
STEP = 60.0
REFUSED = {"denied", "unknown"}
"""What a call of the attacker may be answered: refused, or an id that does not exist."""
GUESSED_IDS = [1, 2, 3, 4]


@pytest.fixture(scope="module", autouse=True)
def ray_cluster() -> Iterator[None]:
    """A local 2-CPU Ray for these tests, unless the run already has one."""
    if ray.is_initialized():
        yield
        return
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        yield
    finally:
        ray.shutdown()


def _connector() -> RayConnector:
    tag = uuid.uuid4().hex[:8]
    return RayConnector(ConnectorSpec(f"src-{tag}.out", f"dst-{tag}.in", ConnectorMode.PIPELINE))


def _attack_in_task(
    target: str, method: str, calls: list[tuple[Any, ...]]
) -> list[tuple[str, int]]:
    """A keyless Ray task: finds the hub by listing, then makes each call of `calls`.

    A forged proof (`register`) or token (the other calls) goes where the method takes one.
    The string `"EVIL"` in a frame list stands for an object whose unpickling runs code.

    Returns:
        For each call, the reply's status and how many frames it handed out.
    """
    import inspect

    from connector_ray.hub import ChannelHub

    def evil(code: str) -> object:
        def revive(code: str) -> object:
            exec(code)
            return Evil(code)

        class Evil:
            def __init__(self, code: str) -> None:
                self.code = code

            def __reduce__(self) -> tuple[Any, ...]:
                return (revive, (self.code,))

        return Evil(code)

    listed = [a for a in ray.util.list_named_actors(all_namespaces=True) if a["name"] == target]
    assert listed, f"the hub {target!r} is not listed"
    hub = ray.get_actor(target, namespace=listed[0]["namespace"])
    params = inspect.signature(getattr(ChannelHub, method)).parameters
    results: list[tuple[str, int]] = []
    for call in calls:
        args = [
            [evil(a[4:]) if isinstance(a, str) else a for a in arg]
            if isinstance(arg, list)
            else arg
            for arg in call
        ]
        if method == "register" and "proof" in params:
            args.append(b"\0" * 32)
        elif "token" in params:
            args.insert(1, b"\0" * 16)
        try:
            reply = ray.get(getattr(hub, method).remote(*args), timeout=30)
            results.append((reply.status, len(reply.frames)))
        except Exception as exc:  # a refusal raised by the hub counts as a refusal
            results.append((f"raised {type(exc).__name__}: {exc}"[:300], 0))
    return results


attack: Any = ray.remote(num_cpus=0, runtime_env=WORKER_ENV)(_attack_in_task)


async def _attack(connector: RayConnector, method: str, calls: list[tuple[Any, ...]]) -> set[str]:
    results = await asyncio.wait_for(attack.remote(connector.actor_name, method, calls), STEP)
    assert all(count == 0 for _, count in results), f"the attacker got frames: {results}"
    return {status for status, _ in results}


async def test_a_keyless_task_cannot_take_items_posing_as_a_receiver() -> None:
    connector = _connector()
    receiver = await connector.connect_recv()
    sender = await connector.connect_send()
    for i in range(10):
        await sender.send(i)
    await sender.close()
    statuses = await _attack(connector, "get", [(i, 100) for i in GUESSED_IDS])
    assert statuses <= REFUSED
    assert await drain(receiver, STEP) == list(range(10))


async def test_a_keyless_task_cannot_register() -> None:
    connector = _connector()
    receiver = await connector.connect_recv()
    statuses = await _attack(connector, "register", [("send",), ("recv",)])
    assert statuses == {"denied"}
    sender = await connector.connect_send()
    for i in range(3):
        await sender.send(i)
    await sender.close()
    assert await drain(receiver, STEP) == [0, 1, 2]


async def test_a_keyless_task_cannot_replay_a_captured_frame() -> None:
    connector = _connector()
    receiver = await connector.connect_recv()
    sender = await connector.connect_send()
    captured = connector.codec.seal(["captured"], b"a-sender", 1)
    await sender.send("captured")
    statuses = await _attack(connector, "put", [(i, [captured] * 3) for i in GUESSED_IDS])
    await sender.close()
    assert statuses <= REFUSED
    assert await drain(receiver, STEP) == ["captured"]


async def test_a_non_bytes_frame_runs_no_code_in_the_receiver(tmp_path: Path) -> None:
    canary = tmp_path / "canary"
    code = f"import os\nif os.getpid() == {os.getpid()}:\n    open({str(canary)!r}, 'w').close()"
    connector = _connector()
    receiver = await connector.connect_recv()
    sender = await connector.connect_send()
    await sender.send(1)
    statuses = await _attack(connector, "put", [(i, ["EVIL" + code]) for i in GUESSED_IDS])
    await sender.send(2)
    await sender.close()
    received = await drain(receiver, STEP)
    assert not canary.exists(), "the attacker's object ran code in the receiver"
    assert received == [1, 2]
    assert statuses <= REFUSED


async def test_a_keyless_task_cannot_close_or_abort_a_sender() -> None:
    connector = _connector()
    receiver = await connector.connect_recv()
    sender = await connector.connect_send()
    await sender.send(0)
    aborted = await _attack(connector, "abort_put", [(i,) for i in GUESSED_IDS])
    closed = await _attack(connector, "close_sender", [(i, []) for i in GUESSED_IDS])
    for i in range(1, 5):
        await sender.send(i)
    await sender.close()
    assert aborted | closed <= REFUSED
    assert await drain(receiver, STEP) == [0, 1, 2, 3, 4]


async def test_a_keyless_task_cannot_close_or_abort_a_receiver() -> None:
    connector = _connector()
    receiver = await connector.connect_recv()
    sender = await connector.connect_send()
    await sender.send(0)
    aborted = await _attack(connector, "abort_get", [(i,) for i in GUESSED_IDS])
    closed = await _attack(connector, "close_receiver", [(i, []) for i in GUESSED_IDS])
    await sender.send(1)
    await sender.close()
    assert aborted | closed <= REFUSED
    assert await drain(receiver, STEP) == [0, 1]
