"""A pickled connector carries its stream names and signing key, never the password."""

from __future__ import annotations

import pickle

import pytest

from connector_core.spec import ConnectorMode
from connector_core.testing import unique_spec
from connector_redis import RedisConnector

PASSWORD = "pw-7f3a9c1e-never-pickled"


@pytest.mark.parametrize("mode", list(ConnectorMode), ids=lambda m: m.value)
def test_a_pickled_connector_carries_stream_names_and_key_but_never_the_password(
    monkeypatch: pytest.MonkeyPatch, mode: ConnectorMode
) -> None:
    monkeypatch.setenv("REDIS_URL", f"redis://:{PASSWORD}@127.0.0.1:6379/0")
    connector = RedisConnector(unique_spec(mode), job_id="pickle-test")

    blob = pickle.dumps(connector)
    copy = pickle.loads(blob)

    assert PASSWORD.encode() not in blob
    assert copy.keys == connector.keys  # the same streams: data, ctl, sig, held, wait
    assert copy.keys.data == f"connector:{{pickle-test}}:{connector.spec.id}:data"
    assert copy.codec == connector.codec  # the same signing key, bound to the connection
    assert copy.codec.signed
    assert copy.spec.mode is mode
