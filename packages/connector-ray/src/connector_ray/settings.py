"""`RaySettings`: connector-ray's own settings, read from `CONNECTOR_RAY_*` variables.

The settings every backend shares (serializer, signing, job id) are `connector_core.Settings`.
Connectors get these through `DI.ray_settings` (see `connector_ray.di`); the class is declared
under the `connector.settings` entry points, so `connector doctor` and the configuration page
list it.
"""

from __future__ import annotations

from typing import Any, Final

from pydantic import Field, field_validator
from pydantic_settings import SettingsConfigDict

from connector_core.settings import ENV_PREFIX, SettingsBase

__all__ = ["DEFAULT_LARGE_FRAME_BYTES", "ENV_PREFIX_RAY", "MIN_LARGE_FRAME_BYTES", "RaySettings"]

ENV_PREFIX_RAY: Final = f"{ENV_PREFIX}RAY_"
"""The prefix of these settings' environment variables."""

DEFAULT_LARGE_FRAME_BYTES: Final = 1 << 20
"""`large_frame_bytes` unless set: frames of 1 MiB and more cross the object store."""

MIN_LARGE_FRAME_BYTES: Final = 1024
"""The smallest `large_frame_bytes` accepted: below, an object-store round costs more than
the copies it saves."""


class RaySettings(SettingsBase):
    """connector-ray's settings, read from the environment."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX_RAY)

    address: str | None = Field(
        default=None,
        description="The Ray cluster to join (as for ray.init(address=...)); unset: the "
        "running session, or a new local one.",
    )
    large_frame_bytes: int = Field(
        default=DEFAULT_LARGE_FRAME_BYTES,
        ge=MIN_LARGE_FRAME_BYTES,
        description="Frames (sealed items) of at least this many bytes go through Ray's "
        "object store, and only a small reference through the hub actor (signed "
        f"connections only). At least {MIN_LARGE_FRAME_BYTES}; default 1 MiB.",
    )

    @field_validator("large_frame_bytes", mode="before")
    @classmethod
    def _check_large_frame_bytes(cls, value: Any) -> Any:
        # before pydantic's own bound check, whose message names neither variable nor advice
        try:
            number = int(value)
        except (TypeError, ValueError):
            return value  # not a number: pydantic's error says so
        if number < MIN_LARGE_FRAME_BYTES:
            raise ValueError(
                f"CONNECTOR_RAY_LARGE_FRAME_BYTES (RaySettings.large_frame_bytes) is {number}: "
                f"it must be at least {MIN_LARGE_FRAME_BYTES} bytes. Frames of that size and "
                f"more go through Ray's object store; set e.g. {DEFAULT_LARGE_FRAME_BYTES} "
                "(1 MiB, the default), or unset it"
            )
        return value
