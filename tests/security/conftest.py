"""Fixtures for the attack tests: the services an attacker and its victim share.

Each test plays the attacker from a separate process with no connector key and checks what
the legitimate parties observe. A backend whose service is down skips its tests on a
developer machine and fails them under CI=true.
"""

from __future__ import annotations

import pytest

from connector_core.testing import skip_or_fail
from connector_core.testing.backends import installed_profiles, unavailable_reason


@pytest.fixture
def rabbitmq_url() -> str:
    """The broker URL a user's program would use; skips when RabbitMQ cannot run here."""
    profile = installed_profiles().get("rabbitmq")
    if profile is None:
        skip_or_fail("connector-rabbitmq is not installed")
    reason = unavailable_reason(profile)
    if reason is not None:
        skip_or_fail(reason)
    from connector_rabbitmq.settings import DEFAULT_URL, RabbitMQSettings

    configured = RabbitMQSettings().url
    return configured.get_secret_value() if configured is not None else DEFAULT_URL
