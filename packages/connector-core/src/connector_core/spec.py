"""Connector specifications: which socket of which entity talks to which, and how.

A `ConnectorSpec` names a source socket and a target socket (each `entity.descriptor`) and a
`ConnectorMode`. Specs are immutable and validated: a malformed reference raises `ValueError`
naming the bad value. Every name part (and every job id, `check_job_id`) is matched in full, so
a stray character such as a trailing newline is refused rather than carried into the queue,
exchange and actor names built from it.
"""

from __future__ import annotations

import re
from collections.abc import Container, Mapping
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, field_validator, model_validator

__all__ = ["JOB_ID_PATTERN", "ConnectorMode", "ConnectorSocket", "ConnectorSpec", "check_job_id"]

_PART = re.compile(r"[A-Za-z0-9_\-]+")
"""A part of a socket reference; always used with `fullmatch` (so no trailing newline)."""

JOB_ID_PATTERN = r"[A-Za-z0-9_\-]{1,64}"
"""What a job id may hold: 1-64 letters, digits, `_` or `-` (matched in full)."""

_JOB_ID = re.compile(JOB_ID_PATTERN)


def check_job_id(value: object) -> str:
    """Returns `value` if it is a valid job id, the name part that keeps runs apart.

    A job id becomes part of queue, exchange and actor names, so it is checked in full:
    1-64 letters, digits, `_` or `-`, and nothing else (not even a trailing newline).

    Args:
        value: The job id to check.

    Returns:
        The job id, unchanged.

    Raises:
        ValueError: If `value` is not such a string; the message names it.
    """
    if not isinstance(value, str) or not _JOB_ID.fullmatch(value):
        raise ValueError(
            f"invalid job_id {value!r}: use 1-64 letters, digits, '_' or '-' "
            "(for example 'nightly-2026-11-25')"
        )
    return value


def _unknown_fields(model: type[BaseModel], data: Any) -> str | None:
    """Returns a message naming the keys of `data` that are not fields of `model`, or None."""
    if not isinstance(data, dict):
        return None
    unknown = sorted(str(key) for key in data if key not in model.model_fields)
    if not unknown:
        return None
    accepted = ", ".join(model.model_fields)
    return (
        f"{model.__name__} got unknown field(s) {', '.join(map(repr, unknown))}; "
        f"the fields are: {accepted}"
    )


class ConnectorMode(StrEnum):
    """How messages are distributed among the receivers of one connector."""

    PIPELINE = "pipeline"
    """A work queue: each message reaches exactly one receiver."""
    PUBSUB = "pubsub"
    """Fan-out: each message reaches every receiver connected when it was sent."""


class ConnectorSocket(BaseModel):
    """One end of a connection: a named socket (`descriptor`) of a component (`entity`).

    Written as the string `"entity.descriptor"`; `ConnectorSocket.from_ref` parses it and
    `str(socket)` gives it back.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    entity: str
    """The component that owns the socket."""
    descriptor: str
    """The socket's name on that component."""

    def __init__(self, entity: str | None = None, descriptor: str | None = None, **data: Any):
        """Creates a socket reference.

        Args:
            entity: The component that owns the socket.
            descriptor: The socket's name on that component.
            **data: The same fields by keyword (as pydantic passes them).

        Raises:
            TypeError: If a keyword is not `entity` or `descriptor`.
            ValueError: If a part is missing or holds characters other than letters,
                digits, `_` and `-` (a pydantic `ValidationError`, which is a `ValueError`).
        """
        if problem := _unknown_fields(type(self), data):
            raise TypeError(problem)
        if entity is not None:
            data["entity"] = entity
        if descriptor is not None:
            data["descriptor"] = descriptor
        super().__init__(**data)

    @field_validator("entity", "descriptor")
    @classmethod
    def _check_part(cls, value: str) -> str:
        if not _PART.fullmatch(value):
            raise ValueError(
                f"invalid socket name part {value!r}: use letters, digits, '_' or '-' "
                "(for example 'producer.out')"
            )
        return value

    @classmethod
    def from_ref(cls, ref: str) -> ConnectorSocket:
        """Parses `"entity.descriptor"` into a socket.

        Args:
            ref: The reference, for example `"producer.out"`.

        Returns:
            The socket.

        Raises:
            ValueError: If `ref` is not of the form `entity.descriptor`.
        """
        if not isinstance(ref, str) or ref.count(".") != 1:
            raise ValueError(
                f"invalid socket reference {ref!r}: expected 'entity.descriptor', "
                "for example 'producer.out'"
            )
        entity, descriptor = ref.split(".")
        return cls(entity=entity, descriptor=descriptor)

    @property
    def id(self) -> str:
        """The socket as `"entity.descriptor"`."""
        return f"{self.entity}.{self.descriptor}"

    def __str__(self) -> str:
        return self.id

    def connects_to(self, entities: Container[str]) -> bool:
        """Returns `True` if this socket belongs to any of the named entities.

        Args:
            entities: Entity (component) names, as a list, set or other container.

        Raises:
            TypeError: If `entities` is a single string: `"producer" in "producer-2"` is a
                substring test, so pass `["producer"]` instead.
        """
        if isinstance(entities, str):
            raise TypeError(
                f"connects_to takes a collection of entity names, got the string {entities!r}: "
                f"pass [{entities!r}]"
            )
        return self.entity in entities


