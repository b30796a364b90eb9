"""What the cross-package tests may expect of connector-redis (`connector.profiles` entry point).

Loaded only by `connector_core.testing.backends.installed_profiles()`, which needs
`connector-core[testing]`.
"""

from __future__ import annotations

from connector_core.testing.backends import BackendProfile

__all__ = ["PROFILE"]

PROFILE = BackendProfile(
    "redis",
    loss_on_kill=0,
    recovery_environment=(("CONNECTOR_REDIS_CLAIM_IDLE", "2"),),
    service="redis",
)
"""A sender holds at most `maxsize` items between `send()` and its receivers (outbox and
stream together); a killed receiver's unacknowledged entries are claimed by the others:
nothing is lost. They are claimed once idle for `CONNECTOR_REDIS_CLAIM_IDLE` (30 s by
default): a fault test sets 2 s, as a user who wants faster recovery would."""
