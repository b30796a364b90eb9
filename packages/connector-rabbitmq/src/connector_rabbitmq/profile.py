"""What the cross-package tests may expect of connector-rabbitmq (`connector.profiles` entry point).

Loaded only by `connector_core.testing.backends.installed_profiles()`, which needs
`connector-core[testing]`.
"""

from __future__ import annotations

from connector_core.testing.backends import BackendProfile

__all__ = ["PROFILE"]

PROFILE = BackendProfile("rabbitmq", loss_on_kill=0, service="rabbitmq")
"""Unacknowledged messages of a killed receiver are redelivered: nothing is lost."""
