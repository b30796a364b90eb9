"""What the cross-package tests may expect of connector-zmq (`connector.profiles` entry point).

Loaded only by `connector_core.testing.backends.installed_profiles()`, which needs
`connector-core[testing]`.
"""

from __future__ import annotations

from connector_core.testing.backends import BackendProfile

__all__ = ["PROFILE"]

PROFILE = BackendProfile("zmq", loss_on_kill=64)
"""A killed receiver loses what an open sender may have unacknowledged there (a quarter of
`maxsize` in a pipeline, `protocol.open_window()`) and the item in hand."""
