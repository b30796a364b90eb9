"""Two Ray nodes on this machine: a sender pinned to one, receivers to the other (both modes).

The cluster runs in a subprocess (`two_node_cluster.py`) so that it does not clash with the
test run's shared Ray session.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from connector_core.testing import scenario_result

pytestmark = [pytest.mark.ray, pytest.mark.timeout(300)]

_SCRIPT = Path(__file__).with_name("two_node_cluster.py")
_COUNT = 300


@pytest.fixture(scope="module")
def two_node_run() -> dict[str, Any]:
    return scenario_result(_SCRIPT, timeout=280, unset=["RAY_ADDRESS"])


def test_the_cluster_has_two_nodes(two_node_run: dict[str, Any]) -> None:
    assert two_node_run["nodes"] == 2


def test_connecting_without_ray_initialises_it_with_one_log_line(
    two_node_run: dict[str, Any],
) -> None:
    assert two_node_run["was_initialised"] is False
    lines = two_node_run["init_log"]
    assert len(lines) == 1
    assert "Ray is not initialised" in lines[0]
    assert "joining the Ray cluster at" in lines[0]


@pytest.mark.parametrize("mode", ["pipeline", "pubsub"])
def test_sender_and_receivers_on_different_nodes_exchange_messages(
    two_node_run: dict[str, Any], mode: str
) -> None:
    run = two_node_run[mode]
    assert set(run["receiver_nodes"]) == {run["receiver_nodes"][0]}
    assert run["sender_node"] != run["receiver_nodes"][0]
    received: list[list[int]] = run["received"]
    if mode == "pipeline":
        counts = Counter(item for items in received for item in items)
        assert sorted(counts) == list(range(_COUNT))
        assert max(counts.values()) == 1
        for items in received:
            assert items == sorted(items)
    else:
        for items in received:
            assert items == list(range(_COUNT))


def test_no_hub_actor_is_left_after_the_runs(two_node_run: dict[str, Any]) -> None:
    assert two_node_run["hubs_left"] == []
