"""Connector specifications: which socket of which entity talks to which, and how.

A `ConnectorSpec` names a source socket and a target socket (each `entity.descriptor`) and a
`ConnectorMode`. Specs are immutable and validated: a malformed reference raises `ValueError`
naming the bad value.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, field_validator, model_validator

__all__ = ["ConnectorMode", "ConnectorSocket", "ConnectorSpec"]

_PART = re.compile(r"^[A-Za-z0-9_\-]+$")


class ConnectorMode(StrEnum):
    """How messages are distributed among the receivers of one connector."""

    PIPELINE = "pipeline"
    """A work queue: each message reaches exactly one receiver."""
    PUBSUB = "pubsub"
    """Fan-out: each message reaches every receiver connected when it was sent."""


class ConnectorSocket(BaseModel):
    """One end of a connection: a named socket (`descriptor`) of a component (`entity`).

    Written as the string `"entity.descriptor"`; `ConnectorSocket.from_ref` parses it.
    """

    model_config = ConfigDict(frozen=True)

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
            ValueError: If a part is missing or holds characters other than letters,
                digits, `_` and `-` (a pydantic `ValidationError`, which is a `ValueError`).
        """
        if entity is not None:
            data["entity"] = entity
        if descriptor is not None:
            data["descriptor"] = descriptor
        super().__init__(**data)

    @field_validator("entity", "descriptor")
    @classmethod
    def _check_part(cls, value: str) -> str:
        if not _PART.match(value):
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


def _as_socket(value: Any) -> Any:
    if isinstance(value, str):
        return ConnectorSocket.from_ref(value)
    return value


class ConnectorSpec(BaseModel):
    """What a connector connects: `ConnectorSpec(source, target, mode=ConnectorMode.PIPELINE)`.

    `source` and `target` are `ConnectorSocket`s or `"entity.descriptor"` strings.
    """

    model_config = ConfigDict(frozen=True)

    source: ConnectorSocket
    """The sending side."""
    target: ConnectorSocket
    """The receiving side."""
    mode: ConnectorMode = ConnectorMode.PIPELINE
    """How messages are distributed among receivers."""

    def __init__(
        self,
        source: ConnectorSocket | str | None = None,
        target: ConnectorSocket | str | None = None,
        mode: ConnectorMode | str | None = None,
        **data: Any,
    ):
        """Creates a spec.

        Args:
            source: The sending side: a `ConnectorSocket` or `"entity.descriptor"`.
            target: The receiving side: a `ConnectorSocket` or `"entity.descriptor"`.
            mode: Optional; `ConnectorMode.PIPELINE` (the default) or `PUBSUB`, or their
                string values.
            **data: The same fields by keyword (as pydantic passes them).

        Raises:
            ValueError: If a reference or the mode is malformed; the message names the bad
                value (a pydantic `ValidationError`, which is a `ValueError`).
        """
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

    def to_dict(self) -> dict[str, str]:
        """Returns the spec as plain strings: `{"source", "target", "mode"}`."""
        return {"source": self.source.id, "target": self.target.id, "mode": self.mode.value}
