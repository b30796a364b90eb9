"""connector-ray's providers in `connector_core.DI`.

- `DI.ray_settings`: the `RaySettings` read from the environment (`CONNECTOR_RAY_*`).

Registered when this module is imported, and declared under the `connector.providers` entry
points, so that `DI.ray_settings` works before `connector_ray` is imported.
"""

from __future__ import annotations

from dependency_injector import providers

from connector_core.di import register_provider
from connector_ray.settings import RaySettings

__all__ = ["ray_settings"]

ray_settings = register_provider("ray_settings", providers.Singleton(RaySettings))
"""connector-ray's settings (`DI.ray_settings`)."""
