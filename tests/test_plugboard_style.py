"""Code written the way plugboard code is written runs here, on every installed backend.

plugboard builds its connectors from a process config: a `connector_builder` entry (the
connector class and its arguments) and a list of spec dicts. Components then pick their own
connectors by entity name (`spec.source.connects_to([name])`), keyed by `str(spec)`. Overrides
are made on the `DI` class. This module does exactly that, with the backend named in the
config and found through the registry (`connector_core.get_backend`), and checks the
differences docs/porting-from-plugboard.md tells a porting user about: a receiver ends only
after every sender has closed.

Services: RabbitMQ is used from `RABBITMQ_URL` (unset: the local broker, as for any user); Ray
is started by the first Ray connector and shared by the rest of the run.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from connector_core import (
    DI,
    ChannelSerializationError,
    Connector,
    ConnectorBuilder,
    ConnectorSpec,
    Settings,
    get_backend,
)
from connector_core.testing import STEP_TIMEOUT, skip_or_fail
from connector_core.testing.backends import (
    BackendProfile,
    installed_profiles,
    unavailable_reason,
)

SESSION_LOOP = pytest.mark.asyncio(loop_scope="session")
"""One loop for the module's async tests, as in tests/stress: the broker connection is shared."""

ITEMS = 40


def process_config(backend: str) -> dict[str, Any]:
    """A plugboard-shaped process config: a connector builder and the connectors' specs."""
    tag = uuid.uuid4().hex[:8]  # fresh names, so that runs on a shared broker never meet
    producer, worker, sink = f"producer-{tag}", f"worker-{tag}", f"sink-{tag}"
    return {
        "name": f"plugboard-style-{tag}",
        "connector_builder": {"type": backend, "args": {"maxsize": 16}},
        "connectors": [
            # the flat form, as written in YAML configs
            {"source": f"{producer}.out", "target": f"{worker}.in"},
            # the nested form, as plugboard's export() wrote it
            {
                "source": {"entity": worker, "descriptor": "out"},
                "target": {"entity": sink, "descriptor": "in"},
                "mode": "pubsub",
            },
        ],
        "components": {"producer": producer, "worker": worker, "sink": sink},
    }


def build_connectors(config: dict[str, Any]) -> dict[str, Connector]:
    """What plugboard's ProcessBuilder does: one builder, one connector per spec, by id."""
    builder_spec = config["connector_builder"]
    builder = ConnectorBuilder(
        connector_cls=get_backend(builder_spec["type"]), **builder_spec["args"]
    )
    connectors = [builder.build(spec) for spec in config["connectors"]]
    return {str(connector.spec): connector for connector in connectors}


async def io_channels(connectors: dict[str, Connector], name: str) -> tuple[list[Any], list[Any]]:
    """What plugboard's IOController does: a component connects what names it."""
    inputs, outputs = [], []
    for connector in connectors.values():
        if connector.spec.target.connects_to([name]):
            inputs.append(await connector.connect_recv())
        if connector.spec.source.connects_to([name]):
            outputs.append(await connector.connect_send())
    return inputs, outputs


@pytest.fixture(params=sorted(installed_profiles()))
def backend(request: pytest.FixtureRequest) -> BackendProfile:
    """Each installed backend in turn; skipped (failed under CI) when its service is down."""
    profile = installed_profiles()[request.param]
    if (reason := unavailable_reason(profile)) is not None:
        skip_or_fail(reason)
    return profile


@pytest.fixture
def plugboard_settings() -> Iterator[Settings]:
    """Settings overridden on the `DI` class, as plugboard code does (not on an instance)."""
    settings = Settings()
    with DI.settings.override(settings):
        yield settings


def test_config_connectors_are_keyed_by_str_of_their_spec(backend: BackendProfile) -> None:
    config = process_config(backend.name)
    connectors = build_connectors(config)
    names = config["components"]
    assert list(connectors) == [
        f"{names['producer']}.out..{names['worker']}.in",
        f"{names['worker']}.out..{names['sink']}.in",
    ]
    assert all(key == connector.id for key, connector in connectors.items())


@SESSION_LOOP
async def test_graph_built_from_a_config_delivers_everything(
    backend: BackendProfile, plugboard_settings: Settings
) -> None:
    config = process_config(backend.name)
    connectors = build_connectors(config)
    names = config["components"]

    async def producer() -> None:
        _, [out] = await io_channels(connectors, names["producer"])
        for n in range(ITEMS):
            await out.send(n)
        await out.close()

    async def worker(inbox: Any, out: Any) -> None:
        async for n in inbox:
            await out.send(n * 10)
        await out.close()  # each worker is one more sender of the pubsub connector

    async def sink(inbox: Any) -> list[int]:
        received = [n async for n in inbox]  # ends once *both* workers have closed
        await inbox.close()
        return received

    async with asyncio.timeout(STEP_TIMEOUT * 2):
        sinks = [(await io_channels(connectors, names["sink"]))[0][0] for _ in range(2)]
        workers = [await io_channels(connectors, names["worker"]) for _ in range(2)]
        sinks_done = asyncio.gather(*(sink(inbox) for inbox in sinks))
        await asyncio.gather(producer(), *(worker(inbox, out) for [inbox], [out] in workers))
        results = await sinks_done
    expected = [n * 10 for n in range(ITEMS)]
    for received in results:
        assert sorted(received) == expected  # every subscriber got every item once


@SESSION_LOOP
async def test_class_level_settings_override_reaches_connectors_built_by_name(
    backend: BackendProfile,
) -> None:
    if not backend.serialized:
        pytest.skip(f"{backend.name} passes objects by reference: there is no serializer")
    json_only = Settings(serializer="json")
    with DI.settings.override(json_only):
        [first, _] = build_connectors(process_config(backend.name)).values()
        async with asyncio.timeout(STEP_TIMEOUT):
            inbox = await first.connect_recv()
            out = await first.connect_send()
            with pytest.raises(ChannelSerializationError):
                await out.send({1, 2})  # a set is not JSON: the override took effect
            await out.send([1, 2])
            await out.close()
            assert [item async for item in inbox] == [[1, 2]]


def test_plugboard_export_in_a_config_builds_the_same_connector(
    backend: BackendProfile,
) -> None:
    cls = get_backend(backend.name)
    flat = cls(process_config(backend.name)["connectors"][0])
    nested = cls(flat.spec.model_dump(mode="json"))  # what plugboard's export() gave
    assert nested.spec == flat.spec
    assert nested.spec == ConnectorSpec(**flat.export())
