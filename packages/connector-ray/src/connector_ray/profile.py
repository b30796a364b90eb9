"""What the cross-package tests may expect of connector-ray (`connector.profiles` entry point).

Loaded only by `connector_core.testing.backends.installed_profiles()`, which needs
`connector-core[testing]`.
"""

from __future__ import annotations

from connector_core.testing.backends import BackendProfile

__all__ = ["PROFILE"]

PROFILE = BackendProfile("ray", backlog_factor=3, loss_on_kill=256)
"""The sender's outbox and the hub actor each hold up to `maxsize`; a receiver holds one
fetched batch (at most `maxsize`); a killed receiver loses at most one batch."""
