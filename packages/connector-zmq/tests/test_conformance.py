"""The shared conformance suite against ZMQConnector: both modes, in and across processes."""

from __future__ import annotations

from typing import Any

import pytest

from connector_core.testing import ConnectorConformance
from connector_zmq import ZMQConnector


class TestZMQConformance(ConnectorConformance):
    connector_class = ZMQConnector
    cross_process = True
    serialized = True
    backpressure_slack = 0  # credits bound the wire: maxsize is exact

    @pytest.fixture
    def connector_kwargs(self) -> dict[str, Any]:
        return {}
