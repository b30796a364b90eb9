from __future__ import annotations

from typing import Any

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


# -- every name part is matched in full --------------------------------------------------


@pytest.mark.parametrize("ref", ["a.b\n", "a\n.b", "a.b\r", "a.b ", " a.b", "a.b\t"])
def test_reference_with_surrounding_whitespace_is_refused(ref: str) -> None:
    with pytest.raises(ValueError, match="invalid socket name part"):
        ConnectorSpec(ref, "c.d")


def test_nested_socket_with_a_trailing_newline_is_refused() -> None:
    with pytest.raises(ValueError, match=r"invalid socket name part 'b\\n'"):
        ConnectorSpec({"entity": "a", "descriptor": "b\n"}, "c.d")


# -- plugboard compatibility: str(), connects_to, nested export ----------------------------


def test_str_of_a_spec_is_its_id() -> None:
    spec = ConnectorSpec("a.out", "b.in", mode=ConnectorMode.PUBSUB)
    assert str(spec) == "a.out..b.in"
    assert f"{spec}" == spec.id


def test_repr_of_a_spec_still_shows_its_fields() -> None:
    assert "mode=<ConnectorMode.PUBSUB" in repr(ConnectorSpec("a.out", "b.in", mode="pubsub"))


def test_connects_to_is_true_when_the_socket_entity_is_named() -> None:
    socket = ConnectorSocket("producer", "out")
    assert socket.connects_to(["consumer", "producer"])
    assert socket.connects_to({"producer"})
    assert socket.connects_to({"producer": object()}.keys())


def test_connects_to_is_false_when_the_socket_entity_is_not_named() -> None:
    socket = ConnectorSocket("producer", "out")
    assert not socket.connects_to(["consumer", "producer-2", "out"])
    assert not socket.connects_to([])


def test_connects_to_a_single_string_raises_type_error_saying_to_pass_a_list() -> None:
    # plugboard would test "producer" in "producer-2" as a substring: never what was meant
    with pytest.raises(TypeError, match=r"pass \['producer-2'\]"):
        ConnectorSocket("producer", "out").connects_to("producer-2")


PLUGBOARD_EXPORT: dict[str, Any] = {
    "source": {"entity": "producer", "descriptor": "out"},
    "target": {"entity": "consumer", "descriptor": "in"},
    "mode": "pubsub",
}
"""What plugboard's `Connector.export()` (the spec's `model_dump()`) gives."""


def test_spec_accepts_plugboards_nested_export_as_keywords() -> None:
    assert ConnectorSpec(**PLUGBOARD_EXPORT) == ConnectorSpec(
        "producer.out", "consumer.in", mode=ConnectorMode.PUBSUB
    )


def test_spec_accepts_plugboards_nested_export_through_model_validate() -> None:
    spec = ConnectorSpec.model_validate(PLUGBOARD_EXPORT)
    assert spec.id == "producer.out..consumer.in"
    assert spec.mode is ConnectorMode.PUBSUB


def test_spec_round_trips_through_its_json_dump() -> None:
    spec = ConnectorSpec("a.out", "b.in", mode=ConnectorMode.PUBSUB)
    assert ConnectorSpec(**spec.model_dump(mode="json")) == spec
    assert ConnectorSpec.model_validate_json(spec.model_dump_json()) == spec


def test_spec_dump_has_plugboards_nested_shape() -> None:
    spec = ConnectorSpec("producer.out", "consumer.in", mode="pubsub")
    assert spec.model_dump(mode="json") == PLUGBOARD_EXPORT


# -- unknown fields ------------------------------------------------------------------------


def test_unknown_spec_keyword_raises_type_error_listing_the_fields() -> None:
    with pytest.raises(TypeError, match=r"'mdoe'.*source, target, mode"):
        ConnectorSpec("a.out", "b.in", mdoe="pubsub")


def test_unknown_key_in_a_spec_dict_raises_type_error_naming_it() -> None:
    with pytest.raises(TypeError, match="'id'"):
        ConnectorSpec.model_validate({"source": "a.out", "target": "b.in", "id": "a.out..b.in"})


def test_unknown_key_in_a_nested_socket_raises_type_error_listing_the_fields() -> None:
    with pytest.raises(TypeError, match=r"'name'.*entity, descriptor"):
        ConnectorSpec({"entity": "a", "descriptor": "out", "name": "x"}, "b.in")
