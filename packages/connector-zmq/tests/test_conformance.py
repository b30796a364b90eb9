"""The shared conformance suite against ZMQConnector: both modes, in and across processes.

In one process a sender reaches its receivers over inproc (`connector_zmq.inproc`);
`TestZMQConformanceOverTCP` runs the same suite with every sender on TCP, the path between
processes.
"""

from __future__ import annotations

from typing import Any

import pytest

from connector_core.testing import ConnectorConformance
from connector_zmq import ZMQConnector
from connector_zmq import protocol as p
from connector_zmq.settings import ZMQSettings


class TestZMQConformance(ConnectorConformance):
    connector_class = ZMQConnector
    cross_process = True
    serialized = True
    backpressure_slack = 0  # credits bound the wire: maxsize is exact
    largest_item = p.MAX_ITEM_BYTES
    size_limit_name = "MAX_ITEM_BYTES"

    @pytest.fixture
    def connector_kwargs(self) -> dict[str, Any]:
        return {}


class TestZMQConformanceOverTCP(TestZMQConformance):
    @pytest.fixture
    def connector_kwargs(self) -> dict[str, Any]:
        return {"zmq_settings": ZMQSettings(in_process=False)}
