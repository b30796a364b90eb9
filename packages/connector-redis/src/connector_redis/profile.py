"""What the cross-package tests may expect of connector-redis (`connector.profiles` entry point).

Loaded only by `connector_core.testing.backends.installed_profiles()`, which needs
`connector-core[testing]`.
"""

from __future__ import annotations

from connector_core.testing.backends import BackendProfile

__all__ = ["PROFILE"]

PROFILE = BackendProfile("redis", loss_on_kill=0, service="redis")
"""A sender holds at most `maxsize` items between `send()` and its receivers (outbox and
stream together); a killed receiver's unacknowledged entries are claimed by the others:
nothing is lost."""