def _as_socket(value: Any) -> Any:
    if isinstance(value, str):
        return ConnectorSocket.from_ref(value)
    return value


class ConnectorSpec(BaseModel):
    """What a connector connects: `ConnectorSpec(source, target, mode=ConnectorMode.PIPELINE)`.

    `source` and `target` are `ConnectorSocket`s, `"entity.descriptor"` strings or
    `{"entity": ..., "descriptor": ...}` dicts, so both the flat `to_dict()` form and the
    nested `model_dump()` form (what plugboard's `export()` gives) rebuild a spec.
    `str(spec)` is `spec.id`.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    source: ConnectorSocket
    """The sending side."""
    target: ConnectorSocket
    """The receiving side."""
    mode: ConnectorMode = ConnectorMode.PIPELINE
    """How messages are distributed among receivers."""

    def __init__(
        self,
        source: ConnectorSocket | str | Mapping[str, str] | None = None,
        target: ConnectorSocket | str | Mapping[str, str] | None = None,
        mode: ConnectorMode | str | None = None,
        **data: Any,
    ):
        """Creates a spec.

        Args:
            source: The sending side: a `ConnectorSocket`, `"entity.descriptor"` or
                `{"entity": ..., "descriptor": ...}`.
            target: The receiving side, in the same forms.
            mode: Optional; `ConnectorMode.PIPELINE` (the default) or `PUBSUB`, or their
                string values.
            **data: The same fields by keyword (as pydantic passes them).

        Raises:
            TypeError: If a keyword is not `source`, `target` or `mode`.
            ValueError: If a reference or the mode is malformed; the message names the bad
                value (a pydantic `ValidationError`, which is a `ValueError`).
        """
        if problem := _unknown_fields(type(self), data):
            raise TypeError(problem)
        if source is not None:
            data["source"] = source
        if target is not None:
            data["target"] = target
        if mode is not None:
            data["mode"] = mode
        super().__init__(**data)

    @model_validator(mode="before")
    @classmethod
    def _parse_refs(cls, data: Any) -> Any:
        if isinstance(data, dict):
            data = dict(data)
            for key in ("source", "target"):
                if key in data:
                    data[key] = _as_socket(data[key])
            mode = data.get("mode")
            if isinstance(mode, str) and mode not in {m.value for m in ConnectorMode}:
                raise ValueError(
                    f"invalid connector mode {mode!r}: use one of "
                    + ", ".join(repr(m.value) for m in ConnectorMode)
                )
        return data

    @property
    def id(self) -> str:
        """Unique ID of the connection: `"<source>..<target>"`."""
        return f"{self.source.id}..{self.target.id}"

    def __str__(self) -> str:
        return self.id

    def to_dict(self) -> dict[str, str]:
        """Returns the spec as plain strings: `{"source", "target", "mode"}`.

        `ConnectorSpec(**spec.to_dict())` rebuilds it, as does the nested form of
        `spec.model_dump()` (plugboard's export).
        """
        return {"source": self.source.id, "target": self.target.id, "mode": self.mode.value}
