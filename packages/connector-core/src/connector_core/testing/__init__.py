"""The conformance suite every connector backend runs, and helpers for backend tests.

Besides the suite: `ProviderContract`, `SettingsContract` and `LatencyScenarioContract`
(small shared tests a backend subclasses for its DI providers, its settings class and its
benchmark's latency scenario), `connector_child`/`stalling_receiver` (a child interpreter
given a pickled connector, to kill mid-stream), `spawned_process`/`spawned_receiver` (a `spawn`
child; one that receives to the end), `scenario_result` (a scenario script run in a fresh process),
`transport_of` (white-box access to a channel's transport) and `assert_delivered_once`
(what the receivers of a connection got, checked as its mode delivers).

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
from connector_core.testing.channel_transports import transport_of
from connector_core.testing.child_processes import (
    ConnectorChild,
    connector_child,
    scenario_result,
    stalling_receiver,
)
from connector_core.testing.conformance import ConnectorConformance, standard_tests
from connector_core.testing.harness import (
    PROCESS_TIMEOUT,
    STEP_TIMEOUT,
    ConnectorFactory,
    Harness,
    assert_delivered_once,
    drain,
    unique_spec,
)
from connector_core.testing.latency_contract import LatencyScenarioContract
from connector_core.testing.programs import USER_VARIABLES, run_program, user_environment
from connector_core.testing.provider_contract import ProviderContract
from connector_core.testing.services import closed_port, in_ci, skip_or_fail
from connector_core.testing.settings_contract import SettingsContract, clear_settings_environment
from connector_core.testing.spawned import (
    SPAWN,
    SpawnedReceiver,
    spawned_process,
    spawned_receiver,
)
from connector_core.testing.suite_loops import error_in_another_loop

__all__ = [
    "PROCESS_TIMEOUT",
    "SPAWN",
    "STEP_TIMEOUT",
    "USER_VARIABLES",
    "ConformanceBase",
    "ConnectorChild",
    "ConnectorConformance",
    "ConnectorFactory",
    "Harness",
    "LatencyScenarioContract",
    "ProviderContract",
    "SettingsContract",
    "SpawnedReceiver",
    "assert_delivered_once",
    "clear_settings_environment",
    "closed_port",
    "connector_child",
    "drain",
    "error_in_another_loop",
    "in_ci",
    "run_program",
    "scenario_result",
    "skip_or_fail",
    "spawned_process",
    "spawned_receiver",
    "stalling_receiver",
    "standard_tests",
    "transport_of",
    "unique_spec",
    "user_environment",
]
