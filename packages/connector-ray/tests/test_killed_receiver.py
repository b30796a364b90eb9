"""A receiver process SIGKILLed mid-stream: the other receivers finish, loss is one batch.

The scenario (`connector_core.testing.stress.kill_a_receiver`: 3 spawned receiver processes,
3000 messages, maxsize 100, the first receiver killed after 100 items) runs in a fresh process
(`killed_receiver_run.py`) that starts without Ray, so that the connector is pickled to the
receivers before Ray runs anywhere: the regression was that such copies carried no cluster
address and each receiver started a private Ray instance, so the survivors never got anything
and the scenario timed out.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from connector_core.testing import scenario_result

pytestmark = [
    pytest.mark.ray,
    pytest.mark.crossprocess,
    pytest.mark.fault,
    pytest.mark.timeout(300),
]

_SCRIPT = Path(__file__).with_name("killed_receiver_run.py")


@pytest.fixture(scope="module")
def killed_run() -> dict[str, Any]:
    return scenario_result(_SCRIPT, timeout=280, unset=["RAY_ADDRESS"])


def test_pickled_connector_carries_the_address_of_the_ray_it_started(
    killed_run: dict[str, Any],
) -> None:
    assert killed_run["carried"]
    assert killed_run["carried"] == killed_run["cluster"]


def test_survivors_finish_and_loss_is_at_most_one_batch(killed_run: dict[str, Any]) -> None:
    assert killed_run["lost"] <= killed_run["batch"], killed_run
    assert killed_run["duplicated"] == 0, killed_run
    assert "exit -9" in " ".join(killed_run["notes"]), killed_run


def test_purge_removes_the_hub_the_killed_receiver_kept_open(killed_run: dict[str, Any]) -> None:
    assert killed_run["left"] == []
