"""A million messages through each backend: nothing lost, and no resource left growing."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from connector_core import Connector, ConnectorMode
from connector_core.testing.stress import Resources, stream

pytestmark = [pytest.mark.asyncio(loop_scope="session"), pytest.mark.soak]

MakeConnector = Callable[..., Connector]
MODES = [pytest.param(mode, id=mode.value) for mode in ConnectorMode]
RSS_GROWTH_LIMIT_MB = 64.0


@pytest.mark.timeout(900)
@pytest.mark.parametrize("mode", MODES)
async def test_a_million_messages_arrive_once_and_resources_return(
    make: MakeConnector, mode: ConnectorMode
) -> None:
    await stream(make(mode), 1_000)  # warm-up: per-process contexts and connections exist now
    before = Resources.now()
    outcome = await stream(make(mode), 1_000_000)
    growth = before.growth(Resources.now())
    assert (outcome.lost, outcome.duplicated) == (0, 0)
    assert growth["fds"] <= 0, growth
    assert growth["threads"] <= 0, growth
    assert growth["children"] <= 0, growth
    assert growth["rss_mb"] < RSS_GROWTH_LIMIT_MB, growth
