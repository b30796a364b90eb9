"""How the `connector` command chooses among backends from their declared `BackendTraits`.

`connector bench` orders its table by rank; `connector demo` runs, when no backend is asked
for, the best-ranked installed backend that crosses processes and needs no service. The
backends here are fake distributions whose connector class is core's asyncio one, with ranks
below every real backend's, so the tests hold whichever real backends are installed.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

# The command ships in the `cli` extra; an environment of connector-core alone lacks typer.
pytest.importorskip("typer", reason="typer is absent: connector-core without its cli extra")

from typer.testing import CliRunner

from connector_core.cli import demo
from connector_core.cli.app import app
from connector_core.cli.benchmarks import plan
from connector_core.registry import TRAITS_GROUP, BackendTraits, declared_traits

runner = CliRunner()

ASYNCIO = "connector_core.asyncio_connector:AsyncioConnector"
TRAITS_MODULE = """
from connector_core.registry import BackendTraits

FIRST = BackendTraits(rank=-2)
SECOND = BackendTraits(rank=-1)
BROKERED = BackendTraits(rank=-3, service="Fake broker")
"""

Install = Callable[..., None]


@pytest.fixture
def install(fake_distribution: Callable[..., Path]) -> Install:
    """`install(traits, backends=None, **groups)` installs fake backends for this test.

    `traits` maps a backend name to an attribute of `TRAITS_MODULE`; `backends` is the
    `connector.backends` group (default: each name -> the asyncio class); `groups` adds
    groups, `connector_benchmarks=` for `connector.benchmarks`.
    """

    def _install(
        traits: dict[str, str], backends: dict[str, str] | None = None, **groups: dict[str, str]
    ) -> None:
        entry_points = {
            "connector.backends": dict.fromkeys(traits, ASYNCIO) if backends is None else backends,
            TRAITS_GROUP: {name: f"fake_traits:{attr}" for name, attr in traits.items()},
            **{group.replace("_", "."): targets for group, targets in groups.items()},
        }
        fake_distribution("fakebackends", entry_points, {"fake_traits": TRAITS_MODULE})

    return _install


def test_demo_candidates_need_no_service_and_cross_processes_first() -> None:
    traits = {
        "inproc": BackendTraits(rank=0, cross_process=False),
        "broker": BackendTraits(rank=1, service="X broker"),
        "slow": BackendTraits(rank=30),
        "fast": BackendTraits(rank=10),
        "local": BackendTraits(rank=-1, cross_process=False),
    }
    assert demo.default_candidates(traits) == ["fast", "slow", "local", "inproc"]


def test_the_demo_runs_the_best_ranked_backend_that_needs_no_service(install: Install) -> None:
    install({"fakesecond": "SECOND", "fakebrokered": "BROKERED"})
    assert demo._choose_backend(None) == "fakesecond"


def test_the_demo_skips_a_backend_that_does_not_load_and_runs_the_next(
    install: Install, capsys: pytest.CaptureFixture[str]
) -> None:
    install(
        {"fakefirst": "FIRST", "fakesecond": "SECOND"},
        backends={"fakefirst": "no_such_module:Connector", "fakesecond": ASYNCIO},
    )
    assert demo._choose_backend(None) == "fakesecond"
    assert "the fakefirst backend cannot be used" in capsys.readouterr().out


def test_the_demo_passes_over_traits_of_a_backend_that_is_not_installed(
    install: Install,
) -> None:
    install({"fakeghost": "FIRST", "fakesecond": "SECOND"}, backends={"fakesecond": ASYNCIO})
    assert demo._choose_backend(None) == "fakesecond"


def test_the_backend_asked_for_is_run_whatever_its_traits(install: Install) -> None:
    install({"fakesecond": "SECOND", "fakebrokered": "BROKERED"})
    assert demo._choose_backend("fakebrokered") == "fakebrokered"


def test_without_a_cross_process_backend_the_demo_runs_in_process_and_says_so(
    install: Install, monkeypatch: pytest.MonkeyPatch
) -> None:
    install({"fakebrokered": "BROKERED"})
    kept = {name: declared_traits()[name] for name in ("asyncio", "fakebrokered")}
    monkeypatch.setattr(demo, "declared_traits", lambda: kept)
    result = runner.invoke(app, ["demo", "-w", "2", "-n", "100"])
    assert result.exit_code == 0, result.output
    assert "running on asyncio, in one process" in result.output
    assert "--backend with one of fakebrokered (needs a Fake broker)" in result.output
    assert "exactly-once verified" in result.output


def test_with_every_backend_needing_a_service_the_demo_says_which_to_pass(
    install: Install, monkeypatch: pytest.MonkeyPatch
) -> None:
    install({"fakebrokered": "BROKERED"})
    kept = {"fakebrokered": declared_traits()["fakebrokered"]}
    monkeypatch.setattr(demo, "declared_traits", lambda: kept)
    result = runner.invoke(app, ["demo", "-n", "10"])
    assert result.exit_code == 2
    assert "pass --backend with one of fakebrokered (needs a Fake broker)" in result.output


def test_bench_orders_backends_by_declared_rank_and_the_undeclared_last(install: Install) -> None:
    install(
        {"fakesecond": "SECOND", "fakefirst": "FIRST"},
        connector_benchmarks={"fakeunranked": "fake_traits:run"},
    )
    names = plan(None)
    assert names[:3] == ["fakefirst", "fakesecond", "asyncio"]
    assert names[-1] == "fakeunranked"
