"""A receiver process SIGKILLed mid-stream: the other receivers finish, loss is one batch.

The scenario (`connector_core.testing.stress.kill_a_receiver`: 3 spawned receiver processes,
3000 messages, maxsize 100, the first receiver killed after 100 items) runs in a fresh process
(`killed_receiver_run.py`) that starts without Ray, so that the connector is pickled to the
receivers before Ray runs anywhere: the regression was that such copies carried no cluster
address and each receiver started a private Ray instance, so the survivors never got anything
and the scenario timed out.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytestmark = [
    pytest.mark.ray,
    pytest.mark.crossprocess,
    pytest.mark.fault,
    pytest.mark.timeout(300),
]

_SCRIPT = Path(__file__).with_name("killed_receiver_run.py")


@pytest.fixture(scope="module")
def killed_run() -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
    done = subprocess.run(
        [sys.executable, str(_SCRIPT)],
        capture_output=True,
        text=True,
        timeout=280,
        env=env,
        check=False,
    )
    for line in done.stdout.splitlines():
        if line.startswith("RESULT "):
            result: dict[str, Any] = json.loads(line.removeprefix("RESULT "))
            return result
    pytest.fail(f"the scenario failed (exit {done.returncode}):\n{done.stderr[-4000:]}")


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
