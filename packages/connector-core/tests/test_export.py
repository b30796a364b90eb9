"""`export()` and `dict()`: what rebuilds a connector, and plugboard's form accepted back."""

from __future__ import annotations

import json
from typing import Any

from connector_core import AsyncioConnector, ConnectorMode, ConnectorSpec

PLUGBOARD_EXPORT: dict[str, Any] = {
    "source": {"entity": "producer", "descriptor": "out"},
    "target": {"entity": "consumer", "descriptor": "in"},
    "mode": "pubsub",
}
"""What plugboard's `Connector.export()` gives: the spec's nested `model_dump()`."""


def test_export_is_the_spec_as_plain_strings() -> None:
    connector = AsyncioConnector(ConnectorSpec("a.out", "b.in", mode=ConnectorMode.PUBSUB))
    assert connector.export() == {"source": "a.out", "target": "b.in", "mode": "pubsub"}


def test_export_survives_json_and_rebuilds_the_same_connector() -> None:
    connector = AsyncioConnector(ConnectorSpec("a.out", "b.in", mode=ConnectorMode.PUBSUB))
    exported = json.loads(json.dumps(connector.export()))
    rebuilt = AsyncioConnector(exported)
    assert rebuilt.spec == connector.spec
    assert rebuilt.export() == connector.export()


def test_connector_accepts_plugboards_nested_export_as_its_spec() -> None:
    connector = AsyncioConnector(PLUGBOARD_EXPORT)
    assert connector.id == "producer.out..consumer.in"
    assert connector.spec.mode is ConnectorMode.PUBSUB


def test_builder_accepts_plugboards_nested_export_as_its_spec() -> None:
    connector = AsyncioConnector.builder(maxsize=5).build(PLUGBOARD_EXPORT)
    assert connector.spec == ConnectorSpec(**PLUGBOARD_EXPORT)
    assert connector.maxsize == 5


def test_dict_adds_the_type_and_id_to_the_export() -> None:
    connector = AsyncioConnector(ConnectorSpec("a.out", "b.in"))
    assert connector.dict() == {
        "type": "connector_core.asyncio_connector.AsyncioConnector",
        "id": "a.out..b.in",
        "source": "a.out",
        "target": "b.in",
        "mode": "pipeline",
    }
