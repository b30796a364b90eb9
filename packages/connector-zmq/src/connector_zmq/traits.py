"""What connector-zmq declares about itself to the `connector` tools (`connector.traits`).

`connector bench` orders its table by the rank, and `connector demo` runs, when no backend is
asked for, the installed backend of lowest rank that crosses processes and needs no service.
"""

from __future__ import annotations

from connector_core.registry import BackendTraits

__all__ = ["TRAITS"]

TRAITS = BackendTraits(rank=10)
"""Brokerless: it crosses processes and needs no service, so it is the demo's first choice."""
