"""The conformance suite, run on the in-process asyncio backend."""

from __future__ import annotations

from connector_core import AsyncioConnector
from connector_core.testing import ConnectorConformance


class TestAsyncioConformance(ConnectorConformance):
    connector_class = AsyncioConnector
