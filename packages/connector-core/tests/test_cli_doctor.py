from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

# The command ships in the `cli` extra; an environment of connector-core alone lacks typer.
pytest.importorskip("typer", reason="typer is absent: connector-core without its cli extra")

from typer.testing import CliRunner, Result

from connector_core.cli import INSTALL_HINT
from connector_core.cli.app import app
from connector_core.cli.probes import ProbeOptions, blocking_problem, mask_url, run_probes

runner = CliRunner()

SECRET = "0123456789abcdef-shared-secret"

# A backend's checks as a backend package declares them (entry points `connector.probes`).
FAKE_PROBES = """
from connector_core.cli.probes import Check, Probe


def checks(options):
    return [
        Check(
            "fake service at fake://host",
            Probe(False, "nothing answers; start it with fake-server"),
            required=True,
            notes=("FAKE_URL is not set: this is the default",),
        ),
        Check(
            "fake library",
            Probe(True, f"imports (timeout {options.timeout:g}, deep {options.deep})"),
        ),
    ]


def informative(options):
    return [] if options.required_only else [Check("fake extra", Probe(False, "missing"))]


def broken(options):
    raise RuntimeError("boom")
"""

ASYNCIO = "connector_core.asyncio_connector:AsyncioConnector"
FAKE_BACKENDS = {
    "connector.backends": {"fakeprobed": ASYNCIO, "fakeinfo": ASYNCIO, "fakebroken": ASYNCIO},
    "connector.probes": {
        "fakeprobed": "fakeprobes_mod:checks",
        "fakeinfo": "fakeprobes_mod:informative",
        "fakebroken": "fakeprobes_mod:broken",
    },
}


@pytest.fixture(scope="module")
def doctor_run(module_fake_distribution: Callable[..., Path]) -> Result:
    """One `connector doctor --deep --timeout 1.5` run with fake backends and a secret set."""
    module_fake_distribution("fakeprobes", FAKE_BACKENDS, {"fakeprobes_mod": FAKE_PROBES})
    with pytest.MonkeyPatch.context() as env:
        env.setenv("CONNECTOR_SHARED_SECRET", SECRET)
        return runner.invoke(app, ["doctor", "--deep", "--timeout", "1.5"])


@pytest.fixture
def fake_backends(fake_distribution: Callable[..., Path]) -> None:
    fake_distribution("fakeprobes", FAKE_BACKENDS, {"fakeprobes_mod": FAKE_PROBES})


def test_doctor_masks_the_shared_secret(doctor_run: Result) -> None:
    assert SECRET not in doctor_run.output
    assert "**** (set, hidden)" in doctor_run.output


def test_doctor_lists_the_installed_backends_with_versions(doctor_run: Result) -> None:
    assert "asyncio" in doctor_run.output
    assert "connector-core 0.1.0" in doctor_run.output
    assert "fakeprobes 1.0" in doctor_run.output


def test_doctor_prints_every_check_the_backends_declare(doctor_run: Result) -> None:
    output = doctor_run.output
    assert "fake service at fake://host: not available: nothing answers; start it" in output
    assert "  FAKE_URL is not set: this is the default" in output
    assert "fake library: ok: imports (timeout 1.5, deep True)" in output
    assert "fake extra: not available: missing" in output


def test_doctor_reports_checks_that_fail_without_a_traceback(doctor_run: Result) -> None:
    assert "its checks (fakeprobes_mod:broken) failed: RuntimeError: boom" in doctor_run.output
    assert "Traceback" not in doctor_run.output
    assert doctor_run.exit_code == 0, doctor_run.output  # services are advice, not health


@pytest.mark.usefixtures("fake_backends")
def test_blocking_problem_is_the_first_required_check_that_failed() -> None:
    problem = blocking_problem("fakeprobed")
    assert problem == (
        "fake service at fake://host: nothing answers; start it with fake-server "
        "(FAKE_URL is not set: this is the default)"
    )
    assert blocking_problem("fakeinfo") is None  # informative checks never block
    assert blocking_problem("asyncio") is None  # no checks declared


@pytest.mark.usefixtures("fake_backends")
def test_checks_that_raise_block_the_backend() -> None:
    problem = blocking_problem("fakebroken")
    assert problem is not None
    assert "RuntimeError: boom" in problem
    [check] = run_probes("fakebroken", ProbeOptions())
    assert check.required
    assert not check.probe.ok


def test_mask_url_keeps_all_but_the_password() -> None:
    assert mask_url("amqp://u:p%40ss@host:5672/v") == "amqp://u:****@host:5672/v"
    assert mask_url("amqp://host:5672/") == "amqp://host:5672/"


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
