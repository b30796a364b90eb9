"""A job id is matched in full wherever one is accepted: it becomes broker and actor names.

`Settings.job_id` and `connector_core.spec.check_job_id` are tested in connector-core; this
checks every installed backend that takes a `job_id=` and every backend's `purge(job_id)`.
"""

from __future__ import annotations

import asyncio
import importlib.util

import pytest

from connector_core import ConnectorSpec
from connector_core.testing.backends import installed_profiles

SPEC = ConnectorSpec("producer.out", "consumer.in")
BAD_JOB_IDS = ["run-1\n", "run 1", "run/1", "x" * 65]
WITH_JOB_ID = sorted(
    name
    for name, profile in installed_profiles().items()
    if "job_id" in profile.connector_class().accepted_arguments()
)


def test_the_cross_process_backends_take_a_job_id() -> None:
    installed = set(installed_profiles())
    assert {"rabbitmq", "ray"} & installed <= set(WITH_JOB_ID)


@pytest.mark.parametrize("job_id", BAD_JOB_IDS)
@pytest.mark.parametrize("backend", WITH_JOB_ID)
def test_connector_refuses_a_bad_job_id_naming_it(backend: str, job_id: str) -> None:
    cls = installed_profiles()[backend].connector_class()
    with pytest.raises(ValueError, match=r"invalid job_id .*1-64 letters, digits"):
        cls(SPEC, job_id=job_id)


@pytest.mark.parametrize("backend", WITH_JOB_ID)
def test_connector_keeps_a_good_job_id(backend: str) -> None:
    cls = installed_profiles()[backend].connector_class()
    connector = cls(SPEC, job_id="nightly-2026_11")
    assert connector.job_id == "nightly-2026_11"  # type: ignore[attr-defined]


@pytest.mark.skipif(importlib.util.find_spec("connector_rabbitmq") is None, reason="no rabbitmq")
def test_rabbitmq_purge_refuses_a_bad_job_id_before_connecting() -> None:
    from connector_rabbitmq import purge

    with pytest.raises(ValueError, match=r"invalid job_id 'run-1\\n'"):
        asyncio.run(purge("run-1\n", ["producer.out..consumer.in"]))


@pytest.mark.skipif(importlib.util.find_spec("connector_ray") is None, reason="no ray")
def test_ray_purge_refuses_a_bad_job_id_before_looking_for_ray() -> None:
    from connector_ray import purge

    with pytest.raises(ValueError, match=r"invalid job_id 'run-1\\n'"):
        purge("run-1\n")
