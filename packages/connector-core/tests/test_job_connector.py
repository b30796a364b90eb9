"""`JobConnector`: the job id, the codec bound to the connection, and what pickling carries."""

from __future__ import annotations

import pickle
from typing import Any, ClassVar

import pytest
from dependency_injector import providers

from connector_core import Channel, ConnectorSpec, Settings
from connector_core.di import DI
from connector_core.envelope import connection_id
from connector_core.job_connector import JobConnector

SPEC = ConnectorSpec("a.out", "b.in")
SETTINGS = Settings()


class _Brokered(JobConnector):
    scope: ClassVar[str] = "fake"
    pickled: ClassVar[tuple[str, ...]] = ("timeout",)

    def __init__(self, *args: Any, timeout: float = 1.0, **kwargs: Any) -> None:
        super().__init__(*args, settings=SETTINGS, **kwargs)
        self.timeout = timeout
        self.client = object()  # per process: must not travel

    async def connect_send(self) -> Channel:
        raise NotImplementedError

    async def connect_recv(self) -> Channel:
        raise NotImplementedError


def test_the_job_id_defaults_to_the_process_job_id() -> None:
    with DI.job_id.override(providers.Object("job7")):
        assert _Brokered(SPEC).job_id == "job7"
    assert _Brokered(SPEC, job_id="mine").job_id == "mine"


def test_an_invalid_job_id_raises_value_error() -> None:
    with pytest.raises(ValueError, match="job"):
        _Brokered(SPEC, job_id="not a job id!")


def test_the_codec_is_bound_to_the_scope_the_job_and_the_spec() -> None:
    connector = _Brokered(SPEC, job_id="j1", serializer="json")
    assert connector.codec.connection == connection_id(f"fake:j1:{SPEC.id}")
    assert connector.codec.serializer.name == "json"
    assert connector.codec.signed


def test_pickling_carries_the_connection_and_the_listed_attributes_only() -> None:
    connector = _Brokered(SPEC, job_id="j1", maxsize=5, timeout=2.5)
    copy = pickle.loads(pickle.dumps(connector))
    assert (copy.spec, copy.maxsize, copy.job_id, copy.timeout) == (SPEC, 5, "j1", 2.5)
    assert copy.codec == connector.codec
    assert not hasattr(copy, "client")


def test_repr_names_the_class_the_connection_the_mode_and_the_job() -> None:
    connector = _Brokered(SPEC, job_id="j1")
    assert repr(connector) == f"_Brokered({SPEC.id!r}, mode='pipeline', job_id='j1')"


def test_its_keywords_are_accepted_arguments() -> None:
    accepted = set(_Brokered.accepted_arguments())
    assert {"job_id", "serializer", "maxsize", "settings", "timeout", "spec"} <= accepted
