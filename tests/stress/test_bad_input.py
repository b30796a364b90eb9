"""Any item round-trips through every serialized channel; bad frames are rejected, not fatal."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connector_core import Connector, ConnectorMode, SerdeChannel, Settings
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
_pickle_scalars = (
    _json_scalars
    | st.floats()
    | st.binary(max_size=256)
    | st.binary(min_size=50_000, max_size=200_000)
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


async def _round_trip(connector: Connector, items: list[Any], serializer: str) -> list[Any]:
    receiver = await connector.connect_recv()
    sender = await connector.connect_send()
    assert isinstance(sender, SerdeChannel)
    assert sender.codec.serializer.name == serializer, "the backend ignores DI settings"
    for item in items:
        await sender.send(item)
    await sender.close()
    got = []
    async with asyncio.timeout(60), receiver:
        async for item in receiver:
            got.append(item)
    return got


@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
@given(items=st.lists(PICKLE_ITEMS, min_size=1, max_size=8))
async def test_any_picklable_structure_round_trips_with_pickle(
    serialized_profile: BackendProfile,
    make: MakeConnector,
    settings_override: Callable[[Settings], None],
    items: list[Any],
) -> None:
    settings_override(Settings(serializer="pickle", end_grace=0.2))  # one connection per example
    got = await _round_trip(make(ConnectorMode.PIPELINE), items, "pickle")
    assert len(got) == len(items)
    assert all(map(_same, items, got))


@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
@given(items=st.lists(JSON_ITEMS, min_size=1, max_size=8))
async def test_any_json_structure_round_trips_with_json(
    serialized_profile: BackendProfile,
    make: MakeConnector,
    settings_override: Callable[[Settings], None],
    items: list[Any],
) -> None:
    settings_override(Settings(serializer="json", end_grace=0.2))  # one connection per example
    got = await _round_trip(make(ConnectorMode.PUBSUB), items, "json")
    assert got == items


@pytest.mark.parametrize("mode", [pytest.param(m, id=m.value) for m in ConnectorMode])
async def test_random_and_bit_flipped_frames_are_rejected_and_the_channel_goes_on(
    serialized_profile: BackendProfile, make: MakeConnector, mode: ConnectorMode
) -> None:
    outcome = await fuzz_frames(make(mode), 300)
    assert (outcome.lost, outcome.duplicated) == (0, 0)
    assert outcome.rejected == 300
