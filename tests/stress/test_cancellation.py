"""Receives cancelled at random points lose nothing and duplicate nothing, on every backend."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from connector_core import Connector, ConnectorMode
from connector_core.testing.stress import stream

pytestmark = pytest.mark.asyncio(loop_scope="session")

MakeConnector = Callable[..., Connector]

MODES = [pytest.param(mode, id=mode.value) for mode in ConnectorMode]


@pytest.mark.parametrize("mode", MODES)
async def test_cancelled_receives_lose_and_duplicate_nothing(
    make: MakeConnector, mode: ConnectorMode
) -> None:
    outcome = await stream(make(mode), 20_000, receivers=2, cancels=2_000)
    assert outcome.cancelled >= 1_000
    assert (outcome.lost, outcome.duplicated) == (0, 0)


@pytest.mark.soak
@pytest.mark.timeout(600)
@pytest.mark.parametrize("mode", MODES)
async def test_ten_thousand_cancelled_receives_in_a_hundred_thousand_message_stream(
    make: MakeConnector, mode: ConnectorMode
) -> None:
    outcome = await stream(make(mode), 100_000, cancels=10_000)
    assert outcome.cancelled >= 10_000
    assert (outcome.lost, outcome.duplicated) == (0, 0)
