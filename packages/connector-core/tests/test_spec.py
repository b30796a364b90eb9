from __future__ import annotations

import pytest

from connector_core import ConnectorMode, ConnectorSocket, ConnectorSpec


def test_spec_accepts_entity_descriptor_strings() -> None:
    spec = ConnectorSpec("producer.out", "consumer.in")
    assert spec.source == ConnectorSocket("producer", "out")
    assert spec.target == ConnectorSocket(entity="consumer", descriptor="in")


def test_spec_id_joins_source_and_target() -> None:
    assert ConnectorSpec("a.out", "b.in").id == "a.out..b.in"


def test_spec_defaults_to_pipeline_mode() -> None:
    assert ConnectorSpec("a.out", "b.in").mode is ConnectorMode.PIPELINE


def test_spec_mode_accepts_its_string_value() -> None:
    assert ConnectorSpec("a.out", "b.in", mode="pubsub").mode is ConnectorMode.PUBSUB


@pytest.mark.parametrize("ref", ["nodot", "a.b.c", ".out", "a.", "a b.out", ""])
def test_malformed_reference_raises_value_error_naming_it(ref: str) -> None:
    with pytest.raises(ValueError, match=repr(ref) if ref.count(".") != 1 else "invalid"):
        ConnectorSpec(ref, "b.in")


def test_unknown_mode_raises_value_error_listing_the_modes() -> None:
    with pytest.raises(ValueError, match="'fanout'.*'pipeline', 'pubsub'"):
        ConnectorSpec("a.out", "b.in", mode="fanout")


def test_spec_is_immutable_and_hashable() -> None:
    spec = ConnectorSpec("a.out", "b.in")
    with pytest.raises(ValueError, match="frozen"):
        spec.mode = ConnectorMode.PUBSUB  # type: ignore[misc]
    assert hash(spec) == hash(ConnectorSpec("a.out", "b.in"))


def test_spec_round_trips_through_its_dict_form() -> None:
    spec = ConnectorSpec("a.out", "b.in", mode=ConnectorMode.PUBSUB)
    assert spec.to_dict() == {"source": "a.out", "target": "b.in", "mode": "pubsub"}
    assert ConnectorSpec(**spec.to_dict()) == spec
    assert ConnectorSpec.model_validate(spec.model_dump()) == spec
