"""A stalled consumer holds the producer back: the backlog stays bounded, nothing is lost."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from connector_core import Connector, ConnectorMode
from connector_core.testing.backends import BackendProfile
from connector_core.testing.stress import stalled_consumer

pytestmark = pytest.mark.asyncio(loop_scope="session")

MakeConnector = Callable[..., Connector]
MODES = [pytest.param(mode, id=mode.value) for mode in ConnectorMode]
MAXSIZE = 100


@pytest.mark.parametrize("mode", MODES)
async def test_backlog_of_a_stalled_consumer_stays_within_the_bound(
    profile: BackendProfile, make: MakeConnector, mode: ConnectorMode
) -> None:
    outcome = await stalled_consumer(make(mode, MAXSIZE), 3_000, stall=1.0)
    assert outcome.max_buffered is not None
    assert outcome.max_buffered <= profile.backlog_bound(MAXSIZE)
    assert (outcome.lost, outcome.duplicated) == (0, 0)


@pytest.mark.soak
@pytest.mark.parametrize("mode", MODES)
async def test_consumer_stalled_for_five_seconds_loses_nothing(
    profile: BackendProfile, make: MakeConnector, mode: ConnectorMode
) -> None:
    outcome = await stalled_consumer(make(mode, MAXSIZE), 20_000, stall=5.0)
    assert outcome.max_buffered is not None
    assert outcome.max_buffered <= profile.backlog_bound(MAXSIZE)
    assert (outcome.lost, outcome.duplicated) == (0, 0)
