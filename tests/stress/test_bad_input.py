"""Any item round-trips through every serialized channel; bad frames are rejected, not fatal."""

from __future__ import annotations

import asyncio
import math
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
import pytest_asyncio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connector_core import Channel, Connector, ConnectorMode, SerdeChannel, Settings
from connector_core.testing.backends import BackendProfile
from connector_core.testing.stress import fuzz_frames

pytestmark = pytest.mark.asyncio(loop_scope="session")

MakeConnector = Callable[..., Connector]

_json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text()
)
JSON_ITEMS = st.recursive(
    _json_scalars,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(), inner, max_size=5),
    max_leaves=20,
)
_LARGE_BINARY = st.builds(
    lambda seed, size: random.Random(seed).randbytes(size),
    st.integers(min_value=0, max_value=2**32),
    st.integers(min_value=50_000, max_value=200_000),
)
"""Bytes past the size sent beside the frame; drawn from a seed (drawing each byte took
seconds per example)."""
_pickle_scalars = (
    _json_scalars
    | st.floats()
    | st.binary(max_size=256)
    | _LARGE_BINARY
    | st.complex_numbers(allow_nan=False)
)
PICKLE_ITEMS = st.recursive(
    _pickle_scalars,
    lambda inner: (
        st.lists(inner, max_size=5)
        | st.tuples(inner, inner)
        | st.frozensets(st.integers() | st.text(), max_size=5)
        | st.dictionaries(st.text() | st.integers(), inner, max_size=5)
    ),
    max_leaves=20,
)


def _same(left: Any, right: Any) -> bool:
    if isinstance(left, float) and isinstance(right, float) and math.isnan(left):
        return math.isnan(right)
    if isinstance(left, complex) and isinstance(right, complex):
        return _same(left.real, right.real) and _same(left.imag, right.imag)
    if isinstance(left, (list, tuple)) and type(left) is type(right):
        return len(left) == len(right) and all(map(_same, left, right))
    if isinstance(left, dict) and isinstance(right, dict):
        return left.keys() == right.keys() and all(_same(left[k], right[k]) for k in left)
    return bool(left == right)


RoundTrip = Callable[[str, ConnectorMode, list[Any]], Awaitable[list[Any]]]
"""`round_trip(serializer, mode, items)`: what arrives of `items` over the test's connection."""


@pytest_asyncio.fixture(loop_scope="session")
async def round_trip(
    serialized_profile: BackendProfile,
    make: MakeConnector,
    settings_override: Callable[[Settings], None],
) -> AsyncIterator[RoundTrip]:
    """Sends items over one connection of this test (opened at first use) and receives them.

    Every example of a test goes over the same open connection: connecting once per example
    made these the slowest tests of the run on backends whose connections cost an actor or
    broker objects. At the end of the test the connection is ended and drained.
    """
    opened: dict[tuple[str, ConnectorMode], tuple[Channel, Channel]] = {}

    async def run(serializer: str, mode: ConnectorMode, items: list[Any]) -> list[Any]:
        if (serializer, mode) not in opened:
            assert not opened, "one connection per test: its settings hold for the whole test"
            settings_override(Settings(serializer=serializer))
            connector = make(mode)
            receiver = await connector.connect_recv()
            sender = await connector.connect_send()
            assert isinstance(sender, SerdeChannel)
            assert sender.codec.serializer.name == serializer, "the backend ignores DI settings"
            opened[serializer, mode] = (sender, receiver)
        sender, receiver = opened[serializer, mode]
        for item in items:
            await sender.send(item)
        async with asyncio.timeout(60):
            return [await receiver.recv() for _ in items]

    yield run
    for sender, receiver in opened.values():
        await sender.close()
        async with asyncio.timeout(60), receiver:
            assert [item async for item in receiver] == [], "more arrived than was sent"


@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
@given(items=st.lists(PICKLE_ITEMS, min_size=1, max_size=8))
async def test_any_picklable_structure_round_trips_with_pickle(
    round_trip: RoundTrip, items: list[Any]
) -> None:
    got = await round_trip("pickle", ConnectorMode.PIPELINE, items)
    assert len(got) == len(items)
    assert all(map(_same, items, got))


@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
@given(items=st.lists(JSON_ITEMS, min_size=1, max_size=8))
async def test_any_json_structure_round_trips_with_json(
    round_trip: RoundTrip, items: list[Any]
) -> None:
    assert await round_trip("json", ConnectorMode.PUBSUB, items) == items


@pytest.mark.parametrize("mode", [pytest.param(m, id=m.value) for m in ConnectorMode])
async def test_random_and_bit_flipped_frames_are_rejected_and_the_channel_goes_on(
    serialized_profile: BackendProfile, make: MakeConnector, mode: ConnectorMode
) -> None:
    outcome = await fuzz_frames(make(mode), 300)
    assert (outcome.lost, outcome.duplicated) == (0, 0)
    assert outcome.rejected == 300
