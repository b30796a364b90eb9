from __future__ import annotations

import importlib.util
import socket

import pytest

# The command ships in the `cli` extra; an environment of connector-core alone lacks typer.
pytest.importorskip("typer", reason="typer is absent: connector-core without its cli extra")

from typer.testing import CliRunner

from connector_core import AsyncioChannel, AsyncioConnector, ChannelSetupError, ConnectorMode
from connector_core.cli import demo_run
from connector_core.cli.app import app
from connector_core.cli.demo_crew import DemoError
from connector_core.cli.demo_roles import job_value
from connector_core.cli.demo_stats import Tally, percentile

runner = CliRunner()


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def test_demo_on_asyncio_delivers_every_job_exactly_once() -> None:
    result = runner.invoke(app, ["demo", "--backend", "asyncio", "-w", "2", "-n", "300"])
    assert result.exit_code == 0, result.output
    assert "delivered 300 of 300" in result.output
    assert "exactly-once verified" in result.output
    assert "ran as asyncio tasks in this process" in result.output


@pytest.mark.crossprocess
def test_demo_on_zmq_delivers_every_job_exactly_once_across_processes() -> None:
    if importlib.util.find_spec("connector_zmq") is None:
        pytest.skip("connector-zmq is absent: this environment has connector-core alone")
    result = runner.invoke(app, ["demo", "--backend", "zmq", "-w", "2", "-n", "300"])
    assert result.exit_code == 0, result.output
    assert "delivered 300 of 300" in result.output
    assert "exactly-once verified" in result.output
    assert "in a process of its own" in result.output


def test_demo_without_a_broker_says_how_to_start_one(monkeypatch: pytest.MonkeyPatch) -> None:
    if importlib.util.find_spec("connector_rabbitmq") is None:
        pytest.skip("connector-rabbitmq is absent: this environment has connector-core alone")
    monkeypatch.setenv("RABBITMQ_URL", f"amqp://guest:guest@127.0.0.1:{_closed_port()}/")
    result = runner.invoke(app, ["demo", "--backend", "rabbitmq", "-n", "10"])
    assert result.exit_code == 1
    assert "rabbitmq-server -detached" in result.output
    assert "Traceback" not in result.output


def test_demo_with_an_unknown_backend_lists_the_installed_ones() -> None:
    result = runner.invoke(app, ["demo", "--backend", "nosuch"])
    assert result.exit_code == 2
    assert "installed backends: asyncio" in result.output


def test_tally_verdict_reports_missing_duplicate_and_wrong_answers() -> None:
    tally = Tally(expected=4)
    for job_id in (0, 1, 1):
        tally.record(job_id, worker=0, value=job_value(job_id), sent_ns=0, now_ns=1000)
    tally.record(2, worker=1, value=-1, sent_ns=0, now_ns=1000)
    verdict = tally.verdict()
    assert (verdict.delivered, verdict.missing, verdict.duplicates, verdict.wrong) == (3, [3], 1, 1)
    assert not verdict.exactly_once
    assert verdict.per_worker == {0: 3, 1: 1}


def test_percentile_is_nearest_rank() -> None:
    samples = list(range(1, 101))
    assert (percentile(samples, 50), percentile(samples, 99), percentile(samples, 100)) == (
        50,
        99,
        100,
    )


class _NoJobsForWorkers(AsyncioConnector):
    """Its pipeline refuses receivers: every worker fails as it starts."""

    async def connect_recv(self) -> AsyncioChannel:
        if self.spec.mode is ConnectorMode.PIPELINE:
            raise ChannelSetupError("no receivers today")
        return await super().connect_recv()


class _Quiet:
    def started(self, in_process: bool) -> None: ...
    def producing(self) -> None: ...
    def progress(self, tally: Tally) -> None: ...


async def test_demo_fails_with_the_reason_when_a_worker_fails(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(demo_run, "get_backend", lambda name: _NoJobsForWorkers)
    with pytest.raises(
        DemoError, match=r"worker 0 failed: \S*ChannelSetupError: no receivers today"
    ):
        await demo_run.run_demo(demo_run.DemoConfig("failing", 2, 10, timeout=30), _Quiet())
