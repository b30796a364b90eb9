"""Runs in its own process: a receiver process SIGKILLed mid-stream (`kill_a_receiver`).

Started by `test_killed_receiver.py`. The process starts with Ray *not* initialised, as a user
script would: the connector is pickled to the spawned receiver processes before the sender
connects, so this also checks that the pickled copies carry the address of one cluster (they
used to carry none, and each receiver started a private local Ray that nobody sent to).

Prints one line, ``RESULT <json>``: the scenario's outcome, the connector's batch size, the
address a pickled copy carries, the address of this process's cluster, and the hub actors left
after the purge.
"""

from __future__ import annotations

import asyncio
import json
import pickle
import uuid
from typing import Any

import ray

from connector_core import ConnectorMode, ConnectorSpec
from connector_core.testing.stress import kill_a_receiver
from connector_ray import NAMESPACE, RayConnector, purge

MESSAGES = 3_000
MAXSIZE = 100
KILL_AFTER = 100


async def main() -> dict[str, Any]:
    tag = uuid.uuid4().hex[:8]
    spec = ConnectorSpec(f"kill-{tag}.out", f"kill-{tag}.in", ConnectorMode.PIPELINE)
    connector = RayConnector(spec, maxsize=MAXSIZE)
    assert not ray.is_initialized(), "this run must start without Ray"
    carried = pickle.loads(pickle.dumps(connector))._address
    try:
        outcome = await kill_a_receiver(connector, MESSAGES, kill_after=KILL_AFTER, timeout=90.0)
    finally:
        if ray.is_initialized():  # else nothing was created, and the scenario's error matters
            purge(connector.job_id)
    left = [
        entry["name"]
        for entry in ray.util.list_named_actors(all_namespaces=True)
        if entry["namespace"] == NAMESPACE and entry["name"] == connector.actor_name
    ]
    return {
        "lost": outcome.lost,
        "duplicated": outcome.duplicated,
        "notes": outcome.notes,
        "batch": min(connector.batch_size, MAXSIZE),
        "carried": carried,
        "cluster": ray.get_runtime_context().gcs_address,
        "left": left,
    }


if __name__ == "__main__":
    result = asyncio.run(main())
    ray.shutdown()
    print("RESULT " + json.dumps(result), flush=True)
