from __future__ import annotations

from typing import Any

import pytest

from connector_core.testing import ConnectorConformance
from connector_ray import RayConnector

pytestmark = pytest.mark.ray


class TestRayConformance(ConnectorConformance):
    connector_class = RayConnector
    cross_process = True
    serialized = True
    backpressure_slack = 4  # the sender outbox: min(2 * batch, maxsize) items

    @pytest.fixture
    def connector_kwargs(self) -> dict[str, Any]:
        return {}
