from __future__ import annotations

import socket
import subprocess
import sys

import pytest

# The command ships in the `cli` extra; an environment of connector-core alone lacks typer.
pytest.importorskip("typer", reason="typer is absent: connector-core without its cli extra")

from typer.testing import CliRunner, Result

from connector_core.cli import INSTALL_HINT
from connector_core.cli.app import app
from connector_core.cli.probes import mask_url, probe_broker

runner = CliRunner()

PASSWORD = "hunter2-not-for-logs"
SECRET = "0123456789abcdef-shared-secret"


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@pytest.fixture(scope="module")
def doctor_run() -> tuple[Result, int]:
    """One `connector doctor` run with a secret broker URL (nothing listens) and secret."""
    port = _closed_port()
    with pytest.MonkeyPatch.context() as env:
        env.setenv("RABBITMQ_URL", f"amqp://alice:{PASSWORD}@127.0.0.1:{port}/vhost")
        env.setenv("CONNECTOR_SHARED_SECRET", SECRET)
        return runner.invoke(app, ["doctor", "--broker-timeout", "1"]), port


def test_doctor_masks_the_broker_password_and_the_shared_secret(
    doctor_run: tuple[Result, int],
) -> None:
    result, port = doctor_run
    assert PASSWORD not in result.output
    assert SECRET not in result.output
    assert f"amqp://alice:****@127.0.0.1:{port}/vhost" in result.output
    assert "**** (set, hidden)" in result.output


def test_doctor_lists_the_installed_backends_with_versions(
    doctor_run: tuple[Result, int],
) -> None:
    result, _ = doctor_run
    assert "asyncio" in result.output
    assert "connector-core 0.1.0" in result.output


def test_doctor_says_how_to_start_a_missing_broker(doctor_run: tuple[Result, int]) -> None:
    result, _ = doctor_run
    assert "rabbitmq-server -detached" in result.output


def test_mask_url_keeps_all_but_the_password() -> None:
    assert mask_url("amqp://u:p%40ss@host:5672/v") == "amqp://u:****@host:5672/v"
    assert mask_url("amqp://host:5672/") == "amqp://host:5672/"


def test_probe_broker_reports_nothing_listening_within_its_timeout() -> None:
    probe = probe_broker(f"amqp://127.0.0.1:{_closed_port()}/", timeout=1)
    assert not probe.ok
    assert "nothing accepts connections" in probe.detail


def test_probe_broker_rejects_a_url_that_is_not_amqp() -> None:
    assert "must start with amqp://" in probe_broker("http://127.0.0.1/").detail


def test_connector_without_the_cli_extra_prints_how_to_install_it() -> None:
    code = (
        "import sys; sys.modules['typer'] = None\n"
        "from connector_core.cli import main\n"
        "main(['--help'])\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert proc.returncode == 1
    assert proc.stderr.strip() == INSTALL_HINT
