from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import psutil
import pytest

# The command ships in the `cli` extra; an environment of connector-core alone lacks typer.
pytest.importorskip("typer", reason="typer is absent: connector-core without its cli extra")

from typer.testing import CliRunner, Result

from connector_core.cli.app import app
from connector_core.cli.benchmarks import ROW_KEYS, _run_child, available_benchmarks, plan

runner = CliRunner()


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
    assert {"pipeline", "pubsub-1", "pubsub-4"} <= {row["scenario"] for row in asyncio_rows}
    for row in asyncio_rows:
        assert set(ROW_KEYS) <= set(row)
        assert row["msgs_per_s"] > 0
        assert row["ratio"] == pytest.approx(row["msgs_per_s"] / row["baseline_msgs_per_s"], 0.01)


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
