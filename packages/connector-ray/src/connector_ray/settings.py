"""`RaySettings`: connector-ray's own settings, read from `CONNECTOR_RAY_*` variables.

The settings every backend shares (serializer, signing, job id) are `connector_core.Settings`.
Connectors get these through `DI.ray_settings` (see `connector_ray.di`); the class is declared
under the `connector.settings` entry points, so `connector doctor` and the configuration page
list it.
"""

from __future__ import annotations

from typing import Final

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from connector_core.settings import ENV_PREFIX, SettingsBase

__all__ = ["ENV_PREFIX_RAY", "RaySettings"]

ENV_PREFIX_RAY: Final = f"{ENV_PREFIX}RAY_"
"""The prefix of these settings' environment variables."""


class RaySettings(SettingsBase):
    """connector-ray's settings, read from the environment."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX_RAY)

    address: str | None = Field(
        default=None,
        description="The Ray cluster to join (as for ray.init(address=...)); unset: the "
        "running session, or a new local one.",
    )
