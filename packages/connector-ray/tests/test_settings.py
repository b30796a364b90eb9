"""connector-ray's own settings (`RaySettings`, `CONNECTOR_RAY_*`); no Ray cluster needed."""

from __future__ import annotations

import subprocess
import sys

import pytest
from dependency_injector import providers

from connector_core.di import DI
from connector_core.spec import ConnectorMode
from connector_core.testing import SettingsContract, unique_spec
from connector_ray import RayConnector
from connector_ray.settings import RaySettings


def test_the_cluster_address_comes_from_connector_ray_address(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("CONNECTOR_RAY_ADDRESS", raising=False)
    assert RaySettings(_env_file=None).address is None
    monkeypatch.setenv("CONNECTOR_RAY_ADDRESS", "10.0.0.1:6379")
    assert RaySettings().address == "10.0.0.1:6379"


def test_the_connector_reads_di_ray_settings_and_an_explicit_address_wins() -> None:
    spec = unique_spec(ConnectorMode.PIPELINE)
    with DI.ray_settings.override(providers.Object(RaySettings(address="10.0.0.2:6379"))):
        assert RayConnector(spec)._address == "10.0.0.2:6379"
        assert RayConnector(spec, address="10.0.0.3:6379")._address == "10.0.0.3:6379"


def test_di_ray_settings_works_before_connector_ray_is_imported() -> None:
    code = (
        "import sys\n"
        "from connector_core import DI\n"
        "assert 'connector_ray' not in sys.modules\n"
        "settings = DI.ray_settings()\n"
        "from connector_ray.settings import RaySettings\n"
        "assert isinstance(settings, RaySettings)\n"
        "print('ok')\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "ok"


class TestRaySettingsContract(SettingsContract):
    settings_class = RaySettings
    backend = "ray"
