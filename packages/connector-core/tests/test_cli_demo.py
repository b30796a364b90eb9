from __future__ import annotations

import importlib.util
from collections.abc import Callable
from pathlib import Path

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

ASYNCIO = "connector_core.asyncio_connector:AsyncioConnector"
FAKE_PROBE = """
from connector_core.cli.probes import Check, Probe

def checks(options):
    assert options.required_only
    return [Check("fake broker at fake://h", Probe(False, "start fake-server"), required=True)]
"""


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


def test_demo_stops_with_the_advice_of_a_required_check_that_failed(
    fake_distribution: Callable[..., Path],
) -> None:
    fake_distribution(
        "fakeservice",
        {
            "connector.backends": {"fakeservice": ASYNCIO},
            "connector.probes": {"fakeservice": "fakeservice_mod:checks"},
        },
        {"fakeservice_mod": FAKE_PROBE},
    )
    result = runner.invoke(app, ["demo", "--backend", "fakeservice", "-n", "10"])
    assert result.exit_code == 1
    assert "the fakeservice backend cannot connect: fake broker at fake://h: start" in result.output
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
