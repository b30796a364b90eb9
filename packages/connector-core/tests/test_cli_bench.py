from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import psutil
import pytest

# The command ships in the `cli` extra; an environment of connector-core alone lacks typer.
pytest.importorskip("typer", reason="typer is absent: connector-core without its cli extra")

from typer.testing import CliRunner, Result

from connector_core.benchmarking import REQUIRED_KEYS, ROW_KEYS, SCENARIOS_ENV
from connector_core.cli.app import app
from connector_core.cli.benchmarks import _run_child, available_benchmarks, plan, run_benchmark

runner = CliRunner()

Register = Callable[[str, str], None]


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Result, Path, Path]:
    folder = tmp_path_factory.mktemp("bench")
    out, png = folder / "bench.json", folder / "bench.png"
    args = ["bench", "--backends", "asyncio,nosuch", "--quick", "--json", str(out)]
    result = runner.invoke(app, [*args, "--plot", str(png)])
    return result, out, png


def test_bench_quick_json_has_rows_with_every_key(quick_run: tuple[Result, Path, Path]) -> None:
    result, out, _ = quick_run
    assert result.exit_code == 0, result.output
    payload = json.loads(out.read_text())
    asyncio_rows = [row for row in payload["rows"] if row["backend"] == "asyncio"]
    scenarios = {row["scenario"] for row in asyncio_rows}
    assert {"pipeline", "pubsub-1", "pubsub-4", "latency 1x1"} <= scenarios
    for row in asyncio_rows:
        assert set(ROW_KEYS) <= set(row)
        assert row["msgs_per_s"] > 0
        if row["ratio_of"] == "p50":
            expected = row["baseline_p50_us"] / row["p50_us"]
        else:
            expected = row["msgs_per_s"] / row["baseline_msgs_per_s"]
        assert row["ratio"] == pytest.approx(expected, 0.01)


def test_bench_gives_a_backend_that_cannot_run_a_row_saying_why(
    quick_run: tuple[Result, Path, Path],
) -> None:
    result, out, _ = quick_run
    rows = json.loads(out.read_text())["rows"]
    statuses = json.loads(out.read_text())["backends"]
    assert (statuses["asyncio"]["status"], statuses["nosuch"]["status"]) == ("ok", "unavailable")
    assert [row["note"] for row in rows if row["backend"] == "nosuch"] == [
        "not installed: pip install connector-nosuch"
    ]
    assert "not installed: pip install connector-nosuch" in result.output


def test_bench_table_shows_each_ratio(quick_run: tuple[Result, Path, Path]) -> None:
    result, _, _ = quick_run
    assert "asyncio.Queue(maxsize=1000)" in result.output
    assert "ratio" in result.output


def test_bench_plot_writes_a_png(quick_run: tuple[Result, Path, Path]) -> None:
    _, _, png = quick_run
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_bench_plans_every_installed_backend_by_default() -> None:
    names = plan(None)
    assert names[0] == "asyncio"
    assert set(available_benchmarks()) <= set(names)


def test_a_benchmark_past_its_timeout_is_killed_with_the_processes_it_started(
    tmp_path: Path,
) -> None:
    pid_file = tmp_path / "grandchild.pid"
    code = (
        "import subprocess, sys\n"
        "hang = [sys.executable, '-c', 'import threading; threading.Event().wait()']\n"
        f"open({str(pid_file)!r}, 'w').write(str(subprocess.Popen(hang).pid))\n"
        "import threading; threading.Event().wait()\n"
    )
    with pytest.raises(subprocess.TimeoutExpired):
        _run_child([sys.executable, "-c", code], timeout=8)
    grandchild = psutil.Process(int(pid_file.read_text()))
    gone, _ = psutil.wait_procs([grandchild], timeout=10)
    assert gone or grandchild.status() == psutil.STATUS_ZOMBIE


# -- the runner, on benchmarks registered by a distribution made for the test ------------------


@pytest.fixture
def register(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Register:
    """Returns `register(name, body)`: installs a module whose `run` is benchmark `name`."""
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))  # the benchmark's child process sees it too
    names: list[str] = []

    def register(name: str, body: str) -> None:
        names.append(name)
        (tmp_path / f"fake_bench_{name}.py").write_text(textwrap.dedent(body))
        info = tmp_path / "fake_benchmarks-0.dist-info"
        info.mkdir(exist_ok=True)
        (info / "METADATA").write_text("Metadata-Version: 2.1\nName: fake-benchmarks\nVersion: 0\n")
        lines = [f"{n} = fake_bench_{n}:run" for n in names]
        (info / "entry_points.txt").write_text("[connector.benchmarks]\n" + "\n".join(lines) + "\n")

    return register


def test_runner_reports_a_benchmark_whose_module_is_not_installed(register: Register) -> None:
    register("nothing", "import connector_nothing_here\n")
    outcome = run_benchmark("nothing", quick=True, timeout=60)
    assert outcome.status == "unavailable"
    assert outcome.rows[0]["note"] == "not installed: connector_nothing_here (cannot import it)"


def test_runner_reports_a_benchmark_that_raises_as_failed(register: Register) -> None:
    register("broken", "def run(quick):\n    raise RuntimeError('broker down')\n")
    outcome = run_benchmark("broken", quick=True, timeout=60)
    assert (outcome.status, outcome.rows[0]["note"]) == ("failed", "RuntimeError: broker down")


def test_runner_refuses_rows_without_the_schema_keys(register: Register) -> None:
    register("partial", "def run(quick):\n    return [{'backend': 'x'}]\n")
    outcome = run_benchmark("partial", quick=True, timeout=60)
    assert outcome.status == "failed"
    assert "lacks" in str(outcome.rows[0]["note"])


def test_runner_passes_quick_and_returns_the_rows(register: Register) -> None:
    keys = ", ".join(f"{key!r}: None" for key in ROW_KEYS)
    register("echo", f"def run(quick):\n    return [{{{keys}, 'scenario': str(quick)}}]\n")
    outcome = run_benchmark("echo", quick=True, timeout=60)
    assert outcome.status == "ok"
    assert outcome.rows[0]["scenario"] == "True"


def test_runner_accepts_rows_with_the_required_keys_and_fills_in_the_others(
    register: Register,
) -> None:
    keys = ", ".join(f"{key!r}: 1" for key in REQUIRED_KEYS)
    register("older", f"def run(quick):\n    return [{{{keys}}}]\n")
    outcome = run_benchmark("older", quick=True, timeout=60)
    assert outcome.status == "ok"
    assert tuple(outcome.rows[0]) == ROW_KEYS
    assert (outcome.rows[0]["ratio"], outcome.rows[0]["target"]) == (1, None)


def test_runner_runs_only_the_scenarios_asked_for(register: Register) -> None:
    keys = ", ".join(f"{key!r}: None" for key in ROW_KEYS)
    body = f"""
        import os
        def run(quick):
            return [{{{keys}, 'scenario': os.environ.get({SCENARIOS_ENV!r})}}]
    """
    register("picky", body)
    outcome = run_benchmark("picky", quick=True, timeout=60, scenarios=["latency", "pubsub"])
    assert (outcome.status, outcome.rows[0]["scenario"]) == ("ok", "latency,pubsub")


def test_runner_says_when_no_scenario_has_the_name_asked_for(register: Register) -> None:
    register("none", "def run(quick):\n    return []\n")
    outcome = run_benchmark("none", quick=True, timeout=60, scenarios=["latency"])
    assert (outcome.status, outcome.rows[0]["note"]) == ("unavailable", "no scenario named latency")
