"""The conformance suite every connector backend runs, and helpers for backend tests.

Usage, in a backend's `tests/test_conformance.py`::

    from connector_core.testing import ConnectorConformance
    from my_backend import MyConnector

    class TestMyConformance(ConnectorConformance):
        connector_class = MyConnector
        cross_process = True
        serialized = True

Needs pytest and pytest-asyncio: `pip install connector-core[testing]`.
"""

from __future__ import annotations

from connector_core.testing.base import ConformanceBase
from connector_core.testing.conformance import ConnectorConformance, standard_tests
from connector_core.testing.harness import (
    PROCESS_TIMEOUT,
    STEP_TIMEOUT,
    ConnectorFactory,
    Harness,
    drain,
    unique_spec,
)
from connector_core.testing.programs import USER_VARIABLES, run_program, user_environment
from connector_core.testing.services import in_ci, skip_or_fail
from connector_core.testing.suite_loops import error_in_another_loop

__all__ = [
    "PROCESS_TIMEOUT",
    "STEP_TIMEOUT",
    "USER_VARIABLES",
    "ConformanceBase",
    "ConnectorConformance",
    "ConnectorFactory",
    "Harness",
    "drain",
    "error_in_another_loop",
    "in_ci",
    "run_program",
    "skip_or_fail",
    "standard_tests",
    "unique_spec",
    "user_environment",
]
