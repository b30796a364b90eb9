"""A receiver process killed with SIGKILL mid-stream: the others finish; loss is bounded."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from connector_core import Connector, ConnectorMode
from connector_core.testing.backends import BackendProfile
from connector_core.testing.stress import kill_a_receiver

pytestmark = [pytest.mark.asyncio(loop_scope="session"), pytest.mark.fault]

MakeConnector = Callable[..., Connector]


@pytest.mark.crossprocess
@pytest.mark.timeout(300)
async def test_killed_receiver_loses_at_most_its_bound_and_the_others_finish(
    cross_process_profile: BackendProfile, make: MakeConnector, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in cross_process_profile.recovery_environment:
        monkeypatch.setenv(name, value)  # inherited by the receiver processes
    outcome = await kill_a_receiver(make(ConnectorMode.PIPELINE, 100), 3_000, kill_after=100)
    bound = cross_process_profile.loss_on_kill
    assert bound is not None
    assert outcome.lost <= bound, outcome
    print(f"{cross_process_profile.name}: {outcome}")
